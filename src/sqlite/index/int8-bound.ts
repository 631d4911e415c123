import { queryRange } from './codes.js';
import type { Scan } from './scan-result.js';

/** How far an int8 scan's scores can be from the exact cosines, for one query (`int8Error`). */
export interface Int8Error {
  /** A row's kernel score (an i32 dot product) × its factor, times this, approximates its cosine. */
  toCosine: number;
  /** That approximation differs from the exact cosine by at most `perFactor × factor + fixed`. */
  perFactor: number;
  fixed: number;
}

/**
 * The error bound of int8 scores against `query` (null for a zero query).
 * A row v is held as codes c = round(v × s), s = 127 / max|v|, so each
 * component is off by e_j = c_j / s − v_j, |e_j| ≤ 0.5 / s; the query x as
 * q = round(x × t), t = range / max|x|, off by at most 0.5 / t. The kernel's
 * c · q = s t (v + e) · (x + e'), so, divided by s t |v| |x| (what
 * `toCosine` and the row's factor 1 / (s |v|) do), the approximate cosine
 * is the exact one plus (e · x + v · e' + e · e') / (|v| |x|), bounded by
 *   |e · x|  ≤ 0.5 / s × |x|₁            → 0.5 × factor × |x|₁ / |x|
 *   |v · e'| ≤ |v|₁ × 0.5 / t ≤ √d |v| × 0.5 / t → 0.5 √d × max|x| / (|x| range)
 *   |e · e'| ≤ d × 0.25 / (s t)          → 0.25 d × factor × max|x| / (|x| range)
 * plus a margin for the float32 rounding of the stored factor (relative
 * 2⁻²⁴) and double arithmetic. Exact integer arithmetic in the kernel
 * (`QUERY_RANGE` keeps its sums within i32) makes this a proof, not an
 * estimate: it holds for every row and query.
 */
export function int8Error(query: Float32Array, stride: number): Int8Error | null {
  const d = query.length;
  let nn = 0;
  let l1 = 0;
  let max = 0;
  for (let j = 0; j < d; j++) {
    const x = query[j]!;
    nn += x * x;
    const a = x < 0 ? -x : x;
    l1 += a;
    if (a > max) max = a;
  }
  if (!(max > 0)) return null;
  const norm = Math.sqrt(nn);
  const range = queryRange(stride);
  const scale = range / max;
  const mu = max / norm;
  return {
    toCosine: 1 / (scale * norm),
    perFactor: 0.5 * (l1 / norm) + (0.25 * d * mu) / range,
    fixed: (0.5 * Math.sqrt(d) * mu) / range + 1e-6,
  };
}

/**
 * The rows of `order` (positions, best first by int8 score) that can be
 * among the `k` best by exact cosine, by the codes' error bound (each row's
 * exact cosine is within E = perFactor × factor + fixed of its approximate
 * one). The k rows of `order` with the largest lower bounds (approximate −
 * E) are all kept, so the k-th best exact cosine read back is at least the
 * k-th largest lower bound L; a row whose upper bound (approximate + E) is
 * below L cannot beat it and is left out. `beyond`, when rows that may be
 * returned lie outside `order` (it is then a prefix of them in score
 * order), is the upper bound of any of them (the last row's approximate
 * cosine plus E with the largest factor held); when it reaches L, all of
 * `order` is kept, as without the bound. The rows left out are provably
 * outside the top k: rescoring the rest gives the same k as rescoring all.
 */
export function neededRows(
  order: readonly number[],
  k: number,
  row: (at: number) => { approx: number; error: number },
  beyond: number | null,
): readonly number[] {
  const m = order.length;
  if (m <= k) return order;
  const lower = new Float64Array(m);
  const upper = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    const { approx, error } = row(order[i]!);
    lower[i] = approx - error;
    upper[i] = approx + error;
  }
  const floor = Float64Array.from(lower).sort()[m - k]!;
  if (beyond !== null && beyond >= floor) return order;
  return order.filter((_, i) => upper[i]! >= floor);
}

/**
 * The rows of `order` (positions of `scan`, best first by int8 score)
 * worth reading back for the `k` best (`neededRows`, with each row's
 * factor from `factors` by slot and `maxFactor` at least every factor
 * held); all of them for a zero query. `complete`: `order` holds every row
 * that may be returned.
 */
export function int8Needed(
  query: Float32Array,
  stride: number,
  scan: Scan,
  factors: Float32Array,
  maxFactor: number,
  order: readonly number[],
  k: number,
  complete: boolean,
): readonly number[] {
  const err = order.length > k ? int8Error(query, stride) : null;
  if (!err) return order;
  const approx = (at: number) => scan.dot(at) * factors[scan.slotAt(at)]! * err.toCosine;
  const row = (at: number) => ({
    approx: approx(at),
    error: err.perFactor * factors[scan.slotAt(at)]! + err.fixed,
  });
  const beyond = complete
    ? null
    : approx(order[order.length - 1]!) + err.perFactor * maxFactor + err.fixed;
  return neededRows(order, k, row, beyond);
}
