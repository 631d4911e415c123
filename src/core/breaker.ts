import {
  describe as describeValue,
  InvalidVectorError,
  ProviderFailureError,
  VecfillError,
} from './errors.js';

/**
 * The breaker of `fill`: counts inputs skipped in a row for the same failure
 * and holds their skip stamps back until something breaks the run.
 *
 * One document a model rejects is that document's fault; the same rejection
 * for every document in a row is the provider's (an expired key behind a
 * proxy that answers 400, a model that returns zeros). Holding the stamps
 * means a tripped breaker leaves every document of the run pending, so a
 * provider failure is never recorded as a document's fault: only a success
 * (the provider works), a different failure, or the end of the fill releases
 * the held skips to be saved.
 */
export class SkipBreaker<T> {
  readonly threshold: number;
  #held: T[] = [];
  #kind: string | undefined;

  constructor(threshold: number) {
    if (!(Number.isSafeInteger(threshold) && threshold >= 1) && threshold !== Infinity) {
      throw new RangeError(
        `fill: maxConsecutiveSkips must be a positive integer or Infinity, got ${threshold}`,
      );
    }
    this.threshold = threshold;
  }

  /** Skips held back so far. */
  get held(): readonly T[] {
    return this.#held;
  }

  /**
   * Records a skip. Returns the held skips a different failure released (to
   * save now); throws `ProviderFailureError` when the same failure reached
   * the threshold (nothing of the run is saved).
   */
  skip(item: T, error: unknown): T[] {
    const kind = failureKind(error);
    let released: T[] = [];
    if (kind !== this.#kind) {
      released = this.#held;
      this.#held = [];
      this.#kind = kind;
    }
    this.#held.push(item);
    if (this.#held.length >= this.threshold) {
      const n = this.#held.length;
      this.#held = [];
      this.#kind = undefined;
      const message = error instanceof Error ? error.message : describeValue(error);
      throw new ProviderFailureError(
        `${n} inputs in a row failed the same way (${message}); that is the provider or its configuration failing, not the documents, so the fill stopped and none of them was skipped. Fix the cause and run the fill again (or raise maxConsecutiveSkips if these documents really are all unusable)`,
        n,
        error,
      );
    }
    return released;
  }

  /** A success: the held skips were their documents' own fault after all. Returns them to save. */
  success(): T[] {
    const released = this.#held;
    this.#held = [];
    this.#kind = undefined;
    return released;
  }
}

/**
 * Two failures are "the same" when class, code, HTTP status and message
 * agree; invalid vectors when their reason does (the message names the input).
 */
function failureKind(error: unknown): string {
  if (!(error instanceof Error)) return `value:${describeValue(error)}`;
  if (error instanceof InvalidVectorError) return `InvalidVectorError|${error.reason}`;
  const code = error instanceof VecfillError ? error.code : '';
  const status = (error as { status?: unknown }).status;
  return `${error.name}|${code}|${String(status)}|${error.message}`;
}
