import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  encodeRow,
  encodeRows,
  roundHalfUp,
  sumOfSquares,
} from '../../../src/sqlite/index/codes.js';
import { quantize } from '../../../src/sqlite/quantize.js';
import { kernelMemory, scalarKernels, wasmKernels } from '../../../src/sqlite/simd/kernels.js';

/**
 * The int8 code as `Math.round` makes it (the encoding before the fast
 * rounding), its norm summed the way the encoding defines it: component j
 * into running sum j mod 4, then (s0 + s1) + (s2 + s3).
 */
function int8Reference(v: Float32Array): { code: Int8Array; factor: number } {
  const lanes = [0, 0, 0, 0];
  let max = 0;
  v.forEach((x, j) => {
    lanes[j % 4]! += x * x;
    max = Math.max(max, Math.abs(x));
  });
  const nn = lanes[0]! + lanes[1]! + (lanes[2]! + lanes[3]!);
  const scale = max > 0 ? 127 / max : 0;
  const code = Int8Array.from(v, (x) => Math.round(x * scale));
  return { code, factor: max > 0 ? max / (Math.sqrt(nn) || 1) / 127 : 0 };
}

function views(bytes: number) {
  const buf = new ArrayBuffer(bytes);
  return { f32: new Float32Array(buf), i8: new Int8Array(buf), u8: new Uint8Array(buf) };
}

describe('roundHalfUp', () => {
  it('equals Math.round for every double, the halves and the double just below 0.5 included', () => {
    const edges = [
      0.49999999999999994, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 126.5, -126.5, 127, -127, 0, 5e-324,
      -5e-324, 0.25, 0.7499999999999999, 1.9999999999999998, -0.49999999999999994,
    ];
    for (const y of [...edges, ...edges.map((e) => e + Number.EPSILON * e)])
      expect(roundHalfUp(y) + 0, String(y)).toBe(Math.round(y) + 0);
    fc.assert(
      fc.property(fc.double({ min: -128, max: 128, noNaN: true }), (y) => {
        expect(roundHalfUp(y) + 0).toBe(Math.round(y) + 0);
      }),
      { numRuns: 20_000 },
    );
  });
});

describe('encodeRow', () => {
  it('int8: the same code and factor as rounding with Math.round, zero-padded to the stride', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100 }).chain((d) =>
          fc.array(fc.float({ min: -1, max: 1, noNaN: true, noDefaultInfinity: true }), {
            minLength: d,
            maxLength: d,
          }),
        ),
        (xs) => {
          const v = Float32Array.from(xs);
          const d = v.length;
          const stride = Math.ceil(d / 16) * 16;
          const m = views(16 + stride);
          m.i8.fill(99);
          const factor = encodeRow('int8', m, 16, stride, v, 0, d, undefined);
          const ref = int8Reference(v);
          expect([...m.i8.subarray(16, 16 + d)]).toEqual([...ref.code].map((x) => x + 0));
          expect([...m.i8.subarray(16 + d, 16 + stride)].every((x) => x === 0)).toBe(true);
          expect(m.i8[15]).toBe(99);
          expect(factor).toBe(ref.factor);
        },
      ),
    );
  });

  it('binary: the bits quantize() makes, with and without a center, zero-padded to the stride', () => {
    const component = fc.oneof(
      fc.float({ min: -1, max: 1, noNaN: true, noDefaultInfinity: true }),
      fc.constantFrom(0, -0, 0.25),
    );
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 300 })
          .chain((d) =>
            fc.tuple(
              fc.array(component, { minLength: d, maxLength: d }),
              fc.option(fc.array(component, { minLength: d, maxLength: d }), { nil: undefined }),
            ),
          ),
        ([xs, cs]) => {
          const v = Float32Array.from(xs);
          const center = cs && Float32Array.from(cs);
          const d = v.length;
          const stride = Math.ceil(d / 128) * 16;
          const m = views(16 + stride + 16);
          m.u8.fill(0xff);
          expect(encodeRow('binary', m, 16, stride, v, 0, d, center)).toBe(0);
          const ref = quantize('binary', v, center);
          expect([...m.u8.subarray(16, 16 + ref.length)]).toEqual([...ref]);
          expect([...m.u8.subarray(16 + ref.length, 16 + stride)].every((x) => x === 0)).toBe(true);
          expect(m.u8[15]).toBe(0xff);
          expect(m.u8[16 + stride]).toBe(0xff);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('float32: the unit vector, zero-padded to the stride', () => {
    const v = Float32Array.from([3, 0, -4, 0, 0]);
    const m = views(64);
    m.f32.fill(7);
    expect(encodeRow('float32', m, 16, 8, v, 0, 5, undefined)).toBe(0);
    expect([...m.f32.subarray(4, 12)]).toEqual([
      Math.fround(0.6),
      0,
      Math.fround(-0.8),
      0,
      0,
      0,
      0,
      0,
    ]);
    expect(m.f32[3]).toBe(7);
    expect(m.f32[12]).toBe(7);
  });
});

