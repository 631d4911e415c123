import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeRow, writeQuery } from '../../../src/sqlite/index/codes.js';
import type { StoredVector, VectorSource } from '../../../src/sqlite/index/generation-index.js';
import { int8Error, neededRows } from '../../../src/sqlite/index/int8-bound.js';
import { MemoryIndex } from '../../../src/sqlite/index/memory-index.js';
import { packRows } from '../../../src/sqlite/index/vec0-rows.js';

const stride = (d: number) => Math.ceil(d / 16) * 16;

/** The int8 kernel's approximate cosine of `v` and `x` (codes, int16 query, exact integer dot product). */
function approxCosine(v: Float32Array, x: Float32Array): { approx: number; factor: number } {
  const s = stride(v.length);
  const buf = new ArrayBuffer(s);
  const m = { f32: new Float32Array(0), i8: new Int8Array(buf), u8: new Uint8Array(buf) };
  const factor = encodeRow('int8', m, 0, s, v, 0, v.length, undefined);
  const q = new SharedArrayBuffer(s * 2);
  writeQuery('int8', q, 0, s, x, undefined);
  const q16 = new Int16Array(q);
  let dot = 0;
  for (let j = 0; j < s; j++) dot += m.i8[j]! * q16[j]!;
  const err = int8Error(x, s)!;
  return { approx: dot * Math.fround(factor) * err.toCosine, factor: Math.fround(factor) };
}

function exactCosine(v: Float32Array, x: Float32Array): number {
  let dot = 0;
  let vv = 0;
  let xx = 0;
  for (let j = 0; j < v.length; j++) {
    dot += v[j]! * x[j]!;
    vv += v[j]! * v[j]!;
    xx += x[j]! * x[j]!;
  }
  return dot / (Math.sqrt(vv) * Math.sqrt(xx));
}

/** Components spread over many magnitudes, so some rows have one dominant component (coarse codes). */
const component = fc.oneof(
  fc.float({ min: -1, max: 1, noNaN: true, noDefaultInfinity: true }),
  fc.integer({ min: -200, max: 200 }).map((i) => i + 0.5),
  fc.float({
    min: Math.fround(-1e-3),
    max: Math.fround(1e-3),
    noNaN: true,
    noDefaultInfinity: true,
  }),
);
const vector = (d: number) =>
  fc
    .array(component, { minLength: d, maxLength: d })
    .map((xs) => Float32Array.from(xs))
    .filter((v) => v.some((x) => Math.abs(x) > 1e-6));

describe('int8Error', () => {
  it('bounds how far every int8 approximate cosine is from the exact one', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }).chain((d) => fc.tuple(vector(d), vector(d))),
        ([v, x]) => {
          const { approx, factor } = approxCosine(v, x);
          const err = int8Error(x, stride(x.length))!;
          expect(Math.abs(approx - exactCosine(v, x))).toBeLessThanOrEqual(
            err.perFactor * factor + err.fixed,
          );
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('is tight: a row whose every code is off by half a step in the query direction reaches it', () => {
    // Scale 1 (largest component 127): codes 11, 21, 31 for 10.5, 20.5, 30.5 (halves round up).
    const v = Float32Array.from([127, 10.5, 20.5, 30.5]);
    const x = Float32Array.from([0, 1, 1, 1]);
    const { approx, factor } = approxCosine(v, x);
    const err = int8Error(x, stride(4))!;
    const off = approx - exactCosine(v, x);
    expect(off).toBeGreaterThan(0);
    expect(off).toBeLessThanOrEqual(err.perFactor * factor + err.fixed);
    expect(off).toBeGreaterThan(0.99 * (err.perFactor * factor + err.fixed));
  });

  it('is null for a zero query (every cosine is undefined, nothing to prove)', () => {
    expect(int8Error(new Float32Array(8), 16)).toBeNull();
  });
});

describe('neededRows', () => {
  const rows = (approx: number[], error: number) => (at: number) => ({
    approx: approx[at]!,
    error,
  });

  // Binary fractions: the bounds below are exact.
  it('keeps the rows whose upper bound reaches the k-th largest lower bound', () => {
    // Error 0.125; lower bounds 0.75, 0.625, 0.25, 0.125, 0: k = 2 → floor 0.625.
    const approx = [0.875, 0.75, 0.375, 0.25, 0.125];
    expect(neededRows([0, 1, 2, 3, 4], 2, rows(approx, 0.125), null)).toEqual([0, 1]);
    // A row whose upper bound is exactly the floor is kept (it may tie with the k-th).
    approx[2] = 0.5;
    expect(neededRows([0, 1, 2, 3, 4], 2, rows(approx, 0.125), null)).toEqual([0, 1, 2]);
    // The order of the list does not matter; positions are returned as given.
    expect(neededRows([4, 3, 2, 1, 0], 2, rows(approx, 0.125), null)).toEqual([2, 1, 0]);
  });

  it('keeps every row when rows beyond the list may reach the floor', () => {
    const approx = [0.875, 0.75, 0.375, 0.25, 0.125];
    expect(neededRows([0, 1, 2, 3, 4], 2, rows(approx, 0.125), 0.625)).toEqual([0, 1, 2, 3, 4]);
    expect(neededRows([0, 1, 2, 3, 4], 2, rows(approx, 0.125), 0.5)).toEqual([0, 1]);
  });

  it('keeps a list no longer than k', () => {
    expect(neededRows([3, 1], 2, rows([0, 0.5, 0, 0.9], 1), 5)).toEqual([3, 1]);
  });
});

