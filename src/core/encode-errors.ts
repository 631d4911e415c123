/**
 * What an encoder's failure means to `fill`: a document's own problem (blank
 * input, an invalid vector, a permanent rejection) that may be skipped, or
 * the provider's (an outage, a misconfiguration, a whole bad batch) that
 * stops the fill with every document still pending.
 */
import { VecfillError } from './vecfill-error.js';

/** Blank text reached an encoder boundary. Blank text is never sent to an encoder. */
export class EmptyInputError extends VecfillError {
  /** Position of the blank text in the input array. */
  readonly index: number;
  constructor(index: number, what = 'text') {
    super(
      'EMPTY_INPUT',
      `${what} at index ${index} is blank (empty, whitespace or invisible characters only); blank text is never encoded`,
    );
    this.index = index;
  }
}

/** Why an encoder's output was refused. */
export type InvalidVectorReason =
  | 'count'
  | 'not-a-vector'
  | 'dimensions'
  | 'non-finite'
  | 'zero-norm';

/**
 * An encoder returned something that must not reach a store: the wrong number
 * of vectors, a non-number, a vector of the wrong length, a NaN/Infinity
 * component, or an all-zero vector (cosine distance is undefined for it).
 */
export class InvalidVectorError extends VecfillError {
  /** Index of the input text whose vector is bad (for `count`, the first index of the batch). */
  readonly index: number;
  /** Index of the offending component, when one component is at fault. */
  readonly component: number | undefined;
  readonly reason: InvalidVectorReason;
  constructor(index: number, reason: InvalidVectorReason, detail: string, component?: number) {
    super('INVALID_VECTOR', `encoder returned an invalid vector for input ${index}: ${detail}`);
    this.index = index;
    this.reason = reason;
    this.component = component;
  }
}

/**
 * The encoder (or its provider) rejected the input in a way retrying cannot
 * fix: a 4xx other than 429, text with no known word, and so on. `fill`'s
 * `onEncodeError` typically stamp-skips such a document and carries on.
 */
export class PermanentEncodeError extends VecfillError {
  /** HTTP status, when the rejection came from an HTTP provider. */
  readonly status: number | undefined;
  constructor(message: string, options?: { status?: number; cause?: unknown }) {
    super(
      'PERMANENT_ENCODE',
      message,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.status = options?.status;
  }
}

/**
 * The provider kept failing in a way that might pass: rate limits, 5xx,
 * timeouts, network errors. Never a document's fault: `fill` stops with it
 * (documents stay pending) and never hands it to `onEncodeError`.
 */
export class TransientEncodeError extends VecfillError {
  readonly status: number | undefined;
  /** How long the provider asked to wait (`Retry-After`), when it said. */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, status?: number, cause?: unknown, retryAfterMs?: number) {
    super('TRANSIENT_ENCODE', message, cause === undefined ? undefined : { cause });
    this.status = status;
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * The encoder is misconfigured for its provider: a rejected or missing API
 * key (HTTP 401/403/407), a wrong model or base URL (404/405), another
 * vector length than the generation's. Never a document's fault: `fill`
 * stops with it and never hands it to `onEncodeError`.
 */
export class EncoderConfigError extends VecfillError {
  /** HTTP status, when the provider answered with one. */
  readonly status: number | undefined;
  constructor(message: string, options?: { status?: number }) {
    super('ENCODER_CONFIG', message);
    this.status = options?.status;
  }
}

/**
 * The encoder failed in a way that is the provider's fault, not one input's:
 * every vector of a batch was unusable (all zeros, overflowing, wrong
 * length), or the same failure hit `consecutive` inputs in a row (the
 * breaker of `fill`, see `FillOptions.maxConsecutiveSkips`). `fill` stops
 * with it; the documents involved stay pending, none is stamp-skipped.
 */
export class ProviderFailureError extends VecfillError {
  /** Inputs that failed in a row (the breaker), or the batch size (a whole bad batch). */
  readonly consecutive: number;
  constructor(message: string, consecutive: number, cause?: unknown) {
    super('PROVIDER_FAILURE', message, cause === undefined ? undefined : { cause });
    this.consecutive = consecutive;
  }
}

/**
 * True for failures that are the provider's or the configuration's, never an
 * input's: `TransientEncodeError`, `EncoderConfigError`,
 * `ProviderFailureError`, and a wrong vector count. `fill` stops on them
 * without retrying documents one at a time and without asking
 * `onEncodeError`, so they are never recorded as a document's fault.
 */
export function isProviderFailure(error: unknown): boolean {
  return (
    error instanceof TransientEncodeError ||
    error instanceof EncoderConfigError ||
    error instanceof ProviderFailureError ||
    (error instanceof InvalidVectorError && error.reason === 'count')
  );
}
