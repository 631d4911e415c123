import { InvalidVectorError, PermanentEncodeError, type RejectedChunk } from '../core/index.js';

/**
 * True for failures that retrying cannot fix for this input: the provider
 * rejected it (`PermanentEncodeError`: a 4xx other than 429, text with no
 * known word) or returned an unusable vector for it (`InvalidVectorError`
 * naming one input). Outages — timeouts, 429s and 5xx after the retries ran
 * out, network errors — are not permanent.
 */
export function isPermanentEncodeError(error: unknown): boolean {
  if (error instanceof PermanentEncodeError) return true;
  return error instanceof InvalidVectorError && error.reason !== 'count';
}

/**
 * An `onEncodeError` for `fill` that skips chunks a model permanently
 * rejects (the document's other chunks are still embedded; a document whose
 * every chunk is rejected is stamp-skipped) and stops the fill on outages.
 * `report` hears about every skipped chunk.
 *
 * @example
 * ```ts
 * await fill(store, gen, encode, {
 *   onEncodeError: skipPermanentErrors((doc, err, chunk) =>
 *     console.warn(`skipped chunk ${chunk?.index} of ${doc}: ${err.message}`),
 *   ),
 * });
 * ```
 */
export function skipPermanentErrors<K>(
  report?: (doc: K, error: Error, chunk?: RejectedChunk) => void,
): (doc: K, error: unknown, chunk?: RejectedChunk) => boolean {
  return (doc, error, chunk) => {
    if (!isPermanentEncodeError(error)) return false;
    report?.(doc, error as Error, chunk);
    return true;
  };
}
