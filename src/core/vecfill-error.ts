/**
 * The base of every error vecfill throws on purpose, and the union of their
 * stable codes. The classes live in `errors.ts` (documents, generations,
 * search) and `encode-errors.ts` (encoders); import them from there.
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
