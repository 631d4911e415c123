import { isBlank } from './blank.js';
import { DEFAULTS, positiveInteger } from './defaults.js';
import { EmptyInputError, InvalidVectorError, ProviderFailureError } from './errors.js';

/**
 * What the texts of an encode call are: documents being embedded by `fill`,
 * or a search query. Models such as e5, bge and nomic-embed-text want a
 * different prompt prefix for each side; an encoder that does not care
 * ignores it. Absent means `'document'`.
 */
export type EncodeKind = 'query' | 'document';

/** Options of one encode call. */
export interface EncodeCallOptions {
  signal?: AbortSignal;
  /** `'query'` when `search` encodes a query; `'document'` (or absent) when `fill` embeds content. */
  kind?: EncodeKind;
}

/**
 * Turns texts into vectors, one per text, in order. Implementations should
 * stop work promptly when `opts.signal` aborts, and encode with the query
 * side of the model when `opts.kind` is `'query'`.
 */
export type EncodeFn = (texts: string[], opts: EncodeCallOptions) => Promise<ArrayLike<number>[]>;

export interface EncodeBatchedOptions {
  /** Texts per encode call. Default `DEFAULTS.batchSize` (64). */
  batchSize?: number;
  /** Encode calls in flight at once. Default 1. */
  concurrency?: number;
  /** Expected vector length; when absent, every vector must match the first one. */
  dimensions?: number;
  signal?: AbortSignal;
  /** Passed to every encode call: `'query'` for search queries, `'document'` (default) for content. */
  kind?: EncodeKind;
}

/**
 * Encodes `texts` in batches with bounded concurrency and returns one
 * `Float32Array` per input, in input order.
 *
 * It refuses blank input with `EmptyInputError` before any call, and refuses
 * a wrong vector count, a non-numeric or non-finite component, a wrong length
 * or a zero-norm vector with `InvalidVectorError` — so nothing invalid can
 * reach a store. At the first failure or abort it stops launching batches
 * (re-checking after every wait for a free slot) and rejects at once.
 *
 * @example
 * ```ts
 * const vectors = await encodeBatched(encode, texts, { batchSize: 32, concurrency: 4 });
 * ```
 */
export async function encodeBatched(
  encode: EncodeFn,
  texts: readonly string[],
  opts: EncodeBatchedOptions = {},
): Promise<Float32Array[]> {
  const batchSize = positiveInteger(
    opts.batchSize ?? DEFAULTS.batchSize,
    'encodeBatched: batchSize',
  );
  const concurrency = positiveInteger(
    opts.concurrency ?? DEFAULTS.concurrency,
    'encodeBatched: concurrency',
  );
  for (let i = 0; i < texts.length; i++) {
    const t = texts[i];
    if (typeof t !== 'string' || isBlank(t)) throw new EmptyInputError(i);
  }
  const signal = opts.signal;
  const kind = opts.kind ?? 'document';
  signal?.throwIfAborted();
  const out: Float32Array[] = new Array(texts.length);
  if (texts.length === 0) return out;

  const inner = new AbortController();
  let dims = opts.dimensions;
  let failure: { error: unknown } | undefined;
  let active = 0;
  let wake: (() => void) | undefined;
  let rejectAll: ((e: unknown) => void) | undefined;
  const failed = new Promise<never>((_, reject) => {
    rejectAll = reject;
  });
  failed.catch(() => {});
  const fail = (error: unknown) => {
    if (failure) return;
    failure = { error };
    inner.abort(error);
    rejectAll?.(error);
    wake?.();
  };
  const abortListener = () => fail(signal?.reason ?? new DOMException('aborted', 'AbortError'));
  signal?.addEventListener('abort', abortListener, { once: true });

  const running: Promise<void>[] = [];
  try {
    for (let start = 0; start < texts.length; start += batchSize) {
      while (active >= concurrency && !failure) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
      // Re-check after waiting: a batch may have failed while we waited for a slot.
      if (failure) break;
      const batch = texts.slice(start, start + batchSize);
      active++;
      const p = (async () => {
        try {
          const vectors = await encode(batch, { signal: inner.signal, kind });
          if (failure) return;
          dims = checkBatch(vectors, batch.length, start, dims);
          for (let j = 0; j < batch.length; j++) out[start + j] = toFloat32(vectors[j]!);
        } catch (e) {
          fail(e);
        } finally {
          active--;
          const w = wake;
          wake = undefined;
          w?.();
        }
      })();
      running.push(p);
    }
    await Promise.race([Promise.all(running), failed]);
    if (failure) throw failure.error;
    return out;
  } finally {
    signal?.removeEventListener('abort', abortListener);
  }
}

