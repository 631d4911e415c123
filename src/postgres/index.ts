/**
 * `vecfill/postgres`: the same Store contract and guarantees as
 * `vecfill/sqlite`, over PostgreSQL + pgvector. Bring any client with
 * `query(text, params)`: a node-postgres Pool, a Client, or PGlite.
 */
export type { PgClient, PgPoolLike, PgQueryable, PgTransactional } from './pg-client.js';
export type { PgSchema, ValidPgSchema } from './pg-schema.js';
export { PgStore } from './pg-store.js';
export type * from './pg-types.js';
