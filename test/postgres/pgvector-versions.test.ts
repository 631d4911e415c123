import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fill } from '../../src/core/index.js';
import { runConformance } from '../conformance/suite.js';
import { embed } from '../support/hash-encoder.js';
import { pgHarness, startEngine, type TestEngine, testEngines, withHarness } from './helpers.js';

/**
 * The backend reads the pgvector version once and searches through the HNSW
 * index on every version it supports: iterative scans on 0.8+, a widening
 * ef_search then an exact finish before. These run on the test engine and on
 * every server of VECFILL_TEST_PG_EXTRA_URLS (with the conformance suite),
 * e.g. pgvector 0.7.4 from `scripts/pg-pgvector-server.sh start 0.7.4 …`.
 */
const engines = await testEngines();

for (const spec of engines) {
  describe(`pgvector on ${spec.name}`, () => {
    let engine: TestEngine;
    beforeAll(async () => {
      engine = await startEngine(spec.url ? { serverUrl: spec.url } : {});
    });
    afterAll(async () => {
      await engine?.close();
    });

    it('reports the pgvector version and whether it has iterative scans', async () => {
      await withHarness(engine.client, async (h) => {
        const { version, iterativeScan } = h.pgStore.pgvector;
        const [major, minor] = version.split('.').map(Number);
        expect(iterativeScan).toBe(major! > 0 || minor! >= 8);
      });
    });

    it('finds every eligible hit through the index with a 2% filter, on any pgvector version', async () => {
      await withHarness(engine.client, async (h) => {
        for (let i = 1; i <= 400; i++)
          await h.insert(i, `entry ${i} about topic ${i % 17}`, i % 50 === 0 ? 'rare' : 'common');
        await h.store.ensureGeneration('g', { model: 'hash', dimensions: 16 }, 'active');
        await fill(h.store, 'g', async (texts) => texts.map((t) => embed(t, 16)), {
          scanBatch: 200,
        });
        const hits = await h.store.queryGeneration('g', embed('entry topic 3', 16), 10, {
          filter: h.filterCategory('rare'),
        });
        expect(hits.map((x) => x.doc).sort((a, b) => Number(a) - Number(b))).toEqual([
          50, 100, 150, 200, 250, 300, 350, 400,
        ]);
        const near = await h.store.queryGeneration('g', embed('entry 77 about topic 9', 16), 5);
        expect(near[0]!.doc).toBe(77);
      });
    });

    if (spec.url) runConformance(`PgStore on ${spec.name}`, () => pgHarness(engine.client));
  });
}
