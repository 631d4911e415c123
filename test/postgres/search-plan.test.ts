import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fill } from '../../src/core/index.js';
import type { PgQueryable } from '../../src/postgres/index.js';
import { embed } from '../support/hash-encoder.js';
import { pgHarness, startEngine, type TestEngine, testEngines } from './helpers.js';

/**
 * How a Postgres search reads a generation's vectors (src/postgres/pg-search.ts),
 * seen from the server: the store runs on one session that records, for each
 * KNN statement the store sends, the HNSW settings in force in its transaction
 * and the server's plan of that very statement with its parameters (EXPLAIN),
 * once as the planner chooses and once with sequential scans disabled (which
 * shows whether the statement can be answered from the index at all). Runs on
 * the test engine and every server of VECFILL_TEST_PG_EXTRA_URLS (pgvector 0.7.4:
 * no iterative scans).
 */
const engines = await testEngines();

interface KnnSeen {
  /** The planner's own plan uses the generation's HNSW index. */
  usesIndex: boolean;
  /** The statement can use the HNSW index at all (sequential scans disabled). */
  canUseIndex: boolean;
  efSearch: string | null;
  iterativeScan: string | null;
}

const INDEX_SCAN = /Index Scan using \S*vec_\d+_hnsw/;

/** One session of `engine`, as a plain client, that records every KNN statement run on it. */
async function spySession(engine: TestEngine) {
  const pool = engine.client as PgQueryable & {
    connect?: () => Promise<PgQueryable & { release(): void }>;
  };
  const conn: PgQueryable & { release?(): void } =
    engine.server && pool.connect ? await pool.connect() : pool;
  const seen: KnnSeen[] = [];
  const setting = async (name: string) =>
    (await conn.query(`SELECT current_setting($1, true) AS v`, [name])).rows[0]!.v as string | null;
  const plan = async (text: string, params?: unknown[]) =>
    (await conn.query(`EXPLAIN (COSTS OFF) ${text}`, params)).rows
      .map((r) => String(Object.values(r)[0]))
      .join('\n');
  const client: PgQueryable = {
    query: async (text, params) => {
      if (text.includes('WITH knn AS MATERIALIZED')) {
        const efSearch = await setting('hnsw.ef_search');
        const iterativeScan = await setting('hnsw.iterative_scan');
        const usesIndex = INDEX_SCAN.test(await plan(text, params));
        await conn.query(`SELECT set_config('enable_seqscan', 'off', true)`);
        const canUseIndex = INDEX_SCAN.test(await plan(text, params));
        await conn.query(`SELECT set_config('enable_seqscan', 'on', true)`);
        seen.push({ usesIndex, canUseIndex, efSearch, iterativeScan });
      }
      return conn.query(text, params);
    },
  };
  return { client, seen, setting, release: () => conn.release?.() };
}

function cosineDistance(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return 1 - dot / Math.sqrt(na * nb);
}

const DIMS = 16;
const N = 300;
const text = (i: number) => `entry ${i} about topic ${i % 17} and ${i % 23}`;
const QUERY = embed('entry topic 3 and 5', DIMS);
/** Documents nearest to QUERY first. */
const BY_DISTANCE = Array.from({ length: N }, (_, i) => i + 1).sort(
  (a, b) =>
    cosineDistance(embed(text(a), DIMS), QUERY) - cosineDistance(embed(text(b), DIMS), QUERY),
);

for (const spec of engines) {
  describe(`how a search reads the vectors, on ${spec.name}`, () => {
    let engine: TestEngine;
    beforeAll(async () => {
      engine = await startEngine(spec.url ? { serverUrl: spec.url } : {});
    });
    afterAll(async () => {
      await engine?.close();
    });

    async function seeded() {
      const spy = await spySession(engine);
      const h = await pgHarness(spy.client);
      for (let i = 1; i <= N; i++) await h.insert(i, text(i), i % 50 === 0 ? 'rare' : 'common');
      await h.store.ensureGeneration('g', { model: 'hash', dimensions: DIMS }, 'active');
      await fill(h.store, 'g', async (texts) => texts.map((t) => embed(t, DIMS)), {
        scanBatch: 300,
      });
      const iterative = h.pgStore.pgvector.iterativeScan;
      const defaults = {
        ef: await spy.setting('hnsw.ef_search'),
        iterative: await spy.setting('hnsw.iterative_scan'),
      };
      spy.seen.length = 0;
      return { spy, h, iterative, defaults };
    }

    it('searches through the HNSW index with ef_search 100 (and iterative scans on 0.8+) set only in its transaction', async () => {
      const { spy, h, iterative, defaults } = await seeded();
      try {
        const hits = await h.store.queryGeneration('g', QUERY, 10);
        expect(hits.map((x) => x.doc)).toEqual(BY_DISTANCE.slice(0, 10));
        expect(spy.seen).toEqual([
          {
            usesIndex: true,
            canUseIndex: true,
            efSearch: '100',
            iterativeScan: iterative ? 'relaxed_order' : null,
          },
        ]);
        // Nothing leaks to the session the search ran on.
        expect(await spy.setting('hnsw.ef_search')).toBe(defaults.ef);
        expect(await spy.setting('hnsw.iterative_scan')).toBe(defaults.iterative);
        if (iterative) expect(defaults.iterative).toBe('off');
      } finally {
        await h.close();
        spy.release();
      }
    });

    it('widens the window past deleted rows, then finishes with an exact scan of a generation bigger than ef_search', async () => {
      const { spy, h, defaults } = await seeded();
      try {
        // The 90 nearest documents are gone: windows of 20 and 80 find no live row, 320 covers all 300.
        for (const id of BY_DISTANCE.slice(0, 90)) await h.remove(id);
        const hits = await h.store.queryGeneration('g', QUERY, 10);
        expect(hits.map((x) => x.doc)).toEqual(BY_DISTANCE.slice(90, 100));
        expect(spy.seen.map((s) => [s.usesIndex, s.canUseIndex, s.efSearch])).toEqual([
          [true, true, '100'],
          [true, true, '100'],
          [false, false, '100'],
        ]);
        expect(await spy.setting('hnsw.ef_search')).toBe(defaults.ef);
      } finally {
        await h.close();
        spy.release();
      }
    });

    it('scans only the matching documents exactly under a selective filter, and uses the index under a broad one', async () => {
      const { spy, h, defaults } = await seeded();
      try {
        const rare = await h.store.queryGeneration('g', QUERY, 10, {
          filter: h.filterCategory('rare'),
        });
        expect(rare.map((x) => x.doc)).toEqual(BY_DISTANCE.filter((id) => id % 50 === 0));
        // No HNSW setting: the exact scan cannot use the index.
        expect(spy.seen).toEqual([
          {
            usesIndex: false,
            canUseIndex: false,
            efSearch: defaults.ef,
            iterativeScan: defaults.iterative,
          },
        ]);
        // 2000 more 'common' documents (not embedded yet): the filter keeps too many to scan.
        await spy.client.query(
          `INSERT INTO ${h.schema.docsTable} (id, content, category) SELECT i, 'pending ' || i, 'common' FROM generate_series(1001, 3000) i`,
        );
        spy.seen.length = 0;
        const common = await h.store.queryGeneration('g', QUERY, 10, {
          filter: h.filterCategory('common'),
        });
        expect(common.map((x) => x.doc)).toEqual(
          BY_DISTANCE.filter((id) => id % 50 !== 0).slice(0, 10),
        );
        expect(spy.seen.map((s) => [s.usesIndex, s.efSearch])).toEqual([[true, '100']]);
      } finally {
        await h.close();
        spy.release();
      }
    });
  });
}
