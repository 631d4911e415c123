/**
 * Positions of the `k` largest scores, best first (ties: the lower position
 * first): `scores[i] × sign`, times `factors[slot]` when given, where `slot`
 * is `slots[i]` (or `i`). A bounded min-heap with no call per row: a pass
 * over n rows costs O(n) comparisons plus O(log k) per improvement.
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
  const size = Math.min(k, n);
  const heapScore = new Float64Array(size);
  const heapSlot = new Int32Array(size);
  let len = 0;
  let min = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    let s = scores[i]! * sign;
    if (factors) s *= factors[slots ? slots[i]! : i]!;
    if (len === size && s <= min) continue;
    if (len < size) {
      let j = len++;
      while (j > 0) {
        const p = (j - 1) >> 1;
        if (heapScore[p]! <= s) break;
        heapScore[j] = heapScore[p]!;
        heapSlot[j] = heapSlot[p]!;
        j = p;
      }
      heapScore[j] = s;
      heapSlot[j] = i;
    } else {
      let j = 0;
      for (;;) {
        const l = 2 * j + 1;
        if (l >= size) break;
        const r = l + 1;
        const c = r < size && heapScore[r]! < heapScore[l]! ? r : l;
        if (heapScore[c]! >= s) break;
        heapScore[j] = heapScore[c]!;
        heapSlot[j] = heapSlot[c]!;
        j = c;
      }
      heapScore[j] = s;
      heapSlot[j] = i;
    }
    if (len === size) min = heapScore[0]!;
  }
  const order = Array.from({ length: len }, (_, i) => i);
  order.sort((a, b) => heapScore[b]! - heapScore[a]! || heapSlot[a]! - heapSlot[b]!);
  return order.map((i) => heapSlot[i]!);
}
