import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  kernelMemory,
  type ScanKernels,
  scalarKernels,
  wasmKernels,
} from '../../../src/sqlite/simd/kernels.js';

// One memory, scanned by both implementations: the SIMD kernels must give the
// scalar fallback's numbers exactly (floats bit for bit: same summation order).
const memory = kernelMemory(128);
const simd = wasmKernels(memory);
const scalar = scalarKernels(memory);

const Q = 64; // query at byte 64
const OUT_A = 1 << 20; // scores of the SIMD run
const OUT_B = 1 << 21; // scores of the scalar run
const SLOTS = 3 << 20;
const BASE = 1 << 22;

const dims = fc.integer({ min: 1, max: 700 });
const rows = fc.integer({ min: 1, max: 40 });

function run(
  kind: 'f32' | 'i8' | 'bin',
  k: ScanKernels,
  stride: number,
  n: number,
  out: number,
  slots?: number[],
) {
  if (slots) {
    new Int32Array(memory.buffer, SLOTS, slots.length).set(slots);
    k[`${kind}Slots`](Q, BASE, stride, SLOTS, slots.length, out);
    return slots.length;
  }
  k[`${kind}Range`](Q, BASE, stride, 0, n, out);
  return n;
}

function both(kind: 'f32' | 'i8' | 'bin', stride: number, n: number, slots?: number[]) {
  const m = run(kind, simd, stride, n, OUT_A, slots);
  run(kind, scalar, stride, n, OUT_B, slots);
  const view = (at: number) =>
    Array.from(
      kind === 'f32'
        ? new Float32Array(memory.buffer, at, m)
        : new Int32Array(memory.buffer, at, m),
    );
  return [view(OUT_A), view(OUT_B)] as const;
}

