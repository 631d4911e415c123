/**
 * Quantized indexes for a generation: the vec0 table holds a compact copy of
 * every vector (one bit or one byte per dimension) for a fast candidate KNN,
 * and the exact float32 vectors live in a plain table beside it for
 * rescoring the candidates.
 */

/** How a generation's KNN index stores its vectors. */
export type Quantization = 'binary' | 'int8';

/** Per-generation index options of the SQLite store. */
export interface GenerationOptions {
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
 * the generation's centre (0 until `recenter`), i.e. positive
 * (the last byte's unused bits stay 0 in every vector and every query, so
 * Hamming distances are unchanged by the padding).
 * int8: each vector scaled so that its largest component maps to ±127;
 * cosine distance ignores a vector's scale, so per-vector scaling keeps more
 * precision than one global range.
 */
export function quantize(q: Quantization, v: Float32Array, centre?: Float32Array): Buffer {
  if (q === 'binary') {
    const out = Buffer.alloc(Math.ceil(v.length / 8));
    for (let i = 0; i < v.length; i++)
      if (v[i]! > (centre ? centre[i]! : 0)) out[i >> 3]! |= 1 << (i & 7);
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

/** Set bits of a 32-bit word. */
function popcount(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

/**
 * The binary codes of one generation, held in memory for a Hamming scan.
 * One pass over n × ⌈d/32⌉ words with a counting selection of the k best:
 * O(n), independent of k.
 */
export class BinaryCodes {
  readonly #ids: Float64Array;
  readonly #codes: Uint32Array;
  readonly #words: number;
  readonly #bits: number;
  /** The generation's write counter these codes were read at. */
  readonly version: number;
  /** The centre the codes were made against, for coding queries the same way. */
  readonly centre: Float32Array | undefined;

  constructor(
    rows: readonly (readonly [number | bigint, Buffer])[],
    dimensions: number,
    version: number,
    centre?: Float32Array,
  ) {
    this.centre = centre;
    this.#words = Math.ceil(dimensions / 32);
    this.#bits = this.#words * 32;
    this.version = version;
    this.#ids = new Float64Array(rows.length);
    this.#codes = new Uint32Array(rows.length * this.#words);
    const bytes = new Uint8Array(this.#codes.buffer);
    rows.forEach(([id, code], i) => {
      this.#ids[i] = Number(id);
      bytes.set(code.subarray(0, this.#words * 4), i * this.#words * 4);
    });
  }

  get size(): number {
    return this.#ids.length;
  }

  /** Ids of (about) the `k` codes nearest to `query` by Hamming distance. */
  nearest(query: Buffer, k: number): number[] {
    const n = this.#ids.length;
    const w = this.#words;
    const padded = new Uint8Array(w * 4);
    padded.set(query.subarray(0, w * 4));
    const q = new Uint32Array(padded.buffer);
    const codes = this.#codes;
    const dist = new Uint16Array(n);
    const hist = new Uint32Array(this.#bits + 1);
    for (let r = 0; r < n; r++) {
      let d = 0;
      const o = r * w;
      for (let j = 0; j < w; j++) d += popcount(codes[o + j]! ^ q[j]!);
      dist[r] = d;
      hist[d]!++;
    }
    // The smallest distance `cut` at which k codes are reached.
    let cut = 0;
    let below = 0;
    while (cut < this.#bits && below + hist[cut]! < k) below += hist[cut++]!;
    let room = k - below;
    const out: number[] = [];
    for (let r = 0; r < n; r++) {
      const d = dist[r]!;
      if (d < cut) out.push(this.#ids[r]!);
      else if (d === cut && room > 0) {
        out.push(this.#ids[r]!);
        room--;
      }
    }
    return out;
  }
}

/** A float32 BLOB as a Float32Array (copied when the BLOB is not 4-byte aligned). */
export function floats(blob: Buffer): Float32Array {
  return blob.byteOffset % 4 === 0
    ? new Float32Array(blob.buffer, blob.byteOffset, blob.byteLength / 4)
    : new Float32Array(Uint8Array.from(blob).buffer);
}
