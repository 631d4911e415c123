import { isBlank } from './blank.js';
import { type EncodeFn, encodeBatched } from './encode.js';
import { EmptyInputError } from './errors.js';
import { type DocHit, type MergeStrategy, merge, rollupByDocument } from './merge.js';
import type { Awaitable, Store } from './store.js';

export interface SearchOptions<G, F = never> {
  /** The encoder of each generation: a query must be encoded in the same space as the documents. */
  encoderFor: (gen: G) => Awaitable<EncodeFn>;
  /** Documents to return. Default 10. */
  limit?: number;
  /** Chunk hits to ask each generation for at first. Default `limit * 3`; widened when chunks of one document crowd the window. */
  perGeneration?: number;
  merge?: MergeStrategy;
  rankConstant?: number;
  /** A backend-specific filter over the documents table, applied before the limit. */
  filter?: F;
  /** Fuse full-text hits with vector hits inside each generation (when the store supports it). */
  hybrid?: boolean;
  signal?: AbortSignal;
}

/**
 * Searches every live generation and merges the results.
 *
 * The query is encoded once per live generation with that generation's own
 * encoder, each generation is queried, chunk hits are rolled up to documents,
 * and the lists are merged (most-preferred generation wins an overlap;
 * coverage is a union, so a document covered only by the active generation
 * is still found while a new one is building).
 *
 * @example
 * ```ts
 * const hits = await search(store, 'how do I rotate keys?', {
 *   encoderFor: () => encoder.encode,
 *   limit: 5,
 * });
 * ```
 */
export async function search<K, G, F = never>(
  store: Store<K, G, F>,
  queryText: string,
  opts: SearchOptions<G, F>,
): Promise<DocHit<K>[]> {
  if (typeof queryText !== 'string' || isBlank(queryText))
    throw new EmptyInputError(0, 'query text');
  const limit = opts.limit ?? 10;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new RangeError(`search: limit must be a positive integer, got ${limit}`);
  }
  const first = opts.perGeneration ?? limit * 3;
  if (!Number.isSafeInteger(first) || first < 1) {
    throw new RangeError(`search: perGeneration must be a positive integer, got ${first}`);
  }
  opts.signal?.throwIfAborted();
  const gens = await store.liveGenerations();
  const lists = await Promise.all(
    gens.map(async (gen) => {
      const encode = await opts.encoderFor(gen);
      const [vector] = await encodeBatched(encode, [queryText], {
        signal: opts.signal,
        kind: 'query',
      });
      return queryDocuments(store, gen, vector!, queryText, limit, first, opts);
    }),
  );
  const mergeOpts = { strategy: opts.merge ?? 'normalized', limit } as const;
  return merge(
    lists,
    opts.rankConstant === undefined ? mergeOpts : { ...mergeOpts, rankConstant: opts.rankConstant },
  );
}

/**
 * Asks one generation for chunk hits and widens the request until `limit`
 * distinct documents are found or the generation has no more hits.
 */
async function queryDocuments<K, G, F>(
  store: Store<K, G, F>,
  gen: G,
  vector: Float32Array,
  text: string,
  limit: number,
  first: number,
  opts: SearchOptions<G, F>,
): Promise<DocHit<K>[]> {
  let want = first;
  for (;;) {
    opts.signal?.throwIfAborted();
    const queryOpts: { text: string; filter?: F; hybrid?: boolean; signal?: AbortSignal } = {
      text,
    };
    if (opts.filter !== undefined) queryOpts.filter = opts.filter;
    if (opts.hybrid) queryOpts.hybrid = true;
    if (opts.signal) queryOpts.signal = opts.signal;
    const hits = await store.queryGeneration(gen, vector, want, queryOpts);
    const docs = rollupByDocument(hits);
    if (docs.length >= limit || hits.length < want) return docs;
    want *= 2;
  }
}
