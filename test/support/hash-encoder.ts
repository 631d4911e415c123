import { createHash } from 'node:crypto';
import type { EncodeFn } from '../../src/core/index.js';

/**
 * A deterministic bag-of-words encoder for tests: each lowercase word adds a
 * pseudo-random unit direction derived from its hash, so texts sharing words
 * are close and unrelated texts are nearly orthogonal. No network, no model.
 */
export function hashEncoder(dimensions = 32, seed = ''): { encode: EncodeFn; calls: string[][] } {
  const calls: string[][] = [];
  const encode: EncodeFn = async (texts) => {
    calls.push([...texts]);
    return texts.map((t) => embed(t, dimensions, seed));
  };
  return { encode, calls };
}

export function embed(text: string, dimensions: number, seed = ''): Float32Array {
  const v = new Float32Array(dimensions);
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [text];
  for (const w of words) {
    const h = createHash('sha256')
      .update(seed + w)
      .digest();
    for (let i = 0; i < dimensions; i++)
      v[i]! += (h[i % 32]! - 127.5) / 127.5 + (i >= 32 ? (h[(i * 7) % 32]! & 1) - 0.5 : 0);
  }
  let n = 0;
  for (const x of v) n += x * x;
  if (n === 0) v[0] = 1;
  else for (let i = 0; i < dimensions; i++) v[i]! /= Math.sqrt(n);
  return v;
}
