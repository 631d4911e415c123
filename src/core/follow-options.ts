/** What `follow` takes, reports and returns (see `follow.ts`). */
import type { EncodeFn } from './encode.js';
import type { FillOptions, FillProgress, FillResult, RejectedChunk } from './fill-options.js';
import type { Awaitable } from './store.js';

/**
 * What a follower reports. `filled` says what one pass over a generation
 * embedded, skipped and had refused as stale; `caught-up` says its backlog
 * reached zero; `retrying` and `failed` say why it is not filling.
 */
export type FollowEvent<K, G> =
  /** The set of generations being filled changed (at start, on migrate, activate, retire). */
  | { type: 'generations'; generations: G[] }
  /** One fill pass over `generation` finished and did something. */
  | ({
      type: 'filled';
      generation: G;
      /** Deleted documents whose leftover vectors the pass's prune sweep dropped (0 without one). */
      pruned: number;
      seconds: number;
    } & Omit<FillResult, 'pruned' | 'retried'>)
  /** The model permanently rejected a chunk of `doc`; the document was saved without it. */
  | { type: 'skipped'; generation: G; doc: K; chunk: RejectedChunk; error: Error }
  /**
   * Nothing is pending for `generation` any more (as this follower sees it:
   * documents another follower has leased are that follower's).
   */
  | { type: 'caught-up'; generation: G }
  /** A pass failed with a transient error (provider outage, database busy); it is retried after `delayMs`. */
  | { type: 'retrying'; generation?: G; error: Error; attempt: number; delayMs: number }
  /** `generation` failed with a configuration error and is left out until restart; the others go on. */
  | { type: 'failed'; generation: G; error: Error };

export interface FollowOptions<K, G>
  extends Pick<FillOptions<K>, 'scanBatch' | 'split' | 'batch' | 'concurrency'> {
  /** The encoder of each generation (called once per generation). */
  encoderFor: (gen: G) => Awaitable<EncodeFn>;
  /**
   * How each generation cuts documents into chunks (called once per
   * generation, like `encoderFor`), for generations that differ: each was
   * filled with its own chunk settings and must be followed with them.
   * Overrides `split` for the generations it returns a value for.
   */
  splitFor?: (gen: G) => Awaitable<FillOptions<K>['split']>;
  /**
   * Fill only these generations. Default: every live generation, re-read on
   * every change, so a generation created by a migration joins by itself and
   * a retired one leaves.
   */
  generations?: readonly G[];
  /** Stops the follower: the batch in flight finishes, finished documents are saved, `follow` resolves. */
  signal?: AbortSignal;
  /** How often change detection polls (SQLite `data_version`), or how often to scan when the store cannot detect changes. Default 200. */
  pollMs?: number;
  /**
   * Scan even when no change was seen after this long (documents leased by a
   * worker that crashed become free; a missed notification is caught up).
   * Default 30 000.
   */
  rescanMs?: number;
  /**
   * Run the store's full `prune` sweep (drop leftover vectors of deleted
   * rows) after a pass at most this often. Default `DEFAULTS.pruneEveryMs`
   * (30 000); 0 sweeps after every pass.
   */
  pruneEveryMs?: number;
  /** Backoff after a transient failure: exponential from `initialMs`, capped at `maxMs`, with jitter. Default 1 000 / 60 000. */
  backoff?: { initialMs?: number; maxMs?: number };
  onEvent?: (event: FollowEvent<K, G>) => void;
  onProgress?: (gen: G, progress: FillProgress) => void;
  /**
   * Decides whether to stamp-skip a document the encoder fails on. Default:
   * skip what the model permanently rejects (`PermanentEncodeError`, an
   * invalid vector for one input) and retry everything else with backoff.
   */
  onEncodeError?: FillOptions<K>['onEncodeError'];
  /**
   * True for errors that retrying cannot fix, which take the generation out
   * of the follower (reported as `failed`). Default: the error codes
   * `ENCODER_CONFIG`, `DIMENSION_MISMATCH`, `UNKNOWN_GENERATION`,
   * `GENERATION_CONFLICT`, `LIFECYCLE`, `INVALID_IDENTIFIER`,
   * `STORE_INCONSISTENT`.
   */
  isConfigError?: (error: unknown) => boolean;
  /**
   * Extra change notifications: called once with a callback to invoke after
   * you changed the documents through the follower's own connection (which
   * the store's change detection does not see, e.g. a file watcher); returns
   * an unsubscribe function.
   */
  subscribe?: (onChange: () => void) => () => void;
}

/** Totals of a follower's run, returned when it stops. */
export interface FollowSummary<G> {
  documents: number;
  chunks: number;
  skipped: number;
  stale: number;
  missing: number;
  /** Generations left out after a configuration error. */
  failed: { generation: G; error: Error }[];
}
