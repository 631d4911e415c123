/**
 * Quantized indexes for a generation: the vec0 table holds a compact copy of
 * every vector (one bit or one byte per dimension) for a fast candidate KNN,
 * and the exact float32 vectors live in a plain table beside it for
 * rescoring the candidates.
 */

/** How a generation's KNN index stores its vectors. */
export type Quantization = 'binary' | 'int8';

import type { GenerationOptions } from '../core/index.js';

/** Per-generation index options of the SQLite store (`ensureGeneration`'s fourth argument). */
export interface SqliteGenerationOptions extends GenerationOptions {
  /**
   * Index the vectors quantized: `binary` keeps one sign bit per dimension
   * (32× smaller, candidate KNN by Hamming distance), `int8` one byte per
   * dimension (4× smaller). Candidates are then re-ranked by exact cosine
   * distance over the float vectors, so scores are exact; recall depends on
   * the data and on `oversample`. Default: no quantization (exact float KNN).
   */
  quantization?: Quantization;
  /**
   * Candidates fetched per wanted hit before exact rescoring. Higher is
   * slower and more accurate. Default: 40 for binary, 4 for int8.
   */
  oversample?: number;
}

export const QUANTIZATIONS: readonly Quantization[] = ['binary', 'int8'];

export function defaultOversample(q: Quantization): number {
  return q === 'binary' ? 40 : 4;
}

/** The vec0 column type for an int8 generation of `dimensions`. */
export function columnType(dimensions: number): string {
  return `int8[${dimensions}]`;
}

/** Bytes one vector takes in the quantized column. */
export function quantizedBytes(q: Quantization, dimensions: number): number {
  return q === 'binary' ? Math.ceil(dimensions / 8) : dimensions;
}

/**
 * The quantized BLOB of `v`. Binary: bit i set when component i is above
 * the generation's center (0 until `recenter`), i.e. positive
 * (the last byte's unused bits stay 0 in every vector and every query, so
 * Hamming distances are unchanged by the padding).
 * int8: each vector scaled so that its largest component maps to ±127;
 * cosine distance ignores a vector's scale, so per-vector scaling keeps more
 * precision than one global range.
 */
export function quantize(q: Quantization, v: Float32Array, center?: Float32Array): Buffer {
  if (q === 'binary') {
    const out = Buffer.alloc(Math.ceil(v.length / 8));
    for (let i = 0; i < v.length; i++)
      if (v[i]! > (center ? center[i]! : 0)) out[i >> 3]! |= 1 << (i & 7);
    return out;
  }
  let max = 0;
  for (let i = 0; i < v.length; i++) max = Math.max(max, Math.abs(v[i]!));
  const out = Buffer.alloc(v.length);
  const scale = max > 0 ? 127 / max : 0;
  for (let i = 0; i < v.length; i++) out.writeInt8(Math.round(v[i]! * scale), i);
  return out;
}

/**
 * Exact cosine distances (1 − cosine similarity, as sqlite-vec reports them)
 * from `query` to each candidate's float32 BLOB, best first.
 */
export function rescore(
  query: Float32Array,
  candidates: readonly (readonly [number | bigint, Buffer])[],
): [number, number][] {
  let qq = 0;
  for (let i = 0; i < query.length; i++) qq += query[i]! * query[i]!;
  const qn = Math.sqrt(qq);
  const out: [number, number][] = [];
  for (const [id, blob] of candidates) {
    const v = floats(blob);
    let dot = 0;
    let vv = 0;
    for (let i = 0; i < v.length; i++) {
      const x = v[i]!;
      dot += x * query[i]!;
      vv += x * x;
    }
    const denom = qn * Math.sqrt(vv);
    out.push([Number(id), denom > 0 ? 1 - dot / denom : 1]);
  }
  return out.sort((a, b) => a[1] - b[1]);
}

/** A float32 BLOB as a Float32Array (copied when the BLOB is not 4-byte aligned). */
export function floats(blob: Buffer): Float32Array {
  return blob.byteOffset % 4 === 0
    ? new Float32Array(blob.buffer, blob.byteOffset, blob.byteLength / 4)
    : new Float32Array(new Uint8Array(blob).buffer);
}
