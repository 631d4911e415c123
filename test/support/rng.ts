/** A seeded PRNG (LCG), so a failing randomized test can be replayed exactly. */
export function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x * 1664525 + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}
