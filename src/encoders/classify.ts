import { InvalidVectorError, PermanentEncodeError } from '../core/index.js';

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
 * An `onEncodeError` for `fill` that stamp-skips documents a model
 * permanently rejects and stops the fill on outages. `report` hears about
 * every skipped document.
 *
 * @example
 * ```ts
 * await fill(store, gen, encode, {
 *   onEncodeError: skipPermanentErrors((doc, err) => console.warn(`skipped ${doc}: ${err.message}`)),
 * });
 * ```
 */
export function skipPermanentErrors<K>(
  report?: (doc: K, error: Error) => void,
): (doc: K, error: unknown) => boolean {
  return (doc, error) => {
    if (!isPermanentEncodeError(error)) return false;
    report?.(doc, error as Error);
    return true;
  };
}
