import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import {
  InvalidIdentifierError,
  LifecycleError,
  TooManySkippedError,
  UncoveredError,
} from '../../src/core/index.js';
import { openDatabase, SqliteStore } from '../../src/sqlite/index.js';
import { caught } from '../support/thrown.js';
import { DOCS_DDL, SCHEMA, tempDir } from './helpers.js';

// The rules every store's activate, retire and reopen share (src/core/activation.ts,
// src/core/lifecycle.ts) and the identifier check (src/core/identifier.ts), seen
// through a real SQLite file: where the limits are, and what each refusal says
// to do next. A mutation run showed these untested (docs/invariants.md).

const cleanups: (() => unknown)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

const G8 = { model: 'm', dimensions: 8 };
const vec = () => new Float32Array(8).fill(0.5);

function database(): Database.Database {
  const { dir, cleanup } = tempDir();
  const db = openDatabase(join(dir, 'activate.db'));
  cleanups.push(cleanup, () => db.close());
  db.exec(DOCS_DDL);
  return db;
}

/**
 * A table of `embedded + skipped` documents and a building generation `g`
 * covering all of them: `embedded` saved with a vector, then one skip stamp
 * per entry of `reasons` (a reason and how many documents it skipped).
 */
function generation(embedded: number, reasons: [string, number][] = []): SqliteStore {
  const db = database();
  const skipped = reasons.reduce((n, [, d]) => n + d, 0);
  const ins = db.prepare('INSERT INTO docs (id, content) VALUES (?, ?)');
  for (let i = 1; i <= embedded + skipped; i++) ins.run(i, `document ${i}`);
  const store = SqliteStore.open(db, SCHEMA);
  store.ensureGeneration('old', G8, 'active');
  store.ensureGeneration('g', G8, 'building');
  let id = 1;
  for (; id <= embedded; id++) {
    store.saveVectors('g', id, 1, [{ chunkIndex: 0, start: 0, end: 8, vector: vec() }]);
  }
  for (const [reason, documents] of reasons) {
    for (let j = 0; j < documents; j++, id++)
      store.saveVectors('g', id, 1, [], { skipReason: reason });
  }
  return store;
}

const state = (store: SqliteStore, key: string) =>
  store.generations().find((g) => g.key === key)?.state;

describe('activate: the skipped share', () => {
  it('accepts exactly 1 % skipped by default and refuses just above it', () => {
    const atLimit = generation(99, [['HTTP 422: too long', 1]]);
    atLimit.activate('g');
    expect(state(atLimit, 'g')).toBe('active');

    const above = generation(98, [['HTTP 422: too long', 2]]);
    const e = caught(() => above.activate('g'));
    expect(e).toBeInstanceOf(TooManySkippedError);
    expect(e).toMatchObject({ embedded: 98, skipped: 2 });
    expect(state(above, 'g')).toBe('building');
  });

  it('counts the documents of every reason, and the error lists the reasons', () => {
    const store = generation(8, [
      ['HTTP 400: refused', 1],
      ['HTTP 422: too long', 1],
    ]);
    const e = caught(() => store.activate('g', { maxSkippedShare: 0.15 }));
    expect(e).toBeInstanceOf(TooManySkippedError);
    const err = e as TooManySkippedError;
    expect(err).toMatchObject({ generation: 'g', embedded: 8, skipped: 2 });
    expect(err.reasons).toEqual([
      { reason: 'HTTP 400: refused', documents: 1 },
      { reason: 'HTTP 422: too long', documents: 1 },
    ]);
    expect(err.message).toContain('2 of 10 documents (20%)');
    expect(err.message).toContain('1 × HTTP 400: refused; 1 × HTTP 422: too long');
  });

  it('takes maxSkippedShare: the share is skipped / (embedded + skipped), compared with >', () => {
    const atShare = generation(9, [['HTTP 422: too long', 1]]);
    atShare.activate('g', { maxSkippedShare: 0.1 }); // 1 of 10: exactly 10 %
    expect(state(atShare, 'g')).toBe('active');

    const above = generation(9, [['HTTP 422: too long', 1]]);
    expect(caught(() => above.activate('g', { maxSkippedShare: 0.09 }))).toBeInstanceOf(
      TooManySkippedError,
    );
  });

  it('accepts the ends of the range: 0 with nothing skipped, 1 with half skipped', () => {
    const none = generation(3);
    none.activate('g', { maxSkippedShare: 0 });
    expect(state(none, 'g')).toBe('active');

    const half = generation(3, [['HTTP 422: too long', 3]]);
    half.activate('g', { maxSkippedShare: 1 });
    expect(state(half, 'g')).toBe('active');
  });

  it.each([-0.01, 1.01, Number.NaN])(
    'refuses maxSkippedShare %s with a RangeError that names it',
    (max) => {
      const store = generation(3);
      const e = caught(() => store.activate('g', { maxSkippedShare: max }));
      expect(e).toBeInstanceOf(RangeError);
      expect(e.message).toBe(`activate: maxSkippedShare must be between 0 and 1, got ${max}`);
      expect(state(store, 'g')).toBe('building');
    },
  );

  it('refuses a generation that embedded nothing even when every skip is allowed; force accepts it', () => {
    const store = generation(0, [['HTTP 401: bad key', 2]]);
    const e = caught(() => store.activate('g', { maxSkippedShare: 1 }));
    expect(e).toBeInstanceOf(TooManySkippedError);
    expect(e.message).toContain('it embedded nothing and 2 of 2 documents');
    store.activate('g', { force: true });
    expect(state(store, 'g')).toBe('active');
  });

  it('force accepts any share; without force the same generation is refused', () => {
    const store = generation(1, [['HTTP 422: too long', 4]]);
    expect(caught(() => store.activate('g', { force: false }))).toBeInstanceOf(TooManySkippedError);
    store.activate('g', { force: true });
    expect(state(store, 'g')).toBe('active');
    expect(state(store, 'old')).toBe('retired');
  });

  it('a generation with nothing embedded and nothing skipped (an empty table) activates', () => {
    const store = generation(0);
    store.activate('g');
    expect(state(store, 'g')).toBe('active');
  });
});