function checkBatch(
  vectors: unknown,
  expected: number,
  offset: number,
  dims: number | undefined,
): number {
  if (!Array.isArray(vectors) || vectors.length !== expected) {
    const got = Array.isArray(vectors) ? `${vectors.length} vectors` : typeof vectors;
    throw new InvalidVectorError(
      offset,
      'count',
      `expected ${expected} vectors for the batch starting at ${offset}, got ${got}`,
    );
  }
  try {
    return checkVectors(vectors, offset, dims);
  } catch (first) {
    if (!(first instanceof InvalidVectorError) || vectors.length < 2) throw first;
    // One bad vector is that input's problem; a batch where every vector is
    // bad (all zeros, all overflowing, all the wrong length) is the
    // provider's, and must not be recorded against each document.
    const unusable = (j: number): boolean => {
      try {
        checkVectors([vectors[j]], offset + j, dims);
        return false;
      } catch (e) {
        if (e instanceof InvalidVectorError) return true;
        throw e;
      }
    };
    if (!vectors.every((_, j) => unusable(j))) throw first;
    throw new ProviderFailureError(
      `the encoder returned an unusable vector for every one of the ${vectors.length} inputs of a batch (first: ${first.message}); this is the provider failing, not the documents, so nothing was skipped`,
      vectors.length,
      first,
    );
  }
}

function checkVectors(vectors: unknown[], offset: number, dims: number | undefined): number {
  let d = dims;
  for (let j = 0; j < vectors.length; j++) {
    const v: unknown = vectors[j];
    const index = offset + j;
    if (
      v === null ||
      typeof v !== 'object' ||
      typeof (v as ArrayLike<number>).length !== 'number'
    ) {
      throw new InvalidVectorError(
        index,
        'not-a-vector',
        `expected an array of numbers, got ${v === null ? 'null' : typeof v}`,
      );
    }
    const vec = v as ArrayLike<number>;
    if (d === undefined) d = vec.length;
    if (vec.length !== d || vec.length === 0) {
      throw new InvalidVectorError(
        index,
        'dimensions',
        `expected ${d} dimensions, got ${vec.length}`,
      );
    }
    checkVector(vec, index);
  }
  return d!;
}

/**
 * Throws `InvalidVectorError` when `vec` has a non-numeric or non-finite
 * component (after float32 rounding) or a zero norm.
 */
export function checkVector(vec: ArrayLike<number>, index: number): void {
  let norm = 0;
  for (let c = 0; c < vec.length; c++) {
    const x = vec[c];
    if (typeof x !== 'number') {
      throw new InvalidVectorError(
        index,
        'not-a-vector',
        `component ${c} is ${typeof x}, not a number`,
        c,
      );
    }
    const f = Math.fround(x);
    if (!Number.isFinite(f)) {
      throw new InvalidVectorError(
        index,
        'non-finite',
        `component ${c} is ${x}${Number.isFinite(x) ? ' (overflows float32)' : ''}`,
        c,
      );
    }
    norm += f * f;
  }
  if (!(norm > 0)) {
    throw new InvalidVectorError(
      index,
      'zero-norm',
      'the vector is all zeros, so it has no direction to compare',
    );
  }
}

function toFloat32(v: ArrayLike<number>): Float32Array {
  return v instanceof Float32Array ? v : Float32Array.from(v);
}
