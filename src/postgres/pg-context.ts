import {
  type Generation,
  type GenerationInfo,
  type GenerationState,
  LifecycleError,
  UnknownGenerationError,
} from '../core/index.js';
import { inTransaction, type PgClient, type PgQueryable } from './pg-client.js';
import type { ValidPgSchema } from './pg-schema.js';
import type { PgKey, PgvectorInfo } from './pg-types.js';

/** A result row as the driver returns it. */
export type Row = Record<string, unknown>;

/** The store's own tables and indexes, quoted and schema-qualified. */
export interface PgTables {
  gens: string;
  chunks: string;
  stamps: string;
  leases: string;
  /** A generation's vector table. */
  vec(id: number): string;
  /** A generation's HNSW index, schema-qualified (for DROP and `to_regclass`). */
  hnsw(id: number): string;
  /** The same index's bare name (for CREATE INDEX, which puts it in its table's schema). */
  hnswName(id: number): string;
}

/** A row of `<prefix>_generations`. */
export interface GenRow {
  id: number;
  key: string;
  generation: string;
  fingerprint: string;
  dimensions: number;
  state: GenerationState;
  reclaimed: boolean;
  created_at: string | Date;
}

/**
 * What every part of the Postgres store shares: the client, the validated
 * schema, the table names, and how a statement or a transaction runs. Built
 * once by `PgStore.open`; the concern files (scan, save, search, …) are
 * functions of it.
 */
export interface PgContext {
  readonly client: PgClient;
  readonly schema: ValidPgSchema;
  readonly t: PgTables;
  /** SQL type of the documents' key column: the store's `doc` columns and key arrays use it. */
  readonly idType: string;
  readonly pgvector: PgvectorInfo;
  /** This process's lease owner. */
  readonly owner: string;
  /** Where each generation's pending scan resumes (by generation id). */
  readonly cursor: Map<number, PgKey>;
  /** Runs one statement, on `via` (a transaction) or the client; resolves its rows. */
  q(sql: string, params?: unknown[], via?: PgQueryable): Promise<Row[]>;
  /** Runs `fn` in a transaction (see `inTransaction`). */
  tx<T>(fn: (tx: PgQueryable) => Promise<T>, opts?: { readOnly?: boolean }): Promise<T>;
}

export function pgContext(
  client: PgClient,
  schema: ValidPgSchema,
  idType: string,
  pgvector: PgvectorInfo,
): PgContext {
  const lock = { tail: Promise.resolve() as Promise<unknown> };
  return {
    client,
    schema,
    t: {
      gens: schema.table('generations'),
      chunks: schema.table('chunks'),
      stamps: schema.table('stamps'),
      leases: schema.table('leases'),
      vec: (id) => schema.table(`vec_${id}`),
      hnsw: (id) => schema.table(`vec_${id}_hnsw`),
      hnswName: (id) => schema.indexName(`vec_${id}_hnsw`),
    },
    idType,
    pgvector,
    owner: `${process.pid}-${Math.random().toString(36).slice(2)}`,
    cursor: new Map(),
    q: (sql, params = [], via = client) => via.query(sql, params).then((r) => r.rows),
    tx: (fn, opts) => inTransaction(client, lock, fn, opts),
  };
}

/** Serializes the store's DDL and generation changes across sessions (a transaction-scoped advisory lock). */
export async function lockStore(ctx: PgContext, tx: PgQueryable): Promise<void> {
  await ctx.q(`SELECT pg_advisory_xact_lock(hashtext('vecfill'), hashtext($1))`, [ctx.t.gens], tx);
}

/** The generation row of `key`; `UnknownGenerationError` when there is none. */
export async function genRow(ctx: PgContext, key: string, via?: PgQueryable): Promise<GenRow> {
  const [row] = await ctx.q(`SELECT * FROM ${ctx.t.gens} WHERE key = $1`, [key], via);
  if (!row) throw new UnknownGenerationError(key);
  return row as unknown as GenRow;
}

/** `genRow`, refused for a reclaimed generation (its vectors are gone). */
export async function liveGenRow(ctx: PgContext, key: string, via?: PgQueryable): Promise<GenRow> {
  const g = await genRow(ctx, key, via);
  if (g.reclaimed)
    throw new LifecycleError(
      `generation ${JSON.stringify(key)} was reclaimed: its vectors are gone; ensure it again to rebuild it`,
    );
  return g;
}

/** Every generation row (reclaimed ones too). */
export async function allGenRows(
  ctx: PgContext,
  via?: PgQueryable,
  except?: number,
): Promise<GenRow[]> {
  const rows =
    except === undefined
      ? await ctx.q(`SELECT * FROM ${ctx.t.gens} ORDER BY id`, [], via)
      : await ctx.q(`SELECT * FROM ${ctx.t.gens} WHERE id <> $1 ORDER BY id`, [except], via);
  return rows as unknown as GenRow[];
}

export function toInfo(row: GenRow): GenerationInfo<string> {
  return {
    key: row.key,
    generation: JSON.parse(row.generation) as Generation,
    fingerprint: row.fingerprint,
    dimensions: Number(row.dimensions),
    state: row.state,
    reclaimed: Boolean(row.reclaimed),
    createdAt:
      row.created_at instanceof Date ? row.created_at.toISOString() : String(row.created_at),
  };
}
