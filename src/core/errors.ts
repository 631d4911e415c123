/**
 * Error classes. Every error vecfill throws on purpose is a subclass of
 * {@link VecfillError}, so callers can test with `instanceof` and read a
 * stable `code` instead of parsing messages. Messages name the document and
 * the generation involved and say what to do next.
 */

/**
 * Every stable `code` a {@link VecfillError} carries. A code never changes
 * meaning once published; branch on it (or on the class) instead of the
 * message. The error classes below name their own; the rest are thrown as
 * plain `VecfillError`s:
 * - `STORE_INCONSISTENT`: a store reports a document pending right after
 *   each save of it (`fill`): its stamp and freshness predicate disagree;
 * - `NO_FULL_TEXT`: a full-text query on a store opened without full text;
 * - `MISSING_PEER`: an optional peer package is not installed (`ai`,
 *   `@huggingface/transformers`);
 * - `MISSING_WORD_VECTORS`: the word-vector package of `wordVectors()` is missing;
 * - `MODEL_UNAVAILABLE`: a local model (`transformers()`) cannot be loaded;
 * - `ENCODE_FAILED`: a local model failed on a batch;
 * - `ENCODER_CLOSED`: an encoder was used after `close()`.
 */
export type ErrorCode =
  | 'STALE'
  | 'MISSING_DOCUMENT'
  | 'EMPTY_INPUT'
  | 'INVALID_VECTOR'
  | 'PERMANENT_ENCODE'
  | 'TRANSIENT_ENCODE'
  | 'ENCODER_CONFIG'
  | 'PROVIDER_FAILURE'
  | 'UNCOVERED'
  | 'TOO_MANY_SKIPPED'
  | 'GENERATION_CONFLICT'
  | 'UNKNOWN_GENERATION'
  | 'LIFECYCLE'
  | 'DIMENSION_MISMATCH'
  | 'INVALID_IDENTIFIER'
  | 'DUPLICATE_KEY'
  | 'SEARCH_UNAVAILABLE'
  | 'QUERY_TIMEOUT'
  | 'STORE_INCONSISTENT'
  | 'NO_FULL_TEXT'
  | 'MISSING_PEER'
  | 'MISSING_WORD_VECTORS'
  | 'MODEL_UNAVAILABLE'
  | 'ENCODE_FAILED'
  | 'ENCODER_CLOSED';

