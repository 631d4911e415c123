/**
 * `vecfill/sqlite`: the embedded default store, on better-sqlite3 and the
 * sqlite-vec extension. See `SqliteStore` and `openDatabase`. The public API
 * only: the store's parts (its SQL, its in-memory indexes) are internal.
 */
export type { ScanKind } from './index/generation-index.js';
export type { ScanOptions, ScanStatus } from './index/scan-indexes.js';
export { type OpenDatabaseOptions, openDatabase } from './open-database.js';
export {
  QUANTIZATIONS,
  type Quantization,
  type SqliteGenerationOptions,
} from './quantize.js';
export type { SqliteGenerationInfo } from './sqlite-generations.js';
export type { SqliteSchema, ValidSqliteSchema } from './sqlite-schema.js';
export {
  type SqliteFilter,
  type SqliteGenerationStats,
  type SqliteKey,
  SqliteStore,
  type SqliteValue,
} from './sqlite-store.js';
