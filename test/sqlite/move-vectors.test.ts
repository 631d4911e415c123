import { describe, expect, it } from 'vitest';
import { fill } from '../../src/core/index.js';
import { openDatabase, SqliteStore } from '../../src/sqlite/index.js';
import { embed, hashEncoder } from '../support/hash-encoder.js';
import { cleanupsAfterEach, DOCS_DDL, freshDb, SCHEMA, sqliteHarness } from './helpers.js';

// `SqliteStore.moveVectors`, as the CLI's file indexer uses it for a renamed
// file: the vectors, stamps, full text and leases of one key go to another,
// in every generation, and nothing is embedded again (docs/invariants.md,
// mutation run of src/sqlite/sqlite-save.ts).

const cleanupAfter = cleanupsAfterEach();

const DIMS = 16;
const A = { model: 'hash-bow', dimensions: DIMS };
const B = { model: 'hash-bow', dimensions: DIMS, params: { seed: 'b' } };
const APPLE = 'apple orchard harvest';
const ROCKET = 'rocket launch orbit';

/** Rows 1 (apple) and 2 (rocket), filled in an active and a building generation. */
async function filled() {
  const h = await sqliteHarness();
  cleanupAfter(h.close);
  const store = h.store as SqliteStore;
  await h.insert(1, APPLE);
  await h.insert(2, ROCKET);
  store.ensureGeneration('a', A, 'active');
  store.ensureGeneration('b', B, 'building');
  await fill(store, 'a', hashEncoder(DIMS).encode);
  await fill(store, 'b', hashEncoder(DIMS, 'b').encode);
  return { h, store };
}

/** Renames row `from` to `to` in the documents table (same content, same revision). */
function rename(h: Awaited<ReturnType<typeof filled>>['h'], from: number, to: number) {
  h.db.prepare('DELETE FROM docs WHERE id = ?').run(to);
  h.db.prepare('UPDATE docs SET id = ? WHERE id = ?').run(to, from);
}

const text = (store: SqliteStore, word: string) =>
  store.queryFullText('a', word, 10).map((hit) => hit.doc);

describe('moveVectors', () => {
  it('a renamed row is covered at once in every generation and found under its new key only', async () => {
    const { h, store } = await filled();
    rename(h, 1, 3);
    store.moveVectors(1, 3);
    for (const gen of ['a', 'b']) {
      expect(store.pendingForGeneration(gen, 10)).toEqual([]);
      expect(store.coverage(gen)).toEqual({ embedded: 2, skipped: 0, backlog: 0 });
      expect(await h.vectorRows(gen)).toBe(2);
    }
    const top = store.queryGeneration('a', embed(APPLE, DIMS), 1)[0]!;
    expect(top).toMatchObject({ doc: 3, chunkIndex: 0 });
    expect(top.score).toBeCloseTo(1, 5);
    expect(store.queryGeneration('b', embed(APPLE, DIMS, 'b'), 1)[0]).toMatchObject({ doc: 3 });
    expect(text(store, 'orchard')).toEqual([3]);
    // Nothing is left under the old key for a sweep to find.
    expect(store.prune()).toBe(0);
  });

  it('onto a key that had vectors: that key’s old vectors, stamps and text are dropped in every generation', async () => {
    const { h, store } = await filled();
    rename(h, 1, 2);
    store.moveVectors(1, 2);
    for (const gen of ['a', 'b']) {
      expect(store.coverage(gen)).toEqual({ embedded: 1, skipped: 0, backlog: 0 });
      // One chunk row and one vector: the rocket vector of key 2 is gone.
      expect(await h.vectorRows(gen)).toBe(1);
    }
    const hits = store.queryGeneration('a', embed(ROCKET, DIMS), 10);
    expect(hits).toHaveLength(1);
    expect(hits[0]!.doc).toBe(2);
    expect(hits[0]!.score).toBeLessThan(0.9);
    expect(store.queryGeneration('a', embed(APPLE, DIMS), 1)[0]!.score).toBeCloseTo(1, 5);
    expect(text(store, 'rocket')).toEqual([]);
    expect(text(store, 'orchard')).toEqual([2]);
  });

  it('gives back the leases of both keys, so a new row at the old key is pending at once', async () => {
    const h = await sqliteHarness();
    cleanupAfter(h.close);
    const schema = { ...SCHEMA, leaseMs: 60_000 };
    const a = SqliteStore.open(h.db, schema);
    const other = openDatabase(h.db.name);
    cleanupAfter(() => {
      other.close();
    });
    const b = SqliteStore.open(other, schema);
    await h.insert(1, APPLE);
    a.ensureGeneration('a', A, 'active');
    await fill(a, 'a', hashEncoder(DIMS).encode);
    // Row 1 changes; worker b takes its lease (and then stops).
    await h.update(1, `${APPLE} again`);
    expect(b.pendingForGeneration('a', 10).map((p) => p.doc)).toEqual([1]);
    expect(a.pendingForGeneration('a', 10)).toEqual([]);
    // Row 1 is renamed to 3, and a new file appears at 1.
    rename(h, 1, 3);
    a.moveVectors(1, 3);
    await h.insert(1, ROCKET);
    // b's lease went with the move: worker a gets both without waiting a minute.
    expect(
      a
        .pendingForGeneration('a', 10)
        .map((p) => p.doc)
        .sort(),
    ).toEqual([1, 3]);
  });

  it('without leases or full text it moves the vectors and stamps alone', async () => {
    const { db } = freshDb(cleanupAfter, 'plain.db');
    db.exec(DOCS_DDL);
    db.prepare('INSERT INTO docs (id, content) VALUES (1, ?)').run(APPLE);
    const store = SqliteStore.open(db, { ...SCHEMA, fullText: false });
    store.ensureGeneration('a', A, 'active');
    await fill(store, 'a', hashEncoder(DIMS).encode);
    db.prepare('UPDATE docs SET id = 3 WHERE id = 1').run();
    store.moveVectors(1, 3);
    expect(store.pendingForGeneration('a', 10)).toEqual([]);
    expect(store.queryGeneration('a', embed(APPLE, DIMS), 1)[0]).toMatchObject({ doc: 3 });
  });
});
