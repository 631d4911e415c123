import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINE, pgHarness, startEngine, type TestEngine } from './helpers.js';

// Hybrid search of the Postgres store (src/postgres/pg-search.ts) with
// vectors chosen by hand, so each document's vector rank and full-text rank
// are known.

let engine: TestEngine;
beforeAll(async () => {
  engine = await startEngine();
});
afterAll(async () => {
  await engine?.close();
});

const G4 = { model: 'm', dimensions: 4 };

/** Four documents: by vector, A then B nearest to QUERY; by full text ('zebra'), C, D, then B. */
async function seeded() {
  const h = await pgHarness(engine.client);
  const docs: [number, string, number[]][] = [
    [1, 'apple orchard', [1, 0, 0, 0]],
    [2, 'apple zebra', [0.9, 0.43, 0, 0]],
    [3, 'zebra zebra zebra', [0, 0, 1, 0]],
    [4, 'zebra zebra', [0, 0, 0, 1]],
  ];
  for (const [id, text] of docs) await h.insert(id, text);
  await h.store.ensureGeneration('a', G4, 'active');
  for (const p of await h.store.pendingForGeneration('a', 10)) {
    const vector = Float32Array.from(docs.find(([id]) => id === p.doc)![2]);
    await h.store.saveVectors('a', p.doc, p.revision, [
      { chunkIndex: 0, start: 0, end: p.content.length, vector },
    ]);
  }
  return h;
}
const QUERY = Float32Array.of(1, 0, 0, 0);

describe(`PgStore hybrid search on ${ENGINE}`, () => {
  it('fuses the vector hits with twice as many full-text documents: one found by both ranks first', async () => {
    const h = await seeded();
    try {
      expect((await h.store.queryFullText!('a', 'zebra', 3)).map((x) => x.doc)).toEqual([3, 4, 2]);
      expect((await h.store.queryGeneration('a', QUERY, 2)).map((x) => x.doc)).toEqual([1, 2]);
      // B is 2nd by vector and 3rd by text: within the 2 × limit full-text documents, it rises.
      const hits = await h.store.queryGeneration('a', QUERY, 2, { hybrid: true, text: 'zebra' });
      expect(hits.map((x) => x.doc)).toEqual([2, 1]);
      expect(hits[0]!.score).toBeCloseTo(1 / 62 + 1 / 63, 10);
    } finally {
      await h.close();
    }
  });

  it('searches by vector alone when hybrid has no text, or text comes without hybrid', async () => {
    const h = await seeded();
    try {
      const byVector = (await h.store.queryGeneration('a', QUERY, 2)).map((x) => [x.doc, x.score]);
      expect(byVector[0]).toEqual([1, expect.closeTo(1, 5)]);
      const noText = await h.store.queryGeneration('a', QUERY, 2, { hybrid: true });
      expect(noText.map((x) => [x.doc, x.score])).toEqual(byVector);
      const noHybrid = await h.store.queryGeneration('a', QUERY, 2, { text: 'zebra' });
      expect(noHybrid.map((x) => [x.doc, x.score])).toEqual(byVector);
    } finally {
      await h.close();
    }
  });
});
