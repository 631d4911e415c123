/**
 * Error classes. Every error vecfill throws on purpose is a subclass of
 * {@link VecfillError}, so callers can test with `instanceof` and read a
 * stable `code` instead of parsing messages. Messages name the document and
 * the generation involved and say what to do next.
 */
import { describe, VecfillError } from './vecfill-error.js';

export {
  EmptyInputError,
  EncoderConfigError,
  InvalidVectorError,
  type InvalidVectorReason,
  isProviderFailure,
  PermanentEncodeError,
  ProviderFailureError,
  TransientEncodeError,
} from './encode-errors.js';
export { describe, type ErrorCode, VecfillError } from './vecfill-error.js';

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
