/** The options, progress and result of `fill` (see `fill.ts`). */
import type { Chunk, SplitOptions } from './chunk.js';

/** Progress of a running fill, reported after every saved document. */
export interface FillProgress {
  /** Documents finished in this run (embedded or stamp-skipped). */
  documents: number;
  /** Pending documents read by the scans so far. */
  pendingSeen: number;
  /** Chunks embedded so far. */
  chunks: number;
  skipped: number;
  /** Saves refused because the row changed after the scan. */
  stale: number;
  /** Saves refused because the row was deleted after the scan. */
  missing: number;
  /** Finished documents per second since the fill started. */
  rate: number;
  elapsedMs: number;
}

export interface FillOptions<K> {
  /** Documents read per scan. Default `DEFAULTS.scanBatch` (128). */
  scanBatch?: number;
  /** How documents are cut into chunks: `split` options, or your own function. */
  split?: SplitOptions | ((content: string) => Chunk[]);
  /**
   * Cross-document batching: chunks of several documents of one scan share an
   * encode call of up to `batchSize` texts, and the vectors are scattered back
   * to their documents. Without it each document is encoded on its own
   * (in calls of at most `DEFAULTS.batchSize`, 64, chunks).
   */
  batch?: { batchSize: number };
  /** Encode calls in flight at once. Default `DEFAULTS.concurrency` (1). */
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (progress: FillProgress) => void;
  /**
   * Called when a chunk of a document cannot be encoded, with the chunk the
   * encoder rejected. Return true to skip that chunk (text a model always
   * rejects, such as a hex fingerprint) and go on: the document's other
   * chunks are still embedded and the document is stamped, so a later fill
   * does not retry it. A document whose every chunk is rejected is
   * stamp-skipped. Return false (or leave unset) to stop the fill with the
   * error. A failed batch is retried one chunk at a time first, so only the
   * chunks at fault are reported.
   *
   * Never called for a provider failure (`isProviderFailure`: an outage, a
   * configuration error such as a rejected API key, a batch of unusable
   * vectors): those stop the fill at once, without retrying documents one at
   * a time, and every document stays pending.
   */
  onEncodeError?: (doc: K, error: unknown, chunk: RejectedChunk) => boolean | Promise<boolean>;
  /**
   * The breaker: this many inputs skipped in a row for the same failure stop
   * the fill with `ProviderFailureError`, and none of them is stamped (skip
   * stamps are held back until a success, a different failure or the end of
   * the fill). Default `DEFAULTS.maxConsecutiveSkips` (20); `Infinity` turns it off.
   */
  maxConsecutiveSkips?: number;
  /**
   * Once nothing is pending, run the store's full `prune` sweep (drop the
   * vectors of rows deleted outside vecfill) and report it as `pruned`.
   * Default false: a sweep reads every stamp, so `fill` does not run one on
   * every call. Deleted rows never reach search either way (hits join back
   * to existing rows); the sweep only frees their space. The SQLite store
   * also prunes a bounded slice inside every save.
   */
  prune?: boolean;
  /**
   * Re-attempt documents an earlier fill stamp-skipped (after an encoder
   * error; blank documents are re-stamped without calling the encoder).
   * Needs a store with `resetSkipped`.
   */
  retrySkipped?: boolean;
}

/** The chunk `onEncodeError` is asked about: its position in the document's chunks and content. */
export interface RejectedChunk {
  /** The chunk's `index` among the document's chunks (as in `Chunk`). */
  index: number;
  start: number;
  end: number;
}

export interface FillResult {
  /** Documents finished: embedded plus stamp-skipped. */
  documents: number;
  chunks: number;
  /** Documents stamped with no vectors: blank content, or every chunk skipped by `onEncodeError`. */
  skipped: number;
  /** Chunks skipped by `onEncodeError` in documents that were saved with their other chunks. */
  skippedChunks: number;
  /** Documents whose save was refused because they changed after the scan; a later fill embeds their new content. */
  stale: number;
  /** Documents whose save was refused because their row was deleted after the scan; nothing was saved for them. */
  missing: number;
  /** With `prune: true`: deleted documents whose leftover vectors the store's sweep dropped. */
  pruned?: number;
  /** With `retrySkipped`: documents skipped by an earlier fill that became pending again. */
  retried?: number;
}

/** A result with nothing done yet: what a fill (or one pass of `follow`) counts up from. */
export function emptyFillResult(): FillResult {
  return { documents: 0, chunks: 0, skipped: 0, skippedChunks: 0, stale: 0, missing: 0 };
}
