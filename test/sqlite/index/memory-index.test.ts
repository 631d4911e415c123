import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { StoredVector, VectorSource } from '../../../src/sqlite/index/generation-index.js';
import { MemoryIndex } from '../../../src/sqlite/index/memory-index.js';
import { topKOf } from '../../../src/sqlite/index/top-k.js';
import { packRows } from '../../../src/sqlite/index/vec0-rows.js';
import { throwsWith } from '../../support/thrown.js';

const blob = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
/** Every row as stored: [chunk id, float32 BLOB]. */
const stored = (rows: Map<number, Float32Array>): StoredVector[] =>
  [...rows].map(([id, v]) => [id, blob(v)] as const);

/** Stored vectors in a Map, as the store's tables would hold them. */
function source(rows: Map<number, Float32Array>): VectorSource {
  return {
    all: () => [packRows(stored(rows), rows.values().next().value?.length ?? 0)],
    some: (ids) => ids.filter((id) => rows.has(id)).map((id) => [id, blob(rows.get(id)!)] as const),
  };
}

function exactRanking(rows: Map<number, Float32Array>, q: Float32Array): [number, number][] {
  const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return [...rows]
    .map(([id, v]): [number, number] => {
      const dot = v.reduce((s, x, j) => s + x * q[j]!, 0);
      return [id, 1 - dot / (norm(v) * norm(q))];
    })
    .sort((a, b) => a[1] - b[1]);
}

const vector = (d: number) =>
  fc
    .array(fc.float({ min: -1, max: 1, noNaN: true, noDefaultInfinity: true }), {
      minLength: d,
      maxLength: d,
    })
    .map((xs) => Float32Array.from(xs))
    .filter((v) => v.some((x) => Math.abs(x) > 1e-3));

const KINDS = ['float32', 'int8', 'binary'] as const;

