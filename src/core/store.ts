import type { ActivateOptions } from './activation.js';
import type { SkipReason } from './errors.js';
import type { Generation } from './generation.js';

/** A value or a promise of it: synchronous backends (better-sqlite3) need not allocate promises. */
export type Awaitable<T> = T | Promise<T>;

/**
 * An opaque token that changes whenever a document's content changes (an
 * `updated_at`, a version counter, a content hash). Stores that track it stamp
 * conditionally: a save whose revision no longer matches the row is refused.
 */
export type Revision = string | number | bigint | null;

/** A document that needs embedding for a generation, as read by the scan. */
export interface Pending<K> {
  doc: K;
  content: string;
  /** The revision read together with `content`; passed back unchanged to `saveVectors`. */
  revision?: Revision;
}

/**
 * One chunk's vector, with the chunk's position in the document's chunks
 * (`chunkIndex`, the same name a {@link Hit} carries) and in its content.
 */
export interface ChunkVector {
  chunkIndex: number;
  start: number;
  end: number;
  vector: Float32Array;
}

/** A chunk that matched a query. `score` is higher-is-better (cosine similarity for vector hits). */
export interface Hit<K> {
  doc: K;
  chunkIndex: number;
  score: number;
  /**
   * The raw similarity of the vector hit (cosine) when `score` is a fused
   * score (hybrid); absent on a full-text-only hit.
   */
  similarity?: number;
  /** Offsets of the chunk in the document content, when the store keeps them. */
  start?: number;
  end?: number;
}

/** Extra inputs to one generation's query. */
export interface QueryOptions<F> {
  /** A backend-specific predicate over the documents table, applied before the limit. */
  filter?: F;
  /** The query text, for stores that fuse a full-text index with the vector hits. */
  text?: string;
  /** Fuse full-text hits with the vector hits (reciprocal rank). Requires `text`. */
  hybrid?: boolean;
  signal?: AbortSignal;
}

/**
 * The only way the flows reach storage. A backend is a function of the
 * caller's source system and owns all SQL; `K` (document key) and `G`
 * (generation key) are opaque to the core.
 *
 * Invariants every implementation keeps (the conformance suite checks them):
 * - the stamp is conditional: `saveVectors` persists nothing and throws
 *   `StaleError` when the revision changed, and persists nothing and throws
 *   `MissingDocumentError` when the row is gone;
 * - hits come only from rows that still exist and whose stamp is current, and
 *   such rows never use up the limit;
 * - pending and searchable are exact complements of one freshness predicate.
 */
export interface Store<K, G, F = never> {
  /** Documents not covered by `gen`, at most `limit`, in a stable order. */
  pendingForGeneration(gen: G, limit: number): Awaitable<Pending<K>[]>;
  /**
   * Atomically replaces the document's vectors for `gen` and stamps it. An
   * empty `vectors` array is a stamp-only save (blank content, or a document
   * skipped after a permanent failure).
   */
  saveVectors(
    gen: G,
    doc: K,
    revision: Revision | undefined,
    vectors: ChunkVector[],
    options?: SaveOptions,
  ): Awaitable<void>;
  /**
   * Optional batched form of `saveVectors`: each item is saved atomically on
   * its own (one stale item does not undo the others); the result says, per
   * item, `null` for saved or the error that refused it.
   */
  saveMany?(gen: G, items: readonly SaveItem<K>[]): Awaitable<(Error | null)[]>;
  /**
   * Optional: forgets `gen`'s skip stamps (saves with no vectors), so those
   * documents are pending again; blank ones are re-stamped by the fill
   * without an encoder call. `fill`'s `retrySkipped` calls it. Returns how
   * many it forgot.
   */
  resetSkipped?(gen: G): Awaitable<number>;
  /** Generations to search, most preferred first (building before active during a migration). */
  liveGenerations(): Awaitable<G[]>;
  /**
   * Optional explicit housekeeping: one full sweep that drops the vectors of
   * documents whose rows were deleted outside vecfill. Such vectors are never
   * returned (hits join back to existing rows), they only take space, so
   * nothing calls this on every fill: call it yourself, pass `prune: true`
   * to `fill`, or let `follow` run it every `pruneEveryMs`. (The SQLite
   * store also prunes a bounded slice of stamps inside every save.) Returns
   * how many documents it pruned.
   */
  prune?(): Awaitable<number>;
  /**
   * Optional change detection for long-running workers (`follow`): resolves
   * `true` once the documents may have changed since the previous call (a
   * commit by another connection, a notification), or `false` when
   * `timeoutMs` passes first. It must cost almost nothing while nothing
   * changes, and reject with the signal's reason when `signal` aborts.
   * Without it, `follow` falls back to scanning every `pollMs`.
   */
  waitForChange?(opts: WaitForChangeOptions): Promise<boolean>;
  /** Chunk hits for `query`, best first, only from existing rows with a current stamp. */
  queryGeneration(
    gen: G,
    query: Float32Array,
    limit: number,
    opts?: QueryOptions<F>,
  ): Awaitable<Hit<K>[]>;
  /**
   * Optional: the full-text side of `gen` alone, for a query that has no
   * vector (the generation's encoder cannot embed it, or is down). Documents
   * ranked by the store's full-text index, best first, under the same
   * freshness rule as `queryGeneration` (only existing rows with a current
   * stamp of `gen`); one hit per document, `chunkIndex` 0, and the score
   * hybrid search would give a full-text-only match. `search` with
   * `hybrid: true` uses it, so a word the encoder does not know (an error
   * code, an identifier) is still found. Stores without full text omit it.
   */
  queryFullText?(
    gen: G,
    text: string,
    limit: number,
    opts?: Omit<QueryOptions<F>, 'text' | 'hybrid'>,
  ): Awaitable<Hit<K>[]>;
}

