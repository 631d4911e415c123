import { topKOf } from './top-k.js';

/** One scan's scores (see `MemoryIndex.#scan`). */
export interface Scan {
  /** Rows scanned. */
  n: number;
  /** The query's norm. */
  qNorm: number;
  /** float32: the dot product at a position. */
  score(at: number): number;
  /** int8: the kernel's i32 dot product at a position. */
  dot(at: number): number;
  /** The slot at a position. */
  slotAt(at: number): number;
  /** The best `w` positions by score, best first. */
  top(w: number): number[];
}

/**
 * The scores of one scan (`n` rows at byte `scoresAt` of `buf`) as a
 * `Scan`: f32 dot products for float32, i32 dot products (ranked times each
 * row's factor) for int8, i32 Hamming distances (ranked lowest first) for
 * binary. `chosen` maps positions to slots when the scan covered chosen
 * rows only.
 */
export function scanResult(
  kind: 'float32' | 'int8' | 'binary',
  buf: SharedArrayBuffer,
  scoresAt: number,
  n: number,
  qNorm: number,
  factors: Float32Array,
  chosen: Int32Array | null,
): Scan {
  const f32 = new Float32Array(buf, scoresAt, n);
  const i32 = new Int32Array(buf, scoresAt, n);
  let order: number[] = [];
  return {
    n,
    qNorm,
    score: (at) => f32[at]!,
    dot: (at) => i32[at]!,
    slotAt: chosen ? (at) => chosen[at]! : (at) => at,
    top: (w) => {
      if (w > order.length && order.length < n) {
        // A pass costs about the same for any heap size up to a few hundred:
        // keep enough for the next few windows too.
        const m = order.length > 0 ? Math.max(w, 2 * order.length, 256) : w;
        if (kind === 'float32') order = topKOf(f32, m);
        else if (kind === 'binary') order = topKOf(i32, m, null, null, -1);
        else order = topKOf(i32, m, factors, chosen);
      }
      return order.slice(0, w);
    },
  };
}
