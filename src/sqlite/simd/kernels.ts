/**
 * The scan kernels: score every row of a generation (or a chosen set of
 * rows) against a query, in one WebAssembly memory. Two implementations
 * compute exactly the same numbers: WebAssembly SIMD128 (`kernels.wat`),
 * and a scalar JavaScript fallback for a runtime without WebAssembly SIMD
 * (or `VECFILL_SCAN_KERNELS=scalar`). A property test holds them equal,
 * bit for bit, over random dimensions.
 *
 * Layout (byte offsets into the memory): rows at a fixed stride, padded
 * with zeros. f32 rows: `stride` floats, a multiple of 4; int8 and binary
 * rows: `stride` bytes, a multiple of 16. The int8 query is int16, `stride`
 * elements. Scores are 4 bytes a row: f32 dot products, i32 dot products,
 * i32 Hamming distances.
 */
import { encodeRow } from '../index/codes.js';
import { KERNELS_WASM_BASE64 } from './kernels-wasm.js';
import { type WasmMemory, type WasmModule, wasm } from './wasm-api.js';

/** Pages of 64 KiB a kernel memory may grow to: the whole 32-bit address space. */
export const MAX_PAGES = 65536;

export interface ScanKernels {
  /** True for the WebAssembly SIMD kernels, false for the scalar fallback. */
  readonly simd: boolean;
  /** out[i] = row(i) · q for rows [from, to). */
  f32Range(q: number, base: number, stride: number, from: number, to: number, out: number): void;
  i8Range(q: number, base: number, stride: number, from: number, to: number, out: number): void;
  binRange(q: number, base: number, stride: number, from: number, to: number, out: number): void;
  /** out[j] = row(slots[j]) · q for the `m` i32 slot numbers at `slots`. */
  f32Slots(q: number, base: number, stride: number, slots: number, m: number, out: number): void;
  i8Slots(q: number, base: number, stride: number, slots: number, m: number, out: number): void;
  binSlots(q: number, base: number, stride: number, slots: number, m: number, out: number): void;
  /**
   * Encodes `n` packed float32 rows of `d` components at `src` as float32
   * index rows (unit vectors, `stride` floats each) from `dst` on: what
   * `encodeRow('float32', …)` writes, bit for bit.
   */
  f32Encode(src: number, n: number, d: number, dst: number, stride: number): void;
  /** The same as int8 rows (`stride` bytes each), each row's factor an f32 at `factors`. */
  i8Encode(src: number, n: number, d: number, dst: number, stride: number, factors: number): void;
}

type Kernel = (q: number, base: number, stride: number, a: number, b: number, out: number) => void;
type Encoder = (src: number, n: number, d: number, dst: number, stride: number, f?: number) => void;

let compiled: WasmModule | null | undefined;

/** The compiled kernel module, or null where this runtime cannot run WebAssembly SIMD. */
export function kernelModule(): WasmModule | null {
  if (compiled === undefined) {
    const bytes = Buffer.from(KERNELS_WASM_BASE64, 'base64');
    compiled = wasm.validate(bytes) ? new wasm.Module(bytes) : null;
  }
  return compiled;
}

/**
 * A memory the kernels can scan, shared so worker threads can scan it too.
 * A shared memory reserves address space for its whole `maximum` up front,
 * so ask for what the data needs, not the 4 GiB limit.
 */
export function kernelMemory(pages: number, maximum = MAX_PAGES): WasmMemory {
  return new wasm.Memory({ initial: pages, maximum: Math.min(maximum, MAX_PAGES), shared: true });
}

/**
 * The kernels over `memory`: SIMD when the runtime runs it (Node 20 does on
 * every platform it supports), else the scalar fallback.
 */
export function kernelsFor(memory: WasmMemory): ScanKernels {
  const module = process.env.VECFILL_SCAN_KERNELS === 'scalar' ? null : kernelModule();
  return module ? wasmKernels(memory, module) : scalarKernels(memory);
}

/** The WebAssembly SIMD128 kernels over `memory`. */
export function wasmKernels(
  memory: WasmMemory,
  module: WasmModule | null = kernelModule(),
): ScanKernels {
  if (!module) throw new Error('this runtime cannot run WebAssembly SIMD');
  const e = new wasm.Instance(module, { env: { memory } }).exports as Record<
    string,
    Kernel & Encoder
  >;
  return {
    simd: true,
    f32Range: e.f32_range!,
    i8Range: e.i8_range!,
    binRange: e.bin_range!,
    f32Slots: e.f32_slots!,
    i8Slots: e.i8_slots!,
    binSlots: e.bin_slots!,
    f32Encode: e.f32_encode!,
    i8Encode: e.i8_encode!,
  };
}