/** Arguments of {@link Store.waitForChange}. */
export interface WaitForChangeOptions {
  signal: AbortSignal;
  /** How often a polling implementation checks. */
  pollMs: number;
  /** Resolve `false` after this long without a change. */
  timeoutMs: number;
}

/** Extra facts of a save. */
export interface SaveOptions {
  /**
   * For a stamp-only save of a document skipped after an encoder error: why
   * (one line). Stores keep it with the stamp, so `activate` can say how many
   * documents were skipped and why, and `resetSkipped` can find them.
   */
  skipReason?: string;
  /**
   * Chunks of the document the encoder rejected and `fill` skipped while
   * saving its other chunks. Stores keep the count with the stamp, so
   * status can say how much of the text has no vector.
   */
  skippedChunks?: number;
}

/** One document's save for {@link Store.saveMany}. */
export interface SaveItem<K> extends SaveOptions {
  doc: K;
  revision: Revision | undefined;
  vectors: ChunkVector[];
}

/** Where a generation is in its life. */
export type GenerationState = 'building' | 'active' | 'retired';

/** What a store records about one generation. */
export interface GenerationInfo<G> {
  key: G;
  generation: Generation;
  fingerprint: string;
  dimensions: number;
  state: GenerationState;
  /** True once a retired generation's vectors were dropped by `reclaim`. */
  reclaimed: boolean;
  createdAt: string;
}

/**
 * Options of {@link LifecycleStore.ensureGeneration} that shape how a
 * generation's vectors are indexed. The core defines none; a backend names
 * the ones it supports in a type that extends this one (`vecfill/sqlite`'s
 * `SqliteGenerationOptions`: `quantization`, `oversample`) and refuses an
 * option it does not support with a `TypeError`, so an index setting is
 * never silently dropped.
 */
// biome-ignore lint/suspicious/noEmptyInterface: the base every backend's options extend
export interface GenerationOptions {}

/** Storage one generation uses; backends add their own facts (index kind, scan). */
export interface GenerationStats {
  /** Chunk rows (vectors) of the generation. */
  chunks: number;
  /** Chunks the encoder rejected in documents saved with their other chunks (current stamps only). */
  skippedChunks: number;
  /** Bytes of float32 vector data (chunks × dimensions × 4). */
  vectorBytes: number;
  /** Bytes of the backend's vector index beside the vectors (0 when it keeps none). */
  indexBytes: number;
}

/** How much of the documents table a generation covers. */
export interface Coverage {
  /** Documents with a current stamp and at least one vector. */
  embedded: number;
  /** Documents with a current stamp and no vectors (blank, or skipped after a permanent failure). */
  skipped: number;
  /** Documents without a current stamp: what `fill` still has to do. */
  backlog: number;
}

/**
 * The generation lifecycle every backend provides beside {@link Store}.
 * At most one generation is `active` and at most one `building`.
 */
export interface LifecycleStore<K, G, F = never, O extends GenerationOptions = GenerationOptions>
  extends Store<K, G, F> {
  /**
   * Registers `gen` (idempotent). Refuses a known key with another
   * fingerprint or dimension with `GenerationConflictError`. `options` are
   * the backend's index options (see {@link GenerationOptions}); a backend
   * refuses options it does not support.
   */
  ensureGeneration(
    gen: G,
    generation: Generation,
    state?: 'building' | 'active',
    options?: O,
  ): Awaitable<GenerationInfo<G>>;
  generations(): Awaitable<GenerationInfo<G>[]>;
  coverage(gen: G): Awaitable<Coverage>;
  /** Storage `gen` uses: chunks, vector and index bytes. Throws `UnknownGenerationError` for an unknown key. */
  stats(gen: G): Awaitable<GenerationStats>;
  /**
   * Atomically makes `gen` the single active generation. Refuses with
   * `UncoveredError` while backlog > 0, and with `TooManySkippedError` when
   * it embedded nothing or skipped more than `maxSkippedShare` (default 1 %)
   * of the documents after encoder errors, unless `force`.
   */
  activate(gen: G, options?: ActivateOptions): Awaitable<void>;
  /**
   * Why `gen`'s current skip stamps were saved (the `skipReason` of each
   * save), with how many documents each, most frequent first. Blank
   * documents are not listed.
   */
  skipReasons(gen: G): Awaitable<SkipReason[]>;
  /**
   * Takes `gen` out of search; its vectors stay until `reclaim`. Retiring
   * the active generation would leave search without a complete generation,
   * so it is refused with `LifecycleError` unless `{ force: true }`.
   */
  retire(gen: G, opts?: { force?: boolean }): Awaitable<void>;
  /**
   * Brings a retired generation back as `building`, keeping its vectors and
   * stamps: `fill` then re-embeds only the documents that changed since it
   * was retired, and `activate` switches back once it covers everything (a
   * migration rolled back). Refuses a reclaimed generation (its vectors are
   * gone) and a generation that is not retired with `LifecycleError`.
   */
  reopen(gen: G): Awaitable<void>;
  /** Drops a retired generation's vectors and chunk rows. */
  reclaim(gen: G): Awaitable<void>;
  /** Removes a document's vectors and stamps in every generation. */
  deleteVectors(doc: K): Awaitable<void>;
}
