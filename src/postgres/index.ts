/**
 * `vecfill/postgres`: the same Store contract and guarantees as
 * `vecfill/sqlite`, over PostgreSQL + pgvector. Bring any client with
 * `query(text, params)`: a node-postgres Pool, a Client, or PGlite.
 */
export {
  inTransaction,
  type PgClient,
  type PgPoolLike,
  type PgQueryable,
  type PgTransactional,
} from './pg-client.js';
export { coveredPg, type PgSchema, type ValidPgSchema, validatePgSchema } from './pg-schema.js';
export {
  type PgBuildIndexOptions,
  type PgFilter,
  type PgIndexProgress,
  type PgIndexStatus,
  type PgKey,
  PgStore,
  type PgvectorInfo,
  vectorLiteral,
} from './pg-store.js';
