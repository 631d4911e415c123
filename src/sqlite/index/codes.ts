import { quantize } from '../quantize.js';
import type { ScanKernels } from '../simd/kernels.js';
import type { ScanKind } from './generation-index.js';

/** The int16 query of the int8 kernel spans this range (±), within i32 sums up to 4096-d rows. */
const QUERY_RANGE = 32767;

/** Views of one kernel memory. */
export interface MemoryViews {
  f32: Float32Array;
  i8: Int8Array;
  u8: Uint8Array;
}

/**
 * Writes one row's code at byte `at`, zero-padded to `stride` elements
 * (floats for float32, bytes otherwise), from `src[from, from + d)`:
 * float32 the unit vector; int8 the unit vector scaled so its largest
 * component is ±127; binary the sign bits around `center`. Returns the
 * int8 row's factor (1 / its scale, so a dot product × factor ranks by
 * cosine), else 0.
 */
export function encodeRow(
  kind: Exclude<ScanKind, 'sqlite-vec'>,
  m: MemoryViews,
  at: number,
  stride: number,
  src: Float32Array,
  from: number,
  d: number,
  center: Float32Array | undefined,
): number {
  if (kind === 'binary') {
    // quantize('binary', …)'s bits, a byte at a time with no branch on the
    // data (a branch per component, mispredicted half the time on signs,
    // cost 4× as much: 240 against 55 ms for 100k × 384 rows).
    m.u8.fill(0, at, at + stride);
    for (let j = 0; j < d; j += 8) {
      let byte = 0;
      const e = Math.min(8, d - j);
      if (center)
        for (let k = 0; k < e; k++) byte |= Number(src[from + j + k]! > center[j + k]!) << k;
      else for (let k = 0; k < e; k++) byte |= Number(src[from + j + k]! > 0) << k;
      m.u8[at + (j >> 3)] = byte;
    }
    return 0;
  }
  // Tight loops without a data-dependent branch per component (a branch
  // on the sign, or Math.round, made encoding 1,000 rows × 384 cost 3.5 ms
  // (float32) and 6.7 ms (int8) instead of about 0.6 and 0.8).
  let nn = 0;
  if (kind === 'float32') {
    for (let j = 0; j < d; j++) {
      const x = src[from + j]!;
      nn += x * x;
    }
    const o = at >> 2;
    const inv = 1 / (Math.sqrt(nn) || 1);
    for (let j = 0; j < d; j++) m.f32[o + j] = src[from + j]! * inv;
    m.f32.fill(0, o + d, o + stride);
    return 0;
  }
  let max = 0;
  for (let j = 0; j < d; j++) {
    const x = src[from + j]!;
    nn += x * x;
    const a = Math.abs(x);
    max = Math.max(a, max);
  }
  const norm = Math.sqrt(nn) || 1;
  const scale = max > 0 ? 127 / max : 0;
  for (let j = 0; j < d; j++) m.i8[at + j] = roundHalfUp(src[from + j]! * scale);
  m.i8.fill(0, at + d, at + stride);
  return max > 0 ? max / norm / 127 : 0;
}

/** Where `encodeRows` writes: one index's memory and layout. */
export interface RowTarget {
  kind: Exclude<ScanKind, 'sqlite-vec'>;
  kernels: ScanKernels;
  buffer: SharedArrayBuffer;
  /** Byte offset of slot 0's row. */
  rowsAt: number;
  /** Elements a row: floats for float32, bytes otherwise. */
  stride: number;
  dimensions: number;
  center: Float32Array | undefined;
  /** int8: each slot's factor. */
  factors: Float32Array;
  /**
   * Bytes of the memory free for staging rows (`scratchAt`, 4-aligned;
   * `scratchBytes` long): an index's scores and slot lists between scans.
   */
  scratchAt: number;
  scratchBytes: number;
}

/**
 * Encodes the packed rows `vectors` (`dimensions` floats each) into the
 * slots `slots[i]`, in order. float32 and int8 rows going to consecutive
 * slots (a load appends every row) are copied into the scratch space as
 * many at a time as fit and encoded there by the kernels (the same bytes;
 * with WebAssembly SIMD, 100k × 384 rows cost about 100 ms of CPU as int8
 * and 40 ms as float32, against 170 and 110 ms here); other rows, and
 * binary rows, one by one with `encodeRow`.
 */
