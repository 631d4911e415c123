/**
 * `vecfill/sqlite`: the embedded default store, on better-sqlite3 and the
 * sqlite-vec extension. See `SqliteStore` and `openDatabase`.
 */
export { ftsMatch, ftsQuery, ftsTerms } from './full-text.js';
export type {
  Candidate,
  GenerationIndex,
  ScanKind,
  StoredVector,
  VectorSource,
} from './index/generation-index.js';
export type { ScanOptions, ScanStatus } from './index/scan-indexes.js';
export { loadVec, type OpenDatabaseOptions, openDatabase } from './open-database.js';
export { type GenerationOptions, QUANTIZATIONS, type Quantization } from './quantize.js';
export type { SqliteSchema, ValidSqliteSchema } from './sqlite-schema.js';
export {
  type GenerationStats,
  type SqliteFilter,
  type SqliteKey,
  SqliteStore,
  type SqliteValue,
} from './sqlite-store.js';