/** Base class of every error vecfill throws deliberately. */
export class VecfillError extends Error {
  /** A stable machine-readable code, e.g. `'STALE'`. */
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/**
 * The document's revision changed between the scan and the save, so the
 * vectors describe content the row no longer has. Nothing was persisted;
 * the document stays pending and a later fill embeds its new content.
 */
export class StaleError extends VecfillError {
  readonly doc: unknown;
  readonly generation: unknown;
  constructor(doc: unknown, generation: unknown, detail = '') {
    super(
      'STALE',
      `document ${describe(doc)} changed after it was read for generation ${describe(generation)}; nothing was saved and it stays pending${detail ? ` (${detail})` : ''}`,
    );
    this.doc = doc;
    this.generation = generation;
  }
}

/**
 * The document row no longer exists (deleted between scan and save, or a key
 * that was never there). Nothing was persisted, so no orphan vectors remain.
 */
export class MissingDocumentError extends VecfillError {
  readonly doc: unknown;
  constructor(doc: unknown, generation?: unknown) {
    super(
      'MISSING_DOCUMENT',
      `document ${describe(doc)} does not exist${generation === undefined ? '' : ` (saving generation ${describe(generation)})`}; nothing was saved`,
    );
    this.doc = doc;
  }
}

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

/** `activate` was refused because documents are still not covered by the generation. */
export class UncoveredError extends VecfillError {
  readonly generation: unknown;
  /** How many documents still wait to be embedded. */
  readonly backlog: number;
  /** `next` says what to run first; by default, fill the generation. */
  constructor(generation: unknown, backlog: number, next = 'run fill for it first') {
    super(
      'UNCOVERED',
      `generation ${describe(generation)} cannot be activated: ${backlog} document(s) are not embedded yet; ${next}`,
    );
    this.generation = generation;
    this.backlog = backlog;
  }
}

/** How many documents a generation skipped for one reason. */
export interface SkipReason {
  /** The encoder's error message, as saved with the skip stamps. */
  reason: string;
  documents: number;
}

/**
 * `activate` was refused because the generation embedded nothing, or skipped
 * more than `maxSkippedShare` of the documents after encoder errors: search
 * would silently lose them. Says how many and why; `force` overrides.
 */
export class TooManySkippedError extends VecfillError {
  readonly generation: unknown;
  readonly embedded: number;
  /** Documents skipped after an encoder error (blank documents are not counted). */
  readonly skipped: number;
  /** The most common reasons, most frequent first. */
  readonly reasons: SkipReason[];
  constructor(generation: unknown, embedded: number, skipped: number, reasons: SkipReason[]) {
    const total = embedded + skipped;
    const share = total === 0 ? 0 : (skipped / total) * 100;
    const why = reasons
      .slice(0, 3)
      .map((r) => `${r.documents} × ${r.reason}`)
      .join('; ');
    super(
      'TOO_MANY_SKIPPED',
      `generation ${describe(generation)} cannot be activated: ${embedded === 0 ? 'it embedded nothing and ' : ''}${skipped} of ${total} documents (${share.toFixed(share < 10 ? 1 : 0)}%) were skipped after encoder errors (${why}). Fix the cause and fill again with retrySkipped (vecfill fill --retry-skipped), or activate with force (vecfill activate --force) to accept the loss`,
    );
    this.generation = generation;
    this.embedded = embedded;
    this.skipped = skipped;
    this.reasons = reasons;
  }
}

/** A generation key is already known with a different fingerprint or dimension. */
export class GenerationConflictError extends VecfillError {
  readonly generation: unknown;
  constructor(generation: unknown, detail: string) {
    super(
      'GENERATION_CONFLICT',
      `generation ${describe(generation)} already exists with ${detail}; choose a new generation key for a new model or setting`,
    );
    this.generation = generation;
  }
}

/** A generation key the store does not know. */
export class UnknownGenerationError extends VecfillError {
  readonly generation: unknown;
  constructor(generation: unknown) {
    super(
      'UNKNOWN_GENERATION',
      `generation ${describe(generation)} is not known to this store; create it with ensureGeneration first`,
    );
    this.generation = generation;
  }
}

/** A lifecycle transition that is not allowed (e.g. reclaiming a live generation). */
export class LifecycleError extends VecfillError {
  constructor(message: string) {
    super('LIFECYCLE', message);
  }
}

/** A vector's length does not match its generation's dimensions. */
export class DimensionMismatchError extends VecfillError {
  readonly expected: number;
  readonly actual: number;
  constructor(expected: number, actual: number, where: string) {
    super(
      'DIMENSION_MISMATCH',
      `${where}: vector has ${actual} dimensions, the generation expects ${expected}`,
    );
    this.expected = expected;
    this.actual = actual;
  }
}

/** A configured SQL identifier failed validation; it was never put into SQL. */
export class InvalidIdentifierError extends VecfillError {
  readonly identifier: string;
  constructor(identifier: string, role: string, rule: string) {
    super(
      'INVALID_IDENTIFIER',
      `${role} ${JSON.stringify(identifier)} is not a valid SQL identifier (${rule})`,
    );
    this.identifier = identifier;
  }
}

/**
 * The documents table's id column is not unique: two rows share key `key`.
 * A store keys stamps and vectors by that column, so duplicates would mix
 * two documents' vectors; the store refuses before saving anything.
 */
export class DuplicateKeyError extends VecfillError {
  readonly table: string;
  readonly column: string;
  readonly key: unknown;
  constructor(table: string, column: string, key: unknown) {
    super(
      'DUPLICATE_KEY',
      `column ${column} of table ${table} is not unique (several rows have ${describe(key)}); vecfill needs a unique id column: make it the PRIMARY KEY or add a UNIQUE index (CREATE UNIQUE INDEX ${table}_${column}_key ON ${table}(${column})), or point idColumn at a unique column; nothing was saved`,
    );
    this.table = table;
    this.column = column;
    this.key = key;
  }
}

/** One generation's failure, as {@link SearchUnavailableError} lists it. */
export interface GenerationFailure {
  generation: unknown;
  error: unknown;
}

/**
 * No live generation could answer a search and no full-text side could
 * either: every live generation's query encoding or query failed. `causes`
 * lists each generation's error. A search
 * where some generation answers does not throw this: the failing ones are
 * left out and reported through `onGenerationError`.
 */
export class SearchUnavailableError extends VecfillError {
  readonly causes: GenerationFailure[];
  constructor(causes: GenerationFailure[], hint = '') {
    const detail = causes
      .map(
        (c) =>
          `generation ${describe(c.generation)}: ${c.error instanceof Error ? c.error.message : String(c.error)}`,
      )
      .join('; ');
    super('SEARCH_UNAVAILABLE', `no generation could answer the search: ${detail}${hint}`, {
      cause: causes[0]?.error,
    });
    this.causes = causes;
  }
}

/**
 * A generation's query encoder did not answer within `queryTimeoutMs`: the
 * search went on without that generation (its retries were cancelled).
 */
export class QueryTimeoutError extends VecfillError {
  readonly generation: unknown;
  readonly timeoutMs: number;
  constructor(generation: unknown, timeoutMs: number) {
    super(
      'QUERY_TIMEOUT',
      `the query encoder of generation ${describe(generation)} did not answer within ${timeoutMs} ms`,
    );
    this.generation = generation;
    this.timeoutMs = timeoutMs;
  }
}

/** Renders a document or generation key for an error message. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number' || typeof value === 'boolean' || value == null)
    return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