describe('sumOfSquares', () => {
  it('adds component j into running sum j mod 4, then (s0 + s1) + (s2 + s3), for any length', () => {
    const v = Float32Array.from([1e8, 1, -1e8, 1, 3, 0.5, 7]);
    // Lanes: 1e16 + 9, 1 + 0.25, 1e16 + 49, 1; in one running sum the small squares vanish.
    expect(sumOfSquares(v, 0, 7)).toBe(1e16 + 9 + (1 + 0.25) + (1e16 + 49 + 1));
    expect(sumOfSquares(v, 4, 3)).toBe(9 + 0.25 + 49);
    expect(sumOfSquares(v, 1, 0)).toBe(0);
    expect(sumOfSquares(v, 6, 1)).toBe(49);
  });
});

describe('encodeRows', () => {
  const kinds = ['float32', 'int8'] as const;
  const memory = kernelMemory(64);
  const ROWS_AT = 1 << 16;
  const SCRATCH_AT = 1 << 20;
  const VIEWS = {
    f32: new Float32Array(memory.buffer),
    i8: new Int8Array(memory.buffer),
    u8: new Uint8Array(memory.buffer),
  };

  it.each(kinds)(
    '%s: rows bound for scattered slots, runs of slots or both get the bytes and factors encodeRow writes',
    (kind) => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 70 }).chain((d) =>
            fc.record({
              d: fc.constant(d),
              vectors: fc.array(
                fc.array(fc.float({ min: -1, max: 1, noNaN: true, noDefaultInfinity: true }), {
                  minLength: d,
                  maxLength: d,
                }),
                { minLength: 1, maxLength: 20 },
              ),
              slots: fc.uniqueArray(fc.nat(39), { minLength: 20, maxLength: 20 }),
              run: fc.boolean(),
              perGroup: fc.integer({ min: 1, max: 6 }),
              simd: fc.boolean(),
            }),
          ),
          ({ d, vectors, slots, run, perGroup, simd }) => {
            const n = vectors.length;
            const stride = kind === 'float32' ? Math.ceil(d / 4) * 4 : Math.ceil(d / 16) * 16;
            const rowBytes = kind === 'float32' ? stride * 4 : stride;
            // A run of consecutive slots (a load), or scattered ones (a catch-up).
            const to = Int32Array.from(run ? slots.map((_, i) => 5 + i) : slots).subarray(0, n);
            const src = Float32Array.from(vectors.flat());
            VIEWS.u8.fill(0xa5, ROWS_AT, ROWS_AT + 40 * rowBytes);
            const factors = new Float32Array(40).fill(-1);
            encodeRows(
              {
                kind,
                kernels: simd ? wasmKernels(memory) : scalarKernels(memory),
                buffer: memory.buffer,
                rowsAt: ROWS_AT,
                stride,
                dimensions: d,
                center: undefined,
                factors,
                scratchAt: SCRATCH_AT,
                // Room for perGroup rows a kernel call: several groups.
                scratchBytes: perGroup * (d * 4 + rowBytes + 4),
              },
              src,
              to,
            );
            const want = views(rowBytes);
            const written = new Set(to);
            for (let slot = 0; slot < 40; slot++) {
              const got = [
                ...VIEWS.u8.subarray(ROWS_AT + slot * rowBytes, ROWS_AT + (slot + 1) * rowBytes),
              ];
              const i = to.indexOf(slot);
              if (!written.has(slot)) {
                expect(got.every((b) => b === 0xa5)).toBe(true);
                expect(factors[slot]).toBe(-1);
                continue;
              }
              const f = encodeRow(kind, want, 0, stride, src, i * d, d, undefined);
              expect(got).toEqual([...want.u8]);
              expect(factors[slot]).toBe(kind === 'int8' ? Math.fround(f) : -1);
            }
          },
        ),
        { numRuns: 200 },
      );
    },
  );
});
