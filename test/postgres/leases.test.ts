import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PgQueryable, PgStore } from '../../src/postgres/index.js';
import { embed } from '../support/hash-encoder.js';
import { createTestDatabase, ENGINE, pgHarness, TEST_PG_URL } from './helpers.js';

/**
 * Leases between two workers (two store instances, two sessions): what only
 * a PostgreSQL server can show, since PGlite is one session.
 */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.runIf(TEST_PG_URL)(`leased scans on ${ENGINE}: two workers`, () => {
  let first: pg.Client;
  let second: pg.Client;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    first = new pg.Client({ connectionString: db.url });
    second = new pg.Client({ connectionString: db.url });
    await first.connect();
    await second.connect();
  });
  afterAll(async () => {
    await first?.end();
    await second?.end();
    await drop?.();
  });

  it('two workers scanning at the same moment never get the same documents', async () => {
    // The first worker's session, with a hook: right after its scan read the
    // pending rows (before it wrote its leases), the second worker scans.
    let during: (() => Promise<unknown>) | undefined;
    let other: Promise<unknown> | undefined;
    const client: PgQueryable = {
      query: async (text, params) => {
        const out = await first.query(text, params);
        if (during && /AS doc, d\.\S+ AS content/.test(text)) {
          other = during();
          during = undefined;
          // Without one leaser at a time the second scan reads the same rows here.
          await sleep(300);
        }
        return out;
      },
    };
    const h = await pgHarness(client, { leaseMs: 60_000 });
    try {
      for (let i = 1; i <= 6; i++) await h.insert(i, `document ${i}`);
      await h.store.ensureGeneration('g', { model: 'hash', dimensions: 8 }, 'active');
      const worker = await PgStore.open(second, h.schema);
      let theirs: { doc: unknown }[] = [];
      during = async () => {
        theirs = await worker.pendingForGeneration('g', 3);
      };
      const mine = await h.store.pendingForGeneration('g', 3);
      await other;
      expect(mine.map((p) => p.doc)).toEqual([1, 2, 3]);
      expect(theirs.map((p) => p.doc)).toEqual([4, 5, 6]);
    } finally {
      await h.close();
    }
  });

  it('a lease expires after leaseMs: another worker then gets the document', async () => {
    const h = await pgHarness(first, { leaseMs: 1500 });
    try {
      for (let i = 1; i <= 3; i++) await h.insert(i, `document ${i}`);
      await h.store.ensureGeneration('g', { model: 'hash', dimensions: 8 }, 'active');
      const worker = await PgStore.open(second, h.schema);
      expect((await h.store.pendingForGeneration('g', 2)).map((p) => p.doc)).toEqual([1, 2]);
      // Still leased: the other worker gets only the third.
      expect((await worker.pendingForGeneration('g', 3)).map((p) => p.doc)).toEqual([3]);
      await sleep(1700);
      // The first worker's leases ran out; the second's on 3 too.
      expect((await worker.pendingForGeneration('g', 3)).map((p) => p.doc)).toEqual([1, 2, 3]);
    } finally {
      await h.close();
    }
  });

  it('a save hands its leases back at once, refused or not: an edited document goes to the next worker', async () => {
    const h = await pgHarness(first, { leaseMs: 60_000 });
    try {
      for (let i = 1; i <= 2; i++) await h.insert(i, `document ${i}`);
      await h.store.ensureGeneration('g', { model: 'hash', dimensions: 8 }, 'active');
      const worker = await PgStore.open(second, h.schema);
      const taken = await h.store.pendingForGeneration('g', 2);
      expect(taken.map((p) => p.doc)).toEqual([1, 2]);
      await h.update(1, 'edited after the scan');
      const out = await h.store.saveMany!(
        'g',
        taken.map((p) => ({
          doc: p.doc,
          revision: p.revision,
          vectors: [
            { chunkIndex: 0, start: 0, end: p.content.length, vector: embed(p.content, 8) },
          ],
        })),
      );
      expect(out[0]?.constructor.name).toBe('StaleError');
      expect(out[1]).toBeNull();
      // The other worker gets the edited document now, not when the lease ends.
      const next = await worker.pendingForGeneration('g', 5);
      expect(next.map((p) => [p.doc, p.content])).toEqual([[1, 'edited after the scan']]);
      // A saved document's lease is gone too: edited later, the other worker
      // gets it (after its scan cursor, which is on 1).
      await h.update(2, 'edited after its save');
      const later = await worker.pendingForGeneration('g', 5);
      expect(later.map((p) => [p.doc, p.content])).toEqual([
        [2, 'edited after its save'],
        [1, 'edited after the scan'],
      ]);
    } finally {
      await h.close();
    }
  });
});
