// A deterministic encoder shared by the reliability workers (child processes)
// and the tests that check their output: the same text always gives the
// same vector, so a clean run's vectors can be recomputed exactly.
import { createHash } from 'node:crypto';

export function embedText(text, dims) {
  const v = new Float32Array(dims);
  const words = text.toLowerCase().match(/[a-z0-9]+/g) ?? [text];
  for (const w of words) {
    const h = createHash('sha256').update(w).digest();
    for (let i = 0; i < dims; i++) v[i] += (h[i % 32] - 127.5) / 127.5;
  }
  let n = 0;
  for (const x of v) n += x * x;
  if (n === 0) v[0] = 1;
  else for (let i = 0; i < dims; i++) v[i] /= Math.sqrt(n);
  return v;
}