describe('MemoryIndex', () => {
  it.each(KINDS)(
    '%s: with k covering every row, returns exactly the float-exact ranking, after inserts, replacements and removals',
    (kind) => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 70 }).chain((d) =>
            fc.record({
              d: fc.constant(d),
              vectors: fc.array(vector(d), { minLength: 1, maxLength: 60 }),
              replaced: fc.array(vector(d), { maxLength: 5 }),
              removed: fc.array(fc.nat(80), { maxLength: 20 }),
              query: vector(d),
            }),
          ),
          ({ d, vectors, replaced, removed, query }) => {
            const rows = new Map<number, Float32Array>();
            const index = new MemoryIndex({ kind, dimensions: d, source: source(rows) });
            const added: StoredVector[] = vectors.map((v, i) => {
              rows.set(i + 1, v);
              return [i + 1, Buffer.from(v.buffer)] as const;
            });
            index.insert(added);
            // Replace some rows' vectors (a chunk id reused by a new save).
            const again: StoredVector[] = replaced.map((v, i) => {
              const id = (i % vectors.length) + 1;
              rows.set(id, v);
              return [id, Buffer.from(v.buffer)] as const;
            });
            index.insert(again);
            index.remove(removed);
            for (const id of removed) rows.delete(id);
            expect(index.size).toBe(rows.size);
            const got = index.candidates(query, rows.size + 1);
            const want = exactRanking(rows, query);
            expect(got.map(([, dist]) => dist)).toHaveLength(want.length);
            for (let i = 0; i < want.length; i++) {
              expect(got[i]![1]).toBeCloseTo(want[i]![1], 4);
              // The same id, or one tied with it in exact distance.
              if (got[i]![0] !== want[i]![0]) {
                const [gid] = got[i]!;
                const tied = want.find(([id]) => id === gid)!;
                expect(tied[1]).toBeCloseTo(want[i]![1], 6);
              }
            }
            // Filtered: only the chosen ids, still exact.
            const among = [...rows.keys()].filter((id) => id % 2 === 0);
            const some = index.candidates(query, among.length + 1, among);
            const wantSome = want.filter(([id]) => id % 2 === 0);
            expect(some.map(([id]) => id).sort((a, b) => a - b)).toEqual(
              wantSome.map(([id]) => id).sort((a, b) => a - b),
            );
            for (let i = 0; i < wantSome.length; i++)
              expect(some[i]![1]).toBeCloseTo(wantSome[i]![1], 4);
            // Filtered by a check of batches of ids: the same rows, each id checked once.
            const checked: number[] = [];
            const keep = (ids: readonly number[]) => {
              checked.push(...ids);
              return new Set(ids.filter((id) => id % 2 === 0));
            };
            const where = index.candidatesWhere(query, among.length + 1, keep)!;
            expect(where.map(([id]) => id).sort((a, b) => a - b)).toEqual(
              wantSome.map(([id]) => id).sort((a, b) => a - b),
            );
            for (let i = 0; i < wantSome.length; i++)
              expect(where[i]![1]).toBeCloseTo(wantSome[i]![1], 4);
            expect(new Set(checked).size).toBe(checked.length);
          },
        ),
        { numRuns: 60 },
      );
    },
  );

  it.each(KINDS)(
    '%s: update (remove and add in one pass, reusing freed slots) holds exactly what a fresh load of the same rows holds',
    (kind) => {
      const d = 7;
      fc.assert(
        fc.property(
          fc.array(vector(d), { minLength: 1, maxLength: 40 }),
          fc.array(
            fc.record({
              removed: fc.array(fc.nat(90), { maxLength: 25 }),
              added: fc.array(fc.tuple(fc.nat(90), vector(d)), { maxLength: 25 }),
            }),
            { minLength: 1, maxLength: 5 },
          ),
          vector(d),
          (initial, steps, query) => {
            const rows = new Map<number, Float32Array>();
            for (const [i, v] of initial.entries()) rows.set(i + 1, v);
            const index = new MemoryIndex({ kind, dimensions: d, source: source(rows) });
            index.insertBatch(packRows(stored(rows), d));
            for (const { removed, added } of steps) {
              // Net per id, as the change log gives them: an id is removed or (re)written.
              const adds = new Map(added);
              const gone = removed.filter((id) => !adds.has(id));
              index.update(gone, packRows(stored(adds), d));
              for (const id of gone) rows.delete(id);
              for (const [id, v] of adds) rows.set(id, v);
              expect(index.size).toBe(rows.size);
            }
            const fresh = new MemoryIndex({ kind, dimensions: d, source: source(rows) });
            if (rows.size > 0) fresh.insertBatch(packRows(stored(rows), d));
            const byId = (c: readonly (readonly [number, number])[]) =>
              [...c].sort((a, b) => a[0] - b[0]);
            expect(byId(index.candidates(query, rows.size + 1))).toEqual(
              byId(fresh.candidates(query, rows.size + 1)),
            );
            const among = [...rows.keys()].filter((id) => id % 3 === 0);
            expect(byId(index.candidates(query, rows.size + 1, among))).toEqual(
              byId(fresh.candidates(query, rows.size + 1, among)),
            );
          },
        ),
        { numRuns: 80 },
      );
    },
  );

  it('float32 top-k agrees with the exact ranking for small k (no rescoring involved)', () => {
    const rows = new Map<number, Float32Array>();
    const d = 37;
    let x = 7;
    const next = () => {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
      return x / 2 ** 31 - 1;
    };
    for (let id = 1; id <= 500; id++) rows.set(id, Float32Array.from({ length: d }, next));
    const index = new MemoryIndex({ kind: 'float32', dimensions: d, source: source(rows) });
    for (const batch of source(rows).all()) index.insertBatch(batch);
    const q = Float32Array.from({ length: d }, next);
    const want = exactRanking(rows, q).slice(0, 10);
    const got = index.candidates(q, 10);
    expect(got.map(([id]) => id)).toEqual(want.map(([id]) => id));
  });

  it('reports its bytes and grows past its first capacity, keeping every row', () => {
    const rows = new Map<number, Float32Array>();
    for (let id = 1; id <= 5000; id++)
      rows.set(
        id,
        Float32Array.from({ length: 8 }, (_, j) => Math.sin(id * (j + 1))),
      );
    const index = new MemoryIndex({ kind: 'int8', dimensions: 8, source: source(rows) });
    index.insert(stored(rows).slice(0, 10));
    const small = index.bytes();
    index.insert(stored(rows));
    expect(index.size).toBe(5000);
    expect(index.bytes()).toBeGreaterThan(small);
    expect(index.bytesFor(5000)).toBeGreaterThan(5000 * 16);
    const q = rows.get(4321)!;
    expect(index.candidates(q, 5)[0]![0]).toBe(4321);
    index.drop();
    throwsWith(() => index.candidates(q, 1), Error, /dropped/);
  });
});

