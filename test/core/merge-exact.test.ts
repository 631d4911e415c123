import { describe, expect, it } from 'vitest';
import { type DocHit, merge, rollupByDocument } from '../../src/core/index.js';
import { fuseHybrid, fuseRanks } from '../../src/core/merge.js';

const list = (...docs: [string, number][]): DocHit<string>[] =>
  docs.map(([doc, score]) => ({ doc, score, chunkIndex: 0, chunks: 1 }));

describe('exact scores and ties', () => {
  it('rrf scores 1 / (rankConstant + rank), rank counted from 1', () => {
    const out = merge([list(['a', 0.9], ['b', 0.1])], { strategy: 'rrf' });
    expect(out.map((h) => h.score)).toEqual([1 / 61, 1 / 62]);
    const k0 = merge([list(['a', 0.9])], { strategy: 'rrf', rankConstant: 0 });
    expect(k0[0]!.score).toBe(1);
    expect(fuseRanks([['a', 'b'], ['b']])).toEqual([
      { key: 'b', score: 1 / 62 + 1 / 61 },
      { key: 'a', score: 1 / 61 },
    ]);
    expect(fuseRanks([['a']], 9)).toEqual([{ key: 'a', score: 1 / 10 }]);
  });

  it('keeps the input order of equal scores', () => {
    expect(fuseRanks([['a'], ['b'], ['c']]).map((x) => x.key)).toEqual(['a', 'b', 'c']);
    expect(fuseHybrid([], ['x', 'y'], 5).map((h) => h.doc)).toEqual(['x', 'y']);
  });

  it('refuses a negative or non-finite rankConstant', () => {
    for (const rankConstant of [-1, Number.NaN, Number.POSITIVE_INFINITY])
      expect(() => merge([list(['a', 1])], { strategy: 'rrf', rankConstant })).toThrow(
        new RangeError(`merge: rankConstant must be >= 0, got ${rankConstant}`),
      );
  });

  it('min-max normalizes each list: best 1, worst 0', () => {
    const out = merge([list(['a', 0.8], ['b', 0.5], ['c', 0.2])]);
    const scores = out.map((h) => h.score);
    expect(scores[0]).toBe(1);
    expect(scores[1]).toBeCloseTo(0.5, 12);
    expect(scores[2]).toBe(0);
  });

  it('rolls chunks up to the best chunk of each document; the first of equal chunks wins', () => {
    const docs = rollupByDocument([
      { doc: 'a', chunkIndex: 3, score: 0.5, start: 30, end: 40 },
      { doc: 'a', chunkIndex: 1, score: 0.5, start: 10, end: 20 },
      { doc: 'a', chunkIndex: 2, score: 0.9, start: 20, end: 30 },
      { doc: 'b', chunkIndex: 0, score: 0.4 },
    ]);
    expect(docs).toEqual([
      { doc: 'a', chunkIndex: 2, score: 0.9, chunks: 3, start: 20, end: 30 },
      { doc: 'b', chunkIndex: 0, score: 0.4, chunks: 1 },
    ]);
    expect(Object.keys(docs[1]!).sort()).toEqual(['chunkIndex', 'chunks', 'doc', 'score']);
    const tie = rollupByDocument([
      { doc: 'a', chunkIndex: 3, score: 0.5, start: 30, end: 40 },
      { doc: 'a', chunkIndex: 1, score: 0.5 },
    ]);
    expect(tie[0]).toMatchObject({ chunkIndex: 3, start: 30, end: 40 });
    expect(
      Object.keys(rollupByDocument([{ doc: 'a', chunkIndex: 0, score: 1 }])[0]!).sort(),
    ).toEqual(['chunkIndex', 'chunks', 'doc', 'score']);
  });
});
