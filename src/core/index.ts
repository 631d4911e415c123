/**
 * vecfill core: keeps vector embeddings of a table you own in sync with it.
 *
 * Three layers, and this package is the first and the third:
 *   1. transforms and values (pure, no I/O): fingerprint, split, isBlank,
 *      encodeBatched, rollupByDocument, merge;
 *   2. the Store contract: the only way the flows reach storage;
 *   3. flows: fill (scan-and-fill), follow (fill as the data changes) and
 *      search (every live generation, merged).
 *
 * Nothing here opens a database, builds backend SQL or speaks HTTP: backends
 * live in `vecfill/sqlite` and `vecfill/postgres`, encoders in
 * `vecfill/encoders`. A test keeps it that way.
 *
 * This file is the package's public API and nothing else: helpers the
 * backends and the CLI share with the core (`describe`, `fuseHybrid`,
 * `checkSkippedShare`, `validateIdentifier`, …) are imported from their
 * own files.
 */
export type { ActivateOptions } from './activation.js';
export { isBlank } from './blank.js';
export { type Chunk, type SplitOptions, split } from './chunk.js';
export { DEFAULTS } from './defaults.js';
export {
  type EncodeBatchedOptions,
  type EncodeCallOptions,
  type EncodeFn,
  type EncodeKind,
  encodeBatched,
} from './encode.js';
export {
  DimensionMismatchError,
  DuplicateKeyError,
  EmptyInputError,
  EncoderConfigError,
  type ErrorCode,
  GenerationConflictError,
  type GenerationFailure,
  InvalidIdentifierError,
  InvalidVectorError,
  type InvalidVectorReason,
  isProviderFailure,
  LifecycleError,
  MissingDocumentError,
  PermanentEncodeError,
  ProviderFailureError,
  QueryTimeoutError,
  SearchUnavailableError,
  type SkipReason,
  StaleError,
  TooManySkippedError,
  TransientEncodeError,
  UncoveredError,
  UnknownGenerationError,
  VecfillError,
} from './errors.js';
export {
  type FillOptions,
  type FillProgress,
  type FillResult,
  fill,
  type RejectedChunk,
} from './fill.js';
export {
  type FollowEvent,
  type FollowOptions,
  type FollowSummary,
  follow,
  isConfigError,
} from './follow.js';
export {
  canonicalJson,
  fingerprint,
  type Generation,
  type ParamValue,
  validateGeneration,
} from './generation.js';
export {
  type DocHit,
  type MergeOptions,
  type MergeStrategy,
  merge,
  rollupByDocument,
} from './merge.js';
export { type SearchOptions, search } from './search.js';
export type {
  Awaitable,
  ChunkVector,
  Coverage,
  GenerationInfo,
  GenerationOptions,
  GenerationState,
  GenerationStats,
  Hit,
  LifecycleStore,
  Pending,
  QueryOptions,
  Revision,
  SaveItem,
  SaveOptions,
  Store,
  WaitForChangeOptions,
} from './store.js';
