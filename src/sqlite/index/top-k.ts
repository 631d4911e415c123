/**
 * Positions of the `k` largest scores, best first (ties: the lower position
 * first): `scores[i] × sign`, times `factors[slot]` when given, where `slot`
 * is `slots[i]` (or `i`). Scores are finite. A bounded min-heap with no call
 * per row: a pass over n rows costs O(n) comparisons plus O(log k) per
 * improvement. Each combination of arguments has its own loop, so every
 * array read in the pass over all rows sees one kind of array (a shared
 * loop reading Int32Array and Float32Array scores, or optional factors,
 * ran at about half the speed).
 */
export function topKOf(
  scores: Float32Array | Int32Array,
  k: number,
  factors: Float32Array | null = null,
  slots: Int32Array | null = null,
  sign = 1,
): number[] {
  const n = scores.length;
  if (k <= 0 || n === 0) return [];
  const heap = new Heap(Math.min(k, n));
  // The heap's smallest score once it is full (-Infinity until then).
  let min = Number.NEGATIVE_INFINITY;
  if (factors && slots) {
    for (let i = 0; i < n; i++) {
      const s = scores[i]! * sign * factors[slots[i]!]!;
      if (s > min) min = heap.push(s, i);
    }
  } else if (factors) {
    if (scores instanceof Int32Array) {
      for (let i = 0; i < n; i++) {
        const s = scores[i]! * sign * factors[i]!;
        if (s > min) min = heap.push(s, i);
      }
    } else {
      for (let i = 0; i < n; i++) {
        const s = scores[i]! * sign * factors[i]!;
        if (s > min) min = heap.push(s, i);
      }
    }
  } else if (scores instanceof Int32Array) {
    for (let i = 0; i < n; i++) {
      const s = scores[i]! * sign;
      if (s > min) min = heap.push(s, i);
    }
  } else {
    for (let i = 0; i < n; i++) {
      const s = scores[i]! * sign;
      if (s > min) min = heap.push(s, i);
    }
  }
  return heap.best();
}

/** A bounded min-heap of (score, position). */
class Heap {
  readonly #size: number;
  readonly #score: Float64Array;
  readonly #at: Int32Array;
  #len = 0;

  constructor(size: number) {
    this.#size = size;
    this.#score = new Float64Array(size);
    this.#at = new Int32Array(size);
  }

  /**
   * Adds (s, i), replacing the smallest once full (the caller only pushes a
   * score above the smallest); returns the smallest score held once full,
   * -Infinity before.
   */
  push(s: number, i: number): number {
    const score = this.#score;
    const at = this.#at;
    const size = this.#size;
    if (this.#len < size) {
      let j = this.#len++;
      while (j > 0) {
        const p = (j - 1) >> 1;
        if (score[p]! <= s) break;
        score[j] = score[p]!;
        at[j] = at[p]!;
        j = p;
      }
      score[j] = s;
      at[j] = i;
    } else {
      let j = 0;
      for (;;) {
        const l = 2 * j + 1;
        if (l >= size) break;
        const r = l + 1;
        const c = r < size && score[r]! < score[l]! ? r : l;
        if (score[c]! >= s) break;
        score[j] = score[c]!;
        at[j] = at[c]!;
        j = c;
      }
      score[j] = s;
      at[j] = i;
    }
    return this.#len === size ? score[0]! : Number.NEGATIVE_INFINITY;
  }

  /** Positions held, best first (ties: the lower position first). */
  best(): number[] {
    const score = this.#score;
    const at = this.#at;
    const order = Array.from({ length: this.#len }, (_, i) => i);
    order.sort((a, b) => score[b]! - score[a]! || at[a]! - at[b]!);
    return order.map((i) => at[i]!);
  }
}
