import { DEFAULTS } from './defaults.js';
import { type SkipReason, TooManySkippedError } from './errors.js';

/** Options of a store's `activate`. */
export interface ActivateOptions {
  /**
   * Largest share (0..1) of documents skipped after encoder errors that
   * `activate` accepts; blank documents do not count. Default
   * `DEFAULTS.maxSkippedShare` (0.01, 1 %).
   */
  maxSkippedShare?: number;
  /** Activate even when the generation skipped more, or embedded nothing. */
  force?: boolean;
}

/**
 * The rule every store's `activate` applies once the backlog is zero: a
 * generation that embedded nothing while it skipped documents, or skipped
 * more than `maxSkippedShare` of them after encoder errors, would make search
 * silently lose them — usually because the provider failed, not the
 * documents. Throws `TooManySkippedError` unless `force`.
 */
export function checkSkippedShare(
  gen: unknown,
  embedded: number,
  reasons: readonly SkipReason[],
  options: ActivateOptions = {},
): void {
  const max = options.maxSkippedShare ?? DEFAULTS.maxSkippedShare;
  if (!(max >= 0 && max <= 1)) {
    throw new RangeError(`activate: maxSkippedShare must be between 0 and 1, got ${max}`);
  }
  if (options.force) return;
  const skipped = reasons.reduce((n, r) => n + r.documents, 0);
  if (skipped === 0) return;
  if (embedded === 0 || skipped / (embedded + skipped) > max) {
    throw new TooManySkippedError(gen, embedded, skipped, [...reasons]);
  }
}
