import { isBlank } from './blank.js';
import { DEFAULTS, positiveInteger } from './defaults.js';
import { type EncodeFn, encodeBatched } from './encode.js';
import {
  EmptyInputError,
  type GenerationFailure,
  QueryTimeoutError,
  SearchUnavailableError,
} from './errors.js';
import { type DocHit, type MergeStrategy, merge, rollupByDocument } from './merge.js';
import type { Awaitable, Store } from './store.js';

export interface SearchOptions<G, F = never> {
  /** The encoder of each generation: a query must be encoded in the same space as the documents. */
  encoderFor: (gen: G) => Awaitable<EncodeFn>;
  /** Documents to return. Default `DEFAULTS.limit` (10). */
  limit?: number;
  /** Chunk hits to ask each generation for at first. Default `limit * DEFAULTS.perGenerationFactor` (3); widened when chunks of one document crowd the window. */
  perGeneration?: number;
  merge?: MergeStrategy;
  rankConstant?: number;
  /**
   * The generations to search, in merge order. Default: the store's live
   * generations (`liveGenerations()`). The command line's `--generation`
   * and its coverage-weighted merge search one generation at a time.
   */
  generations?: readonly G[];
  /** A backend-specific filter over the documents table, applied before the limit. */
  filter?: F;
  /**
   * Fuse full-text hits with vector hits inside each generation (when the
   * store supports it). A generation whose encoder cannot embed the query
   * (an identifier, an error code, an emoji) still answers with its
   * full-text matches.
   */
  hybrid?: boolean;
  signal?: AbortSignal;
  /**
   * Deadline for each generation's query encoding, in milliseconds. Default
   * `DEFAULTS.queryTimeoutMs` (3000): a failing endpoint costs a search at most this. The encoder's signal aborts at the deadline, so its retries and
   * backoff stop there; a generation that misses it is left out with a
   * `QueryTimeoutError` and the others answer.
   */
  queryTimeoutMs?: number;
  /**
   * Hears about each generation left out of this search: its query encoding
   * failed or timed out, or its query failed. With `hybrid`, a generation
   * whose encoder is down still answers from full text and is reported too;
   * a query its encoder merely cannot embed (`PermanentEncodeError`) is
   * answered from full text without a report.
   */
  onGenerationError?: (gen: G, error: unknown) => void;
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
 * A failing generation never takes search down: one whose query encoding
 * fails or misses `queryTimeoutMs`, or whose query fails, is left out
 * (`onGenerationError` hears why) and the others answer. Only when nothing
 * can answer — every live generation failed, and no full-text side answered
 * instead — does it throw `SearchUnavailableError`, whose `causes` list each
 * generation's error. With no live generation at all it returns `[]`.
 *
 * @example
 * ```ts
 * const hits = await search(store, 'how do I rotate keys?', {
 *   encoderFor: () => encoder.encode,
 *   limit: 5,
 *   onGenerationError: (gen, err) => console.warn(`generation ${gen} left out: ${err}`),
 * });
 * ```
 */
export async function search<K, G, F = never>(
  store: Store<K, G, F>,
  queryText: string,
  opts: SearchOptions<G, F>,
): Promise<DocHit<K, G>[]> {
  if (typeof queryText !== 'string' || isBlank(queryText))
    throw new EmptyInputError(0, 'query text');
  const limit = positiveInteger(opts.limit ?? DEFAULTS.limit, 'search: limit');
  const first = positiveInteger(
    opts.perGeneration ?? limit * DEFAULTS.perGenerationFactor,
    'search: perGeneration',
  );
  const timeoutMs = opts.queryTimeoutMs ?? DEFAULTS.queryTimeoutMs;
  if (!(timeoutMs > 0)) {
    throw new RangeError(`search: queryTimeoutMs must be a positive number, got ${timeoutMs}`);
  }
  opts.signal?.throwIfAborted();
  const gens = opts.generations ?? (await store.liveGenerations());
  const failures: GenerationFailure[] = [];
  const fullText = opts.hybrid === true && typeof store.queryFullText === 'function';
  const lists = await Promise.all(
    gens.map(async (gen): Promise<DocHit<K, G>[] | undefined> => {
      let vector: Float32Array;
      try {
        vector = await encodeQuery(gen, queryText, timeoutMs, opts);
      } catch (e) {
        opts.signal?.throwIfAborted();
        if (fullText) {
          // The encoder cannot embed this query (or is down): the full-text
          // side of this generation still answers.
          try {
            const hits = await store.queryFullText!(gen, queryText, limit, queryOptions(opts));
            if (!isPermanent(e)) opts.onGenerationError?.(gen, e);
            return from(gen, rollupByDocument(hits));
          } catch {
            // No full-text side either: the encoder's error says why.
            opts.signal?.throwIfAborted();
            return leaveOut(gen, e);
          }
        }
        return leaveOut(gen, e);
      }
      try {
        return from(gen, await queryDocuments(store, gen, vector, queryText, limit, first, opts));
      } catch (e) {
        opts.signal?.throwIfAborted();
        return leaveOut(gen, e);
      }
    }),
  );
  const answered = lists.filter((l): l is DocHit<K, G>[] => l !== undefined);
  // No live generation at all is an empty index, not a failure: nothing to search.
  if (answered.length === 0 && failures.length > 0) {
    const hint =
      !opts.hybrid && failures.some((f) => isPermanent(f.error))
        ? ' (search with hybrid: true to find words the encoder does not know through full text)'
        : '';
    throw new SearchUnavailableError(failures, hint);
  }
  const mergeOpts = { strategy: opts.merge ?? 'normalized', limit } as const;
  return merge(
    answered,
    opts.rankConstant === undefined ? mergeOpts : { ...mergeOpts, rankConstant: opts.rankConstant },
  );

  function leaveOut(gen: G, error: unknown): undefined {
    failures.push({ generation: gen, error });
    opts.onGenerationError?.(gen, error);
    return undefined;
  }
}

/** Names the generation each hit came from. */
function from<K, G>(gen: G, hits: DocHit<K>[]): DocHit<K, G>[] {
  return hits.map((h) => ({ ...h, generation: gen }));
}

/** True for a query its encoder rejects for good (a word it does not know), as opposed to an outage. */
function isPermanent(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'PERMANENT_ENCODE' || code === 'EMPTY_INPUT';
}

/**
 * Encodes the query for one generation under the deadline. The encoder gets
 * a signal that aborts at the deadline (or when the caller aborts), so an
 * HTTP encoder stops retrying; an encoder that ignores its signal is raced
 * against the deadline, so the search never waits past it.
 */
async function encodeQuery<G, F>(
  gen: G,
  text: string,
  timeoutMs: number,
  opts: SearchOptions<G, F>,
): Promise<Float32Array> {
  const deadline = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // Made only when the deadline passes: an error's stack costs ~0.2 ms, per generation per search.
      const timeout = new QueryTimeoutError(gen, timeoutMs);
      deadline.abort(timeout);
      reject(timeout);
    }, timeoutMs);
  });
  expired.catch(() => {});
  const onAbort = () => deadline.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const run = (async () => {
      const encode = await opts.encoderFor(gen);
      const [vector] = await encodeBatched(encode, [text], {
        signal: deadline.signal,
        kind: 'query',
      });
      return vector!;
    })();
    run.catch(() => {});
    return await Promise.race([run, expired]);
  } catch (e) {
    // An encoder that rejects with its signal's reason reports the deadline as such.
    if (deadline.signal.aborted && !opts.signal?.aborted) throw deadline.signal.reason;
    throw e;
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

function queryOptions<G, F>(opts: SearchOptions<G, F>): { filter?: F; signal?: AbortSignal } {
  const out: { filter?: F; signal?: AbortSignal } = {};
  if (opts.filter !== undefined) out.filter = opts.filter;
  if (opts.signal) out.signal = opts.signal;
  return out;
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
      ...queryOptions(opts),
    };
    if (opts.hybrid) queryOpts.hybrid = true;
    const hits = await store.queryGeneration(gen, vector, want, queryOpts);
    const docs = rollupByDocument(hits);
    if (docs.length >= limit || hits.length < want) return docs;
    want *= 2;
  }
}
