import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { fill } from '../../src/core/index.js';
import { openDatabase, type SqliteSchema, SqliteStore } from '../../src/sqlite/index.js';
import { embed, hashEncoder } from '../support/hash-encoder.js';
import { DOCS_DDL, SCHEMA, tempDir } from './helpers.js';

// What the mutation run of src/sqlite/sqlite-save.ts and
// src/sqlite/sqlite-lifecycle.ts showed untested (docs/invariants.md):
// how much one save prunes, storage freed by an invalidation, a store
// without full text forgetting a document, reclaimed generations' stats
// and skip reasons, and when a binary generation is centered.

const cleanups: (() => unknown)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

const DIMS = 16;
const GEN = { model: 'hash-bow', dimensions: DIMS };
const GEN_B = { model: 'hash-bow', dimensions: DIMS, params: { seed: 'b' } };

function file(): string {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  return join(dir, 'store.db');
}

/** A documents table of `n` rows in a fresh SQLite file, and a store over it. */
function table(
  n: number,
  schema: Partial<SqliteSchema> = {},
  path = file(),
): { db: Database.Database; store: SqliteStore } {
  const db = openDatabase(path);
  cleanups.push(() => db.close());
  db.exec(DOCS_DDL);
  const ins = db.prepare('INSERT INTO docs (id, content) VALUES (?, ?)');
  for (let i = 1; i <= n; i++) ins.run(i, `document number ${i}`);
  return { db, store: SqliteStore.open(db, { ...SCHEMA, ...schema }) };
}

const item = (doc: number, revision = 1) => ({
  doc,
  revision,
  vectors: [{ chunkIndex: 0, start: 0, end: 5, vector: embed(`document number ${doc}`, DIMS) }],
});

describe('saves (sqlite-save.ts)', () => {
  it('one save looks at 256 + 16 stamps for orphans: 272 rows deleted outside vecfill are freed by a single save', () => {
    const { db, store } = table(300);
    store.ensureGeneration('g', GEN, 'active');
    store.saveMany(
      'g',
      Array.from({ length: 300 }, (_, i) => item(i + 1)),
    );
    db.prepare('DELETE FROM docs WHERE id <= 272').run();
    expect(store.stats('g').chunks).toBe(300);
    store.saveVectors('g', 300, 1, item(300).vectors);
    // Every orphan was in that save's window: nothing is left for a sweep.
    expect(store.stats('g').chunks).toBe(28);
    expect(store.prune()).toBe(0);
  });

  it('invalidating a document frees its vectors in the other generations when it is saved again, not just their stamps', async () => {
    const { db, store } = table(2);
    store.ensureGeneration('a', GEN, 'active');
    store.ensureGeneration('b', GEN_B, 'building');
    await fill(store, 'a', hashEncoder(DIMS).encode);
    await fill(store, 'b', hashEncoder(DIMS, 'b').encode);
    expect(store.stats('a').chunks).toBe(2);
    db.prepare('UPDATE docs SET embed_gen = NULL WHERE id = 1').run();
    await fill(store, 'b', hashEncoder(DIMS, 'b').encode);
    // Generation a no longer covers document 1, and holds no vector for it.
    expect(store.coverage('a')).toEqual({ embedded: 1, skipped: 0, backlog: 1 });
    expect(store.stats('a').chunks).toBe(1);
    expect(
      store.queryGeneration('a', embed('document number 1', DIMS), 5).map((h) => h.doc),
    ).toEqual([2]);
  });

  it('a store without full text forgets a deleted document, and prunes one', async () => {
    const { db, store } = table(3, { fullText: false });
    store.ensureGeneration('g', GEN, 'active');
    await fill(store, 'g', hashEncoder(DIMS).encode);
    db.prepare('DELETE FROM docs WHERE id IN (1, 2)').run();
    store.deleteVectors(1);
    expect(store.prune()).toBe(1);
    expect(store.stats('g').chunks).toBe(1);
  });
});

describe('generation lifecycle (sqlite-lifecycle.ts)', () => {
  it('a reclaimed generation reports no storage, no scan and no skip reasons', async () => {
    const { store } = table(3);
    store.ensureGeneration('a', GEN, 'active');
    await fill(store, 'a', hashEncoder(DIMS).encode);
    store.retire('a', { force: true });
    store.reclaim('a');
    expect(store.stats('a')).toEqual({
      chunks: 0,
      skippedChunks: 0,
      vectorBytes: 0,
      indexBytes: 0,
      scan: { scan: 'sqlite-vec', residentBytes: 0 },
    });
    expect(store.skipReasons('a')).toEqual([]);
  });

  it('a binary generation is not centered while documents are leased elsewhere; the empty page after the last save centers it', async () => {
    const path = file();
    const schema = { leaseMs: 60_000 };
    const { store: a } = table(20, schema, path);
    const other = openDatabase(path);
    cleanups.push(() => other.close());
    const b = SqliteStore.open(other, { ...SCHEMA, ...schema });
    a.ensureGeneration('q', GEN, 'active', { quantization: 'binary' });
    const leased = a.pendingForGeneration('q', 100);
    expect(leased).toHaveLength(20);
    a.saveMany(
      'q',
      leased.slice(0, 10).map((p) => item(p.doc as number)),
    );
    // b finds nothing to do, but half the generation is not embedded yet.
    expect(b.pendingForGeneration('q', 100)).toEqual([]);
    expect(b.generations()[0]!.centered).toBe(false);
    a.saveMany(
      'q',
      leased.slice(10).map((p) => item(p.doc as number)),
    );
    expect(b.pendingForGeneration('q', 100)).toEqual([]);
    expect(b.generations()[0]!.centered).toBe(true);
  });

  it('once centered, a scan that finds nothing writes nothing (the codes are centered once)', async () => {
    const { db, store } = table(50);
    store.ensureGeneration('q', GEN, 'active', { quantization: 'binary' });
    await fill(store, 'q', hashEncoder(DIMS).encode);
    expect(store.generations()[0]!.centered).toBe(true);
    const changes = () => db.prepare('SELECT total_changes()').pluck().get() as number;
    const before = changes();
    expect(store.pendingForGeneration('q', 10)).toEqual([]);
    expect(changes()).toBe(before);
  });
});