describe('scan kernels: SIMD and scalar fallback agree exactly', () => {
  it('float32 dot products, any dimension (padded to 4)', () => {
    fc.assert(
      fc.property(dims, rows, fc.integer(), (d, n, seed) => {
        const stride = Math.ceil(d / 4) * 4;
        const f = new Float32Array(memory.buffer);
        let x = seed >>> 0;
        const next = () => {
          x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
          return x / 2 ** 31 - 1;
        };
        f.fill(0, Q / 4, Q / 4 + stride);
        for (let j = 0; j < d; j++) f[Q / 4 + j] = next();
        for (let r = 0; r < n; r++)
          for (let j = 0; j < stride; j++) f[BASE / 4 + r * stride + j] = j < d ? next() : 0;
        const [a, b] = both('f32', stride, n);
        expect(a).toEqual(b);
        // And they are dot products (to float32 rounding).
        for (let r = 0; r < n; r++) {
          let dot = 0;
          for (let j = 0; j < d; j++) dot += f[Q / 4 + j]! * f[BASE / 4 + r * stride + j]!;
          expect(a[r]).toBeCloseTo(dot, 3);
        }
        const slots = [n - 1, 0, Math.floor(n / 2)];
        const [c, e] = both('f32', stride, n, slots);
        expect(c).toEqual(e);
        expect(c).toEqual(slots.map((s) => a[s]));
      }),
      { numRuns: 150 },
    );
  });

  it('int8 dot products against an int16 query, any dimension (padded to 16)', () => {
    fc.assert(
      fc.property(dims, rows, fc.integer(), (d, n, seed) => {
        const stride = Math.ceil(d / 16) * 16;
        const q = new Int16Array(memory.buffer, Q, stride);
        const v = new Int8Array(memory.buffer, BASE, n * stride);
        let x = seed >>> 0;
        const next = () => {
          x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
          return (x >>> 24) - 128;
        };
        q.fill(0);
        for (let j = 0; j < d; j++) q[j] = next() * 2 + (next() & 1); // up to ±255: a wide query
        for (let r = 0; r < n; r++)
          for (let j = 0; j < stride; j++) v[r * stride + j] = j < d ? next() : 0;
        const [a, b] = both('i8', stride, n);
        expect(a).toEqual(b);
        for (let r = 0; r < n; r++) {
          let dot = 0;
          for (let j = 0; j < d; j++) dot += q[j]! * v[r * stride + j]!;
          expect(a[r]).toBe(dot);
        }
        const slots = [Math.floor(n / 3), n - 1];
        const [c, e] = both('i8', stride, n, slots);
        expect(c).toEqual(e);
        expect(c).toEqual(slots.map((s) => a[s]));
      }),
      { numRuns: 150 },
    );
  });

  it('binary Hamming distances, any number of bits (padded to 128)', () => {
    fc.assert(
      fc.property(dims, rows, fc.integer(), (d, n, seed) => {
        const stride = Math.ceil(d / 128) * 16;
        const used = Math.ceil(d / 8);
        const q = new Uint8Array(memory.buffer, Q, stride);
        const v = new Uint8Array(memory.buffer, BASE, n * stride);
        let x = seed >>> 0;
        const next = () => {
          x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
          return x >>> 24;
        };
        q.fill(0);
        for (let j = 0; j < used; j++) q[j] = next();
        for (let r = 0; r < n; r++)
          for (let j = 0; j < stride; j++) v[r * stride + j] = j < used ? next() : 0;
        const [a, b] = both('bin', stride, n);
        expect(a).toEqual(b);
        for (let r = 0; r < n; r++) {
          let h = 0;
          for (let j = 0; j < used; j++)
            for (let bits = q[j]! ^ v[r * stride + j]!; bits; bits >>= 1) h += bits & 1;
          expect(a[r]).toBe(h);
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('row encoders: SIMD and scalar fallback (encodeRow) write the same bytes', () => {
  // Components that hit the rounding's edges: with a largest |component| of
  // 127 the int8 scale is exactly 1, so k + 0.5 is a tie (halves go up).
  const component = fc.oneof(
    fc.float({ min: -1, max: 1, noNaN: true, noDefaultInfinity: true }),
    fc.integer({ min: -126, max: 126 }).map((k) => k + 0.5),
    fc.constantFrom(0, -0, 127, -127, 1e-30, -1e-30, 3.4e38, -3.4e38),
  );
  const SRC = 1 << 20;
  const FACTORS = 3 << 20;
  const rowsOf = (d: number) =>
    fc.array(fc.array(component, { minLength: d, maxLength: d }), { minLength: 1, maxLength: 12 });

  function encodeBoth(kind: 'float32' | 'int8', d: number, rows: number[][]) {
    const n = rows.length;
    const stride = kind === 'float32' ? Math.ceil(d / 4) * 4 : Math.ceil(d / 16) * 16;
    const rowBytes = kind === 'float32' ? stride * 4 : stride;
    const out = (k: ScanKernels, at: number) => {
      new Float32Array(memory.buffer, SRC, n * d).set(rows.flat());
      new Uint8Array(memory.buffer, at, n * rowBytes).fill(0xa5); // padding must be written
      new Float32Array(memory.buffer, FACTORS, n).fill(-1);
      if (kind === 'float32') k.f32Encode(SRC, n, d, at, stride);
      else k.i8Encode(SRC, n, d, at, stride, FACTORS);
      return {
        rows: Array.from(new Uint8Array(memory.buffer, at, n * rowBytes)),
        factors: kind === 'int8' ? Array.from(new Float32Array(memory.buffer, FACTORS, n)) : [],
      };
    };
    return [out(simd, BASE), out(scalar, BASE + (2 << 20))] as const;
  }

  for (const kind of ['float32', 'int8'] as const) {
    it(`${kind}: any dimension, ties, zero rows and huge components`, () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 200 }).chain((d) => fc.tuple(fc.constant(d), rowsOf(d))),
          ([d, rows]) => {
            const [a, b] = encodeBoth(kind, d, rows);
            expect(a).toEqual(b);
          },
        ),
        { numRuns: 300 },
      );
    });
  }

  it('int8: the codes are the rounded components (halves up) and the factor max / norm / 127', () => {
    const row = [127, 0.5, -0.5, 2.5, -2.5, 126.5, -126.5, 0.49999999999999994, 0, -1, 3];
    const [a] = encodeBoth('int8', row.length, [row]);
    expect(Array.from(Int8Array.from(a.rows.slice(0, row.length)))).toEqual([
      127, 1, 0, 3, -2, 127, -126, 1, 0, -1, 3,
    ]);
    // The norm's squares summed in four running sums (component j into sum j mod 4).
    const lanes = [0, 0, 0, 0];
    Float32Array.from(row).forEach((x, j) => {
      lanes[j % 4]! += x * x;
    });
    const nn = lanes[0]! + lanes[1]! + (lanes[2]! + lanes[3]!);
    expect(a.factors[0]).toBe(Math.fround(127 / Math.sqrt(nn) / 127));
  });
});

describe('kernels-wasm.ts', () => {
  it('is what kernels.wat assembles to (scripts/build-wasm.mjs --check)', () => {
    const out = execFileSync(process.execPath, ['scripts/build-wasm.mjs', '--check'], {
      encoding: 'utf8',
    });
    expect(out).toMatch(/matches kernels\.wat/);
  });

  it('runs as SIMD on this runtime', () => {
    expect(simd.simd).toBe(true);
    expect(scalar.simd).toBe(false);
  });
});

describe('ScanPool: a scan split across worker threads', () => {
  it('gives exactly the single-thread scores, for every kernel and any row count', async () => {
    const { ScanPool } = await import('../../../src/sqlite/simd/scan-pool.js');
    const pool = new ScanPool(1);
    const big = kernelMemory(200);
    const k = wasmKernels(big);
    const bytes = new Uint8Array(big.buffer);
    let x = 12345;
    for (let i = 0; i < bytes.length; i++) {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
      bytes[i] = x >>> 24;
    }
    // Floats from random bytes may be NaN: keep the f32 area finite.
    const f = new Float32Array(big.buffer, 1 << 20, (4 << 20) / 4);
    for (let i = 0; i < f.length; i++) f[i] = ((i * 7919) % 1000) / 1000 - 0.5;
    for (const [kernel, stride] of [
      ['f32Range', 100],
      ['i8Range', 112],
      ['binRange', 16],
    ] as const) {
      for (const n of [1, 2, 3, 999, 5000]) {
        k[kernel](64, 1 << 20, stride, 0, n, 8 << 20);
        const one = Array.from(new Int32Array(big.buffer, 8 << 20, n));
        new Int32Array(big.buffer, 8 << 20, n).fill(0);
        pool.scan(big, k, kernel, 64, 1 << 20, stride, n, 8 << 20);
        expect(Array.from(new Int32Array(big.buffer, 8 << 20, n))).toEqual(one);
      }
    }
    expect(pool.helpers).toBe(1);
  });
});