describe('retire, reopen and an uncovered activate: what the refusal says', () => {
  it('refuses to retire the active generation, naming it and how to force it', () => {
    const store = generation(1);
    const e = caught(() => store.retire('old'));
    expect(e).toBeInstanceOf(LifecycleError);
    expect(e.message).toBe(
      'generation "old" is the active generation; retiring it would leave search without a complete generation. Activate another generation instead (that retires this one), or retire it anyway with { force: true } (vecfill retire --force old)',
    );
    expect(state(store, 'old')).toBe('active');
  });

  it('reopens only a retired generation, and says which state it is in', () => {
    const store = generation(1);
    const building = caught(() => store.reopen('g'));
    expect(building).toBeInstanceOf(LifecycleError);
    expect(building.message).toBe(
      'generation "g" is building, not retired; only a retired generation can be reopened',
    );
    const active = caught(() => store.reopen('old'));
    expect(active.message).toBe(
      'generation "old" is active, not retired; only a retired generation can be reopened',
    );
    store.retire('g');
    store.reopen('g');
    expect(state(store, 'g')).toBe('building');
  });

  it('refuses to reopen a reclaimed generation and says to create it again', () => {
    const store = generation(1);
    store.retire('g');
    store.reclaim('g');
    const e = caught(() => store.reopen('g'));
    expect(e).toBeInstanceOf(LifecycleError);
    expect(e.message).toBe(
      'generation "g" was reclaimed: its vectors are gone, so it cannot be reopened; create it again (ensureGeneration with the same generation, or vecfill migrate with the same encoder flags) and fill it from scratch',
    );
    expect(state(store, 'g')).toBe('retired');
  });

  it('an uncovered building generation is told to fill, a retired one to reopen first', () => {
    const db = database();
    db.exec("INSERT INTO docs (id, content) VALUES (1, 'one'), (2, 'two')");
    const store = SqliteStore.open(db, SCHEMA);
    store.ensureGeneration('g', G8, 'building');
    store.saveVectors('g', 1, 1, [{ chunkIndex: 0, start: 0, end: 3, vector: vec() }]);
    const building = caught(() => store.activate('g'));
    expect(building).toBeInstanceOf(UncoveredError);
    expect(building.message).toBe(
      'generation "g" cannot be activated: 1 document(s) are not embedded yet; run fill for it first',
    );
    store.retire('g');
    const retired = caught(() => store.activate('g'));
    expect(retired).toBeInstanceOf(UncoveredError);
    expect(retired.message).toBe(
      'generation "g" cannot be activated: 1 document(s) are not embedded yet; it is retired, so fill skips it: reopen it (reopen(gen); vecfill reopen), fill it, then activate it',
    );
  });
});

describe('configured SQL identifiers', () => {
  it('accepts a 63-character table name and refuses 64 characters, saying why', () => {
    const db = database();
    const long = `t${'x'.repeat(62)}`;
    db.exec(DOCS_DDL.replace('CREATE TABLE docs', `CREATE TABLE ${long}`));
    db.exec(`INSERT INTO ${long} (id, content) VALUES (1, 'one')`);
    const store = SqliteStore.open(db, { ...SCHEMA, docsTable: long });
    store.ensureGeneration('g', G8, 'active');
    expect(store.pendingForGeneration('g', 5)).toHaveLength(1);

    const e = caught(() => SqliteStore.open(db, { ...SCHEMA, docsTable: `${long}x` }));
    expect(e).toBeInstanceOf(InvalidIdentifierError);
    expect(e.message).toContain(
      `"${long}x" is not a valid SQL identifier (letters, digits and underscores only, not starting with a digit, at most 63 characters)`,
    );
  });

  it('accepts underscores and digits after the first character; refuses a name that is not a string', () => {
    const db = database();
    db.exec(DOCS_DDL.replace('CREATE TABLE docs', 'CREATE TABLE _Docs_2'));
    expect(() => SqliteStore.open(db, { ...SCHEMA, docsTable: '_Docs_2' })).not.toThrow();
    // A JavaScript caller without types: an array whose text would pass the pattern.
    const e = caught(() =>
      SqliteStore.open(db, { ...SCHEMA, docsTable: ['docs'] as unknown as string }),
    );
    expect(e).toBeInstanceOf(InvalidIdentifierError);
  });
});
