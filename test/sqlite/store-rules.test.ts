import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DimensionMismatchError,
  GenerationConflictError,
  LifecycleError,
  StaleError,
} from '../../src/core/index.js';
import { openDatabase, SqliteStore } from '../../src/sqlite/index.js';
import { caught } from '../support/thrown.js';
import { DOCS_DDL, SCHEMA, tempDir } from './helpers.js';

// What the shared SQL layer (src/sql) decides, seen through the SQLite
// store: the messages that say what to do next, and the rules a mutation
// run showed untested (docs/invariants.md).

const cleanups: (() => unknown)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

const G8 = { model: 'm', dimensions: 8 };

function table(n: number): { db: Database.Database; store: SqliteStore } {
  const { dir, cleanup } = tempDir();
  const db = openDatabase(join(dir, 'rules.db'));
  cleanups.push(cleanup, () => db.close());
  db.exec(DOCS_DDL);
  const ins = db.prepare('INSERT INTO docs (id, content) VALUES (?, ?)');
  for (let i = 1; i <= n; i++) ins.run(i, `document ${i}`);
  return { db, store: SqliteStore.open(db, SCHEMA) };
}

const vec = (d: number) => new Float32Array(d).fill(0.5);

describe('generation rules', () => {
  it('a known key with another dimension says which dimensions differ', () => {
    const { store } = table(1);
    store.ensureGeneration('g', G8, 'active');
    const e = caught(() => store.ensureGeneration('g', { model: 'm', dimensions: 16 }));
    expect(e).toBeInstanceOf(GenerationConflictError);
    expect(e.message).toContain('8 dimensions, not 16');
  });

  it('a known key with another fingerprint names both fingerprints', () => {
    const { store } = table(1);
    const info = store.ensureGeneration('g', G8, 'active');
    const e = caught(() => store.ensureGeneration('g', { model: 'other', dimensions: 8 }));
    expect(e).toBeInstanceOf(GenerationConflictError);
    expect(e.message).toContain(`fingerprint ${info.fingerprint}`);
  });

  it.each([
    ['an empty key', ''],
    ['a number', 7],
  ])('refuses %s as a generation key', (_name, key) => {
    const { store } = table(1);
    const e = caught(() => store.ensureGeneration(key as string, G8));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toBe('generation key must be a non-empty string');
  });

  it('a second building generation is refused, naming the one building and what to do', () => {
    const { store } = table(1);
    store.ensureGeneration('a', G8, 'active');
    store.ensureGeneration('b', G8, 'building');
    const e = caught(() => store.ensureGeneration('c', G8, 'building'));
    expect(e).toBeInstanceOf(LifecycleError);
    expect(e.message).toMatch(/^generation "c" cannot be building: "b" already is/);
    expect(e.message).toContain('activate or retire it first');
  });

  it('a second active generation is refused, saying to build the new one first', () => {
    const { store } = table(1);
    store.ensureGeneration('a', G8, 'active');
    const e = caught(() => store.ensureGeneration('c', G8, 'active'));
    expect(e).toBeInstanceOf(LifecycleError);
    expect(e.message).toMatch(/^generation "c" cannot be active: "a" already is/);
    expect(e.message).toContain('create the new one as building, fill it, then activate it');
  });

  it('reclaiming a live generation says to retire it first; a reclaimed one says it was reclaimed', () => {
    const { store } = table(2);
    store.ensureGeneration('a', G8, 'active');
    const live = caught(() => store.reclaim('a'));
    expect(live).toBeInstanceOf(LifecycleError);
    expect(live.message).toBe('generation "a" is active; retire it before reclaiming its storage');
    store.retire('a', { force: true });
    store.reclaim('a');
    expect(store.coverage('a')).toEqual({ embedded: 0, skipped: 0, backlog: 2 });
    const gone = caught(() => store.reopen('a'));
    expect(gone).toBeInstanceOf(LifecycleError);
    expect(gone.message).toContain('was reclaimed');
  });

  it('a generation ensured again after reclaim scans from the first document', () => {
    const { store } = table(5);
    store.ensureGeneration('a', G8, 'active');
    expect(store.pendingForGeneration('a', 2).map((p) => p.doc)).toEqual([1, 2]);
    store.retire('a', { force: true });
    store.reclaim('a');
    store.ensureGeneration('a', G8, 'active');
    expect(store.pendingForGeneration('a', 2).map((p) => p.doc)).toEqual([1, 2]);
  });
});

describe('save rules', () => {
  it('a save without the revision, when the store tracks revisions, is a TypeError naming the column', () => {
    const { store } = table(1);
    store.ensureGeneration('g', G8, 'active');
    const e = caught(() =>
      store.saveVectors('g', 1, undefined, [{ chunkIndex: 0, start: 0, end: 3, vector: vec(8) }]),
    );
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toContain('store tracks revisions (revision)');
    expect(store.coverage('g').backlog).toBe(1);
  });

  it('a stale save says which revision it expected', () => {
    const { db, store } = table(1);
    store.ensureGeneration('g', G8, 'active');
    db.prepare('UPDATE docs SET revision = 2').run();
    const e = caught(() =>
      store.saveVectors('g', 1, 1, [{ chunkIndex: 0, start: 0, end: 3, vector: vec(8) }]),
    );
    expect(e).toBeInstanceOf(StaleError);
    expect(e.message).toContain("the row's revision is no longer 1");
  });

  it('a vector of the wrong length names the document and chunk', () => {
    const { store } = table(1);
    store.ensureGeneration('g', G8, 'active');
    const e = caught(() =>
      store.saveVectors('g', 1, 1, [
        { chunkIndex: 0, start: 0, end: 3, vector: vec(8) },
        { chunkIndex: 1, start: 3, end: 6, vector: vec(4) },
      ]),
    );
    expect(e).toBeInstanceOf(DimensionMismatchError);
    expect(e.message).toContain('document 1 chunk 1');
  });

  it('skipped chunks count only with vectors; a stamp-only save records none', () => {
    const { store } = table(2);
    store.ensureGeneration('g', G8, 'active');
    store.saveVectors('g', 1, 1, [], { skipReason: 'rejected', skippedChunks: 3 });
    expect(store.stats('g').skippedChunks).toBe(0);
    store.saveVectors('g', 2, 1, [{ chunkIndex: 0, start: 0, end: 3, vector: vec(8) }], {
      skippedChunks: 2,
    });
    expect(store.stats('g').skippedChunks).toBe(2);
    expect(store.skipReasons('g')).toEqual([{ reason: 'rejected', documents: 1 }]);
  });
});