describe('MemoryIndex.candidatesWhere', () => {
  const D = 8;
  const vec = (i: number) => Float32Array.from({ length: D }, (_, j) => Math.sin(i * 0.7 + j));
  const rows = new Map<number, Float32Array>();
  for (let i = 1; i <= 3000; i++) rows.set(i, vec(i));
  const q = vec(12345);

  it.each(KINDS)(
    '%s: checks rows in score order, a window at a time, until k pass: the exact filtered top k',
    (kind) => {
      const index = new MemoryIndex({ kind, dimensions: D, source: source(rows) });
      index.insert(stored(rows));
      let calls = 0;
      let checked = 0;
      const tenth = (ids: readonly number[]) => {
        calls++;
        checked += ids.length;
        return new Set(ids.filter((id) => id % 10 === 3));
      };
      // Binary codes misorder rows: give them enough margin to be exact.
      const k = 10;
      const got = index.candidatesWhere(q, k, tenth)!;
      const want = exactRanking(rows, q)
        .filter(([id]) => id % 10 === 3)
        .slice(0, k);
      if (kind !== 'binary') expect(got.map(([id]) => id)).toEqual(want.map(([id]) => id));
      expect(got).toHaveLength(k);
      expect(got.every(([id]) => id % 10 === 3)).toBe(true);
      // Far fewer rows checked than held, in few batches.
      expect(checked).toBeLessThan(1500);
      expect(calls).toBeLessThanOrEqual(4);
    },
  );

  it('gives up (null) when too few rows pass to find them within the budget', () => {
    const index = new MemoryIndex({ kind: 'float32', dimensions: D, source: source(rows) });
    index.insert(stored(rows));
    let checked = 0;
    const rare = (ids: readonly number[]) => {
      checked += ids.length;
      return new Set(ids.filter((id) => id % 1000 === 7));
    };
    expect(index.candidatesWhere(q, 10, rare, 500)).toBeNull();
    expect(checked).toBeLessThanOrEqual(500);
    // Without a budget it finds all three.
    expect(
      index
        .candidatesWhere(q, 10, rare)!
        .map(([id]) => id)
        .sort((a, b) => a - b),
    ).toEqual([7, 1007, 2007]);
  });
});

describe('MemoryIndex maxRows', () => {
  it('refuses to grow past maxRows with a RangeError, keeping what it holds', () => {
    const rows = new Map<number, Float32Array>();
    for (let id = 1; id <= 12; id++)
      rows.set(
        id,
        Float32Array.from({ length: 4 }, (_, j) => id + j),
      );
    const index = new MemoryIndex({
      kind: 'float32',
      dimensions: 4,
      source: source(rows),
      maxRows: 10,
    });
    index.insert(stored(rows).slice(0, 10));
    expect(() => index.insert(stored(rows).slice(10))).toThrow(RangeError);
    expect(index.size).toBe(10);
    index.remove([1]);
    index.insert(stored(rows).slice(10, 11)); // room again
    expect(index.size).toBe(10);
  });
});

describe('topKOf', () => {
  it('returns the k best positions, best first, for any scores, factors, slots and sign', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -50, max: 50 })),
        fc.nat(30),
        fc.boolean(),
        fc.constantFrom(1, -1),
        (raw, k, weighted, sign) => {
          const scores = Int32Array.from(raw);
          // Slots are the positions reversed; each slot has its own factor.
          const slots = Int32Array.from(raw, (_, i) => raw.length - 1 - i);
          const factors = Float32Array.from(raw, (_, i) => 0.5 + (i % 3));
          const value = (i: number) => raw[i]! * sign * (weighted ? factors[slots[i]!]! : 1);
          const got = weighted
            ? topKOf(scores, k, factors, slots, sign)
            : topKOf(scores, k, null, null, sign);
          const want = raw
            .map((_, i) => [value(i), i] as const)
            .sort((a, b) => b[0] - a[0] || a[1] - b[1])
            .slice(0, k);
          expect(got).toEqual(want.map(([, i]) => i));
        },
      ),
    );
  });
});
