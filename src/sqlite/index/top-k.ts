/**
 * Slots of the `k` largest `score(slot)` over slots [0, n), best first: a
 * bounded min-heap, so a pass over n rows costs O(n) comparisons plus
 * O(k log k) per improvement, whatever k is.
 */
export function topK(n: number, k: number, score: (slot: number) => number): number[] {
  if (k <= 0 || n === 0) return [];
  const size = Math.min(k, n);
  const heapScore = new Float64Array(size);
  const heapSlot = new Int32Array(size);
  let len = 0;
  for (let i = 0; i < n; i++) {
    const s = score(i);
    if (len < size) {
      // Sift up.
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
    } else if (s > heapScore[0]!) {
      // Replace the root and sift down.
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
  }
  const order = Array.from({ length: len }, (_, i) => i);
  order.sort((a, b) => heapScore[b]! - heapScore[a]! || heapSlot[a]! - heapSlot[b]!);
  return order.map((i) => heapSlot[i]!);
}