const blob = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

function source(rows: Map<number, Float32Array>, read: number[]): VectorSource {
  const stored = (): StoredVector[] => [...rows].map(([id, v]) => [id, blob(v)] as const);
  return {
    all: () => [packRows(stored(), rows.values().next().value?.length ?? 0)],
    some: (ids) => {
      read.push(ids.length);
      return ids.filter((id) => rows.has(id)).map((id) => [id, blob(rows.get(id)!)] as const);
    },
  };
}

function exactTop(rows: Map<number, Float32Array>, q: Float32Array, k: number) {
  return [...rows]
    .map(([id, v]) => [id, 1 - exactCosine(v, q)] as const)
    .sort((a, b) => a[1] - b[1] || a[0] - b[0])
    .slice(0, k);
}

/** Clustered rows (a center plus noise), and queries near the same centers: a seeded stream. */
function clustered(n: number, d: number, clusters: number, seed: number) {
  let x = seed;
  const next = () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32 - 0.5;
  };
  const centers = Array.from({ length: clusters }, () => Float32Array.from({ length: d }, next));
  const near = (c: number) => Float32Array.from(centers[c]!, (v) => v + 0.3 * next());
  const rows = new Map<number, Float32Array>();
  for (let id = 1; id <= n; id++) rows.set(id, near(id % clusters));
  return { rows, queries: Array.from({ length: 20 }, (_, i) => near((i * 7) % clusters)) };
}

describe('MemoryIndex int8 rescoring, trimmed by the error bound', () => {
  it('reads back fewer rows than the margin asks, and then returns exactly the float-exact top k', () => {
    const { rows, queries } = clustered(4000, 48, 40, 5);
    const read: number[] = [];
    const index = new MemoryIndex({
      kind: 'int8',
      dimensions: 48,
      source: source(rows, read),
      rescoreFactor: 4,
    });
    for (const batch of source(rows, []).all()) index.insertBatch(batch);
    let trimmed = 0;
    for (const q of queries) {
      for (const k of [1, 10, 20]) {
        read.length = 0;
        const got = index.candidates(q, k);
        expect(read).toEqual([index.rescoredRows]);
        const margin = k + 3 * k;
        expect(index.rescoredRows).toBeLessThanOrEqual(margin);
        if (index.rescoredRows < margin) {
          // Trimmed only when proven: the result is the float-exact top k.
          trimmed++;
          const want = exactTop(rows, q, k);
          expect(got.map(([id]) => id)).toEqual(want.map(([id]) => id));
          for (let i = 0; i < k; i++) expect(got[i]![1]).toBeCloseTo(want[i]![1], 9);
        }
      }
    }
    // Clustered rows leave gaps the bound can prove: most searches read fewer rows.
    expect(trimmed).toBeGreaterThan(30);
  });

  it('returns the float-exact top k whenever it read fewer rows than the margin, for any rows, query and k', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }).chain((d) =>
          fc.record({
            d: fc.constant(d),
            vectors: fc.array(vector(d), { minLength: 1, maxLength: 80 }),
            query: vector(d),
            k: fc.integer({ min: 1, max: 12 }),
            factor: fc.integer({ min: 1, max: 6 }),
          }),
        ),
        ({ d, vectors, query, k, factor }) => {
          const rows = new Map(vectors.map((v, i) => [i + 1, v] as const));
          const index = new MemoryIndex({
            kind: 'int8',
            dimensions: d,
            source: source(rows, []),
            rescoreFactor: factor,
          });
          for (const batch of source(rows, []).all()) index.insertBatch(batch);
          const got = index.candidates(query, k);
          const wanted = Math.min(rows.size, k * factor);
          expect(index.rescoredRows).toBeLessThanOrEqual(wanted);
          // Rows left out of the margin were proven outside the top k; a
          // margin covering every row holds the top k anyway.
          if (index.rescoredRows < wanted || wanted === rows.size) {
            const want = exactTop(rows, query, k);
            expect(got).toHaveLength(want.length);
            for (let i = 0; i < want.length; i++) expect(got[i]![1]).toBeCloseTo(want[i]![1], 9);
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});
