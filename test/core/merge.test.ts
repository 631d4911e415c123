import { describe, expect, it } from 'vitest';
import { type DocHit, merge, rollupByDocument } from '../../src/core/index.js';
import { fuseRanks } from '../../src/core/merge.js';
import { throwsWith } from '../support/thrown.js';

const hit = (doc: string, score: number, chunkIndex = 0): DocHit<string> => ({
  doc,
  score,
  chunkIndex,
  chunks: 1,
});

describe('rollupByDocument', () => {
  it('keeps each document once, with its best chunk, best first', () => {
    const docs = rollupByDocument([
      { doc: 'a', chunkIndex: 0, score: 0.5 },
      { doc: 'b', chunkIndex: 2, score: 0.7, start: 10, end: 20 },
      { doc: 'a', chunkIndex: 3, score: 0.9, start: 30, end: 40 },
      { doc: 'b', chunkIndex: 1, score: 0.1 },
    ]);
    expect(docs).toEqual([
      { doc: 'a', score: 0.9, chunkIndex: 3, chunks: 2, start: 30, end: 40 },
      { doc: 'b', score: 0.7, chunkIndex: 2, chunks: 2, start: 10, end: 20 },
    ]);
  });
});

describe('merge', () => {
  const building = [hit('x', 0.9), hit('shared', 0.8, 5), hit('y', 0.3)].map((h) => ({
    ...h,
    generation: 'building',
  }));
  const active = [hit('shared', 0.99, 1), hit('z', 0.5), hit('w', 0.1)].map((h) => ({
    ...h,
    generation: 'active',
  }));

  it('covers the union of every list', () => {
    const docs = merge([building, active]).map((h) => h.doc);
    expect(new Set(docs)).toEqual(new Set(['x', 'shared', 'y', 'z', 'w']));
    expect(docs).toHaveLength(5);
  });

  it('lets the earlier list win a document present in several', () => {
    for (const strategy of ['normalized', 'raw', 'rrf'] as const) {
      const shared = merge([building, active], { strategy }).find((h) => h.doc === 'shared')!;
      expect(shared.chunkIndex).toBe(5);
      expect(shared.generation).toBe('building');
    }
    expect(
      merge([building, active], { strategy: 'raw' }).find((h) => h.doc === 'shared')!.score,
    ).toBe(0.8);
  });

  it('normalizes each list min-max by default', () => {
    const out = merge([
      [hit('a', 0.9), hit('b', 0.5), hit('c', 0.1)],
      [hit('d', 20), hit('e', 10)],
    ]);
    const score = Object.fromEntries(out.map((h) => [h.doc, h.score]));
    expect(score).toEqual({ a: 1, b: 0.5, c: 0, d: 1, e: 0 });
    expect(out.map((h) => h.doc)).toEqual(['a', 'd', 'b', 'c', 'e']);
  });

  it('orders by raw scores with the raw strategy', () => {
    expect(merge([building, active], { strategy: 'raw' }).map((h) => h.doc)).toEqual([
      'x',
      'shared',
      'z',
      'y',
      'w',
    ]);
  });

  it('orders by reciprocal rank with the rrf strategy', () => {
    const out = merge([building, active], { strategy: 'rrf', rankConstant: 60 });
    expect(out.map((h) => h.doc)).toEqual(
      ['x', 'shared', 'y', 'z', 'w'].sort((a, b) => {
        const rank: Record<string, number> = { x: 1, shared: 2, y: 3, z: 2, w: 3 };
        return rank[a]! - rank[b]!;
      }),
    );
    expect(out[0]!.score).toBeCloseTo(1 / 61);
    const z = out.find((h) => h.doc === 'z')!;
    expect(z.score).toBeCloseTo(1 / 62);
  });

  it('applies the limit after merging', () => {
    expect(merge([building, active], { limit: 2 })).toHaveLength(2);
    expect(merge([building, active], { limit: 0 })).toEqual([]);
  });

  it('scores a single-valued list as 1 and handles empty lists', () => {
    expect(merge([[], [hit('a', 0.3)]])).toEqual([hit('a', 1)]);
    expect(merge([])).toEqual([]);
  });

  it('refuses an unknown strategy', () => {
    throwsWith(
      () => merge([building], { strategy: 'max' as 'raw' }),
      RangeError,
      /unknown strategy/,
    );
  });
});

describe('fuseRanks', () => {
  it('sums reciprocal ranks across lists, so a key in both lists beats keys in one', () => {
    const fused = fuseRanks([
      ['a', 'b', 'c'],
      ['c', 'd'],
    ]);
    expect(fused[0]!.key).toBe('c');
    expect(fused[0]!.score).toBeCloseTo(1 / 63 + 1 / 61);
    expect(fused.map((f) => f.key).sort()).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('fuseHybrid', () => {
  it('keeps one hit per document, lifts documents found by both signals, and gives text-only hits chunk 0', async () => {
    const { fuseHybrid } = await import('../../src/core/merge.js');
    const fused = fuseHybrid(
      [
        { doc: 'a', chunkIndex: 2, score: 0.9, start: 5, end: 9 },
        { doc: 'a', chunkIndex: 0, score: 0.8 },
        { doc: 'b', chunkIndex: 1, score: 0.7 },
      ],
      ['c', 'b'],
      3,
    );
    expect(fused.map((h) => h.doc)).toEqual(['b', 'a', 'c']);
    expect(fused.find((h) => h.doc === 'a')).toMatchObject({ chunkIndex: 2, start: 5, end: 9 });
    expect(fused.find((h) => h.doc === 'c')).toMatchObject({ chunkIndex: 0 });
    expect(fuseHybrid([], ['x', 'y'], 1).map((h) => h.doc)).toEqual(['x']);
  });
});
