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
  const nn = sumOfSquares(src, from, d);
  if (kind === 'float32') {
    const o = at >> 2;
    const inv = 1 / (Math.sqrt(nn) || 1);
    for (let j = 0; j < d; j++) m.f32[o + j] = src[from + j]! * inv;
    m.f32.fill(0, o + d, o + stride);
    return 0;
  }
  let max = 0;
  for (let j = 0; j < d; j++) max = Math.max(Math.abs(src[from + j]!), max);
  const norm = Math.sqrt(nn) || 1;
  const scale = max > 0 ? 127 / max : 0;
  for (let j = 0; j < d; j++) m.i8[at + j] = roundHalfUp(src[from + j]! * scale);
  m.i8.fill(0, at + d, at + stride);
  return max > 0 ? max / norm / 127 : 0;
}

/**
 * The sum of squares of `src[from, from + d)` in f64, in four running sums
 * (component j into sum j mod 4, each in order), added as (s0 + s1) +
 * (s2 + s3): the order the SIMD kernels add in, so both encode a row to
 * the same bits. (Squares of f32 values are exact in f64; only the order
 * of the additions can change the result.)
 */
export function sumOfSquares(src: Float32Array, from: number, d: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let j = 0;
  for (; j + 4 <= d; j += 4) {
    const a = src[from + j]!;
    const b = src[from + j + 1]!;
    const c = src[from + j + 2]!;
    const e = src[from + j + 3]!;
    s0 += a * a;
    s1 += b * b;
    s2 += c * c;
    s3 += e * e;
  }
  if (j < d) s0 += src[from + j]! ** 2;
  if (j + 1 < d) s1 += src[from + j + 1]! ** 2;
  if (j + 2 < d) s2 += src[from + j + 2]! ** 2;
  return s0 + s1 + (s2 + s3);
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
 * slots `slots[i]`, in order. float32 and int8 rows are copied into the
 * scratch space as many at a time as fit and encoded there by the kernels
 * (the same bytes; with WebAssembly SIMD, 100k × 384 rows cost about 100 ms
 * of CPU as int8 and 40 ms as float32, against 170 and 110 ms here): rows
 * going to consecutive slots (a load appends every row) straight into
 * place, rows going to scattered slots (another process's changes, which
 * take the slots of removed rows) into the scratch space first and then
 * copied to their slots — one kernel call for 1,000 changed rows instead
 * of 1,000. Binary rows one by one with `encodeRow`.
 */
export function encodeRows(t: RowTarget, vectors: Float32Array, slots: Int32Array): void {
  const { kind, dimensions: d, buffer } = t;
  const rowBytes = kind === 'float32' ? t.stride * 4 : t.stride;
  const n = slots.length;
  // A group's floats, its encoded rows (when scattered) and its factors.
  const per = kind === 'binary' ? 0 : Math.floor(t.scratchBytes / (d * 4 + rowBytes + 4));
  const views = {
    f32: new Float32Array(buffer),
    i8: new Int8Array(buffer),
    u8: new Uint8Array(buffer),
  };
  if (per === 0) {
    for (let i = 0; i < n; i++) {
      const at = t.rowsAt + slots[i]! * rowBytes;
      const f = encodeRow(kind, views, at, t.stride, vectors, i * d, d, t.center);
      if (kind === 'int8') t.factors[slots[i]!] = f;
    }
    return;
  }
  for (let i = 0; i < n; i += per) {
    const m = Math.min(per, n - i);
    let consecutive = true;
    for (let k = i + 1; k < i + m && consecutive; k++) consecutive = slots[k] === slots[k - 1]! + 1;
    views.u8.set(
      new Uint8Array(vectors.buffer, vectors.byteOffset + i * d * 4, m * d * 4),
      t.scratchAt,
    );
    const staged = t.scratchAt + m * d * 4;
    const dst = consecutive ? t.rowsAt + slots[i]! * rowBytes : staged;
    const factorsAt = staged + m * rowBytes;
    if (kind === 'float32') t.kernels.f32Encode(t.scratchAt, m, d, dst, t.stride);
    else t.kernels.i8Encode(t.scratchAt, m, d, dst, t.stride, factorsAt);
    if (!consecutive)
      for (let k = 0; k < m; k++) {
        const from = staged + k * rowBytes;
        views.u8.copyWithin(t.rowsAt + slots[i + k]! * rowBytes, from, from + rowBytes);
      }
    if (kind === 'int8')
      for (let k = 0; k < m; k++) t.factors[slots[i + k]!] = views.f32[(factorsAt >> 2) + k]!;
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
