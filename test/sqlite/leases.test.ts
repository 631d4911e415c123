import { describe, expect, it } from 'vitest';
import { fill } from '../../src/core/index.js';
import { openDatabase, SqliteStore } from '../../src/sqlite/index.js';
import { embed, hashEncoder } from '../support/hash-encoder.js';
import { cleanupsAfterEach, SCHEMA, sqliteHarness } from './helpers.js';

const cleanupAfter = cleanupsAfterEach();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const GEN = { model: 'hash-bow', dimensions: 16 };

/** Two workers on their own connections to one database file, leasing for `leaseMs`. */
async function twoWorkers(leaseMs: number) {
  const h = await sqliteHarness();
  cleanupAfter(h.close);
  for (let i = 1; i <= 6; i++) await h.insert(i, `leased document ${i}`);
  const schema = { ...SCHEMA, leaseMs };
  const a = SqliteStore.open(h.db, schema);
  const other = openDatabase(h.db.name);
  cleanupAfter(() => {
    other.close();
  });
  const b = SqliteStore.open(other, schema);
  a.ensureGeneration('g', GEN, 'active');
  return { h, a, b };
}

describe('SqliteStore leases (leaseMs)', () => {
  it('hides documents leased by another worker until the lease expires', async () => {
    const { a, b } = await twoWorkers(300);
    expect(a.pendingForGeneration('g', 3).map((p) => p.doc)).toEqual([1, 2, 3]);
    // Worker b does not get a's documents while a's lease runs…
    expect(b.pendingForGeneration('g', 10).map((p) => p.doc)).toEqual([4, 5, 6]);
    // …and a worker that stopped (a never saves) does not hold them for ever.
    await sleep(450);
    expect(
      b
        .pendingForGeneration('g', 10)
        .map((p) => p.doc)
        .sort(),
    ).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('a fill finishes the documents of a worker that died once its leases expire', async () => {
    const { h, a, b } = await twoWorkers(200);
    a.pendingForGeneration('g', 4); // leases 1–4, then "dies"
    const { encode } = hashEncoder(16);
    expect((await fill(b, 'g', encode)).documents).toBe(2);
    await sleep(300);
    expect((await fill(b, 'g', encode)).documents).toBe(4);
    expect(b.coverage('g')).toEqual({ embedded: 6, skipped: 0, backlog: 0 });
    expect(b.queryGeneration('g', embed('leased document 3', 16), 1)[0]).toMatchObject({ doc: 3 });
    expect(await h.vectorRows('g')).toBe(6);
  });
});