export function encodeRows(t: RowTarget, vectors: Float32Array, slots: Int32Array): void {
  const { kind, dimensions: d, buffer } = t;
  const rowBytes = kind === 'float32' ? t.stride * 4 : t.stride;
  const n = slots.length;
  const per = kind === 'binary' ? 0 : Math.floor(t.scratchBytes / (d * 4 + 4));
  const views = {
    f32: new Float32Array(buffer),
    i8: new Int8Array(buffer),
    u8: new Uint8Array(buffer),
  };
  for (let i = 0; i < n; ) {
    let j = i + 1;
    if (per === 0) {
      const f = encodeRow(
        kind,
        views,
        t.rowsAt + slots[i]! * rowBytes,
        t.stride,
        vectors,
        i * d,
        d,
        t.center,
      );
      if (kind === 'int8') t.factors[slots[i]!] = f;
      i = j;
      continue;
    }
    while (j < n && j - i < per && slots[j] === slots[j - 1]! + 1) j++;
    const m = j - i;
    const bytes = new Uint8Array(vectors.buffer, vectors.byteOffset + i * d * 4, m * d * 4);
    views.u8.set(bytes, t.scratchAt);
    const dst = t.rowsAt + slots[i]! * rowBytes;
    if (kind === 'float32') t.kernels.f32Encode(t.scratchAt, m, d, dst, t.stride);
    else {
      const factorsAt = t.scratchAt + m * d * 4;
      t.kernels.i8Encode(t.scratchAt, m, d, dst, t.stride, factorsAt);
      t.factors.set(views.f32.subarray(factorsAt >> 2, (factorsAt >> 2) + m), slots[i]!);
    }
    i = j;
  }
}

/** The largest double below 0.5: the one value whose `floor(y + 0.5)` is not `Math.round(y)`. */
const BELOW_HALF = 0.49999999999999994;

/**
 * `Math.round(y)` (halves up), as `floor(y + 0.5)`, which V8 compiles to a
 * few instructions where `Math.round` costs ~10 ns. The sum is exact for
 * every double but one: a `y` with `|y| ≥ 0.5` keeps 0.5 a multiple of its
 * unit in the last place (and crossing into the next binade cannot reach
 * the next integer); a `y` in (−0.5, 0.5) floors to 0 or −0 either way,
 * except `BELOW_HALF`, whose sum rounds up to 1. (−0 and 0 are both 0 in
 * an Int8Array.)
 */
export function roundHalfUp(y: number): number {
  return y === BELOW_HALF ? 0 : Math.floor(y + 0.5);
}

/**
 * Writes the query at byte `at` in the kernel's form for `kind` (`stride`
 * elements: f32, int16 scaled to the widest range whose sums stay within
 * i32, or the binary code around `center`); returns its norm.
 */
export function writeQuery(
  kind: Exclude<ScanKind, 'sqlite-vec'>,
  buf: SharedArrayBuffer,
  at: number,
  stride: number,
  query: Float32Array,
  center: Float32Array | undefined,
): number {
  const d = query.length;
  let nn = 0;
  let max = 0;
  for (let j = 0; j < d; j++) {
    nn += query[j]! * query[j]!;
    max = Math.max(max, Math.abs(query[j]!));
  }
  if (kind === 'float32') {
    const q = new Float32Array(buf, at, stride);
    q.set(query);
    q.fill(0, d);
  } else if (kind === 'int8') {
    const q = new Int16Array(buf, at, stride);
    const scale = max > 0 ? queryRange(stride) / max : 0;
    for (let j = 0; j < d; j++) q[j] = Math.round(query[j]! * scale);
    q.fill(0, d);
  } else {
    const q = new Uint8Array(buf, at, stride);
    q.fill(0);
    q.set(quantize('binary', query, center));
  }
  return Math.sqrt(nn);
}

/** The int16 range (±) of the int8 kernel's query for rows of `stride` bytes. */
export function queryRange(stride: number): number {
  return Math.min(QUERY_RANGE, Math.floor(2 ** 31 / (127 * stride)) - 1);
}