/** The scalar JavaScript kernels over `memory`: the same results as the SIMD ones. */
export function scalarKernels(memory: WasmMemory): ScanKernels {
  // Views are taken per call: the memory may have grown since.
  const f32 = () => new Float32Array(memory.buffer);
  const i8 = () => new Int8Array(memory.buffer);
  const i16 = () => new Int16Array(memory.buffer);
  const u8 = () => new Uint8Array(memory.buffer);
  const i32 = () => new Int32Array(memory.buffer);
  const range =
    (
      row: (q: number, r: number, stride: number) => number,
      rowBytes: (s: number) => number,
      float: boolean,
    ) =>
    (q: number, base: number, stride: number, from: number, to: number, out: number) => {
      const o = float ? f32() : i32();
      for (let i = from; i < to; i++)
        o[(out >> 2) + i] = row(q, base + i * rowBytes(stride), stride);
    };
  const slots =
    (
      row: (q: number, r: number, stride: number) => number,
      rowBytes: (s: number) => number,
      float: boolean,
    ) =>
    (q: number, base: number, stride: number, at: number, m: number, out: number) => {
      const o = float ? f32() : i32();
      const s = i32();
      for (let j = 0; j < m; j++)
        o[(out >> 2) + j] = row(q, base + s[(at >> 2) + j]! * rowBytes(stride), stride);
    };
  const f32Row = (q: number, r: number, stride: number): number => {
    const m = f32();
    const fr = Math.fround;
    const a = new Float64Array(16); // four 4-lane accumulators, each value an f32
    let x = r >> 2;
    let y = q >> 2;
    const end = x + stride;
    for (; x + 16 <= end; x += 16, y += 16)
      for (let k = 0; k < 16; k++) a[k] = fr(a[k]! + fr(m[x + k]! * m[y + k]!));
    for (; x < end; x += 4, y += 4)
      for (let k = 0; k < 4; k++) a[k] = fr(a[k]! + fr(m[x + k]! * m[y + k]!));
    const l = (k: number) => fr(fr(a[k]! + a[4 + k]!) + fr(a[8 + k]! + a[12 + k]!));
    return fr(fr(l(0) + l(1)) + fr(l(2) + l(3)));
  };
  const i8Row = (q: number, r: number, stride: number): number => {
    const v = i8();
    const w = i16();
    let sum = 0;
    for (let j = 0; j < stride; j++) sum += v[r + j]! * w[(q >> 1) + j]!;
    return sum | 0;
  };
  const binRow = (q: number, r: number, stride: number): number => {
    const b = u8();
    let sum = 0;
    for (let j = 0; j < stride; j++) sum += POPCOUNT[b[r + j]! ^ b[q + j]!]!;
    return sum;
  };
  const floats = (s: number) => s * 4;
  const bytes = (s: number) => s;
  const encode =
    (kind: 'float32' | 'int8', rowBytes: (s: number) => number) =>
    (src: number, n: number, d: number, dst: number, stride: number, factors = 0) => {
      const buf = memory.buffer;
      const views = { f32: new Float32Array(buf), i8: new Int8Array(buf), u8: new Uint8Array(buf) };
      const from = new Float32Array(buf, src, n * d);
      for (let i = 0; i < n; i++) {
        const f = encodeRow(
          kind,
          views,
          dst + i * rowBytes(stride),
          stride,
          from,
          i * d,
          d,
          undefined,
        );
        if (kind === 'int8') views.f32[(factors >> 2) + i] = f;
      }
    };
  return {
    simd: false,
    f32Range: range(f32Row, floats, true),
    i8Range: range(i8Row, bytes, false),
    binRange: range(binRow, bytes, false),
    f32Slots: slots(f32Row, floats, true),
    i8Slots: slots(i8Row, bytes, false),
    binSlots: slots(binRow, bytes, false),
    f32Encode: encode('float32', floats),
    i8Encode: encode('int8', bytes),
  };
}

/** Set bits of each byte value. */
const POPCOUNT = Uint8Array.from({ length: 256 }, (_, b) => {
  let n = 0;
  for (let x = b; x; x >>= 1) n += x & 1;
  return n;
});
