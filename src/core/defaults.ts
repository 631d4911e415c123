/**
 * Every default of the library and the command line, in one table: a
 * default written in two places drifts (the CLI once encoded 64 texts per
 * call while a doc said otherwise). Code reads a default from here; docs
 * name the option, not a number of their own.
 */
export const DEFAULTS = Object.freeze({
  /** Texts per encode call (`encodeBatched`, `fill`'s batches, `vecfill fill --batch-size`). */
  batchSize: 64,
  /** Documents `fill` reads per scan. */
  scanBatch: 128,
  /** Encode calls in flight at once. */
  concurrency: 1,
  /** The `k` of reciprocal rank fusion, `1 / (k + rank)` (merge `rrf`, hybrid search). */
  rankConstant: 60,
  /** Documents a search returns. */
  limit: 10,
  /** Chunk hits asked of each generation at first, per wanted document. */
  perGenerationFactor: 3,
  /** Deadline of one generation's query encoding, in milliseconds. */
  queryTimeoutMs: 3000,
  /** Longest chunk `split` makes, in characters. */
  maxChars: 1000,
  /** Inputs skipped in a row for one failure that stop a fill (the breaker). */
  maxConsecutiveSkips: 20,
  /** Share of documents skipped after encoder errors that `activate` still accepts. */
  maxSkippedShare: 0.01,
  /** How often `follow` runs the store's full `prune` sweep, in milliseconds. */
  pruneEveryMs: 30_000,
});

/**
 * Returns `value` when it is a positive safe integer; otherwise throws a
 * `RangeError` that names the option (`what`) and the value it got. One
 * check, one message, for every count a caller passes.
 *
 * @example
 * ```ts
 * const limit = positiveInteger(opts.limit ?? DEFAULTS.limit, 'search: limit');
 * ```
 */
export function positiveInteger(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${what} must be a positive integer, got ${String(value)}`);
  }
  return value;
}
