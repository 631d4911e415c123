import { UnknownGenerationError } from '../core/index.js';
import {
  type GenRowBase,
  POSTGRES,
  reclaimedError,
  ScanCursor,
  type Slots,
  type SqlNames,
  slots,
} from '../sql/index.js';
import { inTransaction, type PgClient, type PgQueryable } from './pg-client.js';
import { pgNames, type ValidPgSchema } from './pg-schema.js';
import type { PgKey, PgvectorInfo } from './pg-types.js';

/** A result row as the driver returns it. */
export type Row = Record<string, unknown>;

/**
 * The names SQL is built from: the documents table and the store's own
 * tables and indexes, quoted and schema-qualified, as the shared builders
 * (`src/sql`) take them, plus the per-generation vector tables.
 */
export interface PgTables extends SqlNames {
  /** A generation's vector table. */
  vec(id: number): string;
  /** A generation's HNSW index, schema-qualified (for DROP and `to_regclass`). */
  hnsw(id: number): string;
  /** The same index's bare name (for CREATE INDEX, which puts it in its table's schema). */
  hnswName(id: number): string;
}

/** A row of `<prefix>_generations` (Postgres stores `reclaimed` as a boolean). */
export interface GenRow extends GenRowBase {
  reclaimed: boolean;
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
  /** The server takes `COPY … FROM STDIN` (a real PostgreSQL, not PGlite): vectors are loaded by binary COPY where the client can. */
  readonly copyIn: boolean;
  /** This process's lease owner. */
  readonly owner: string;
  /** Where each generation's pending scan resumes. */
  readonly cursor: ScanCursor<PgKey>;
  /** Runs one statement, on `via` (a transaction) or the client; resolves its rows. */
  q(sql: string, params?: unknown[], via?: PgQueryable): Promise<Row[]>;
  /**
   * Runs a statement built with named slots (`p.slot('gen')`, the one
   * placeholder scheme of `src/sql`): a caller's filter parameters are bound
   * first, so its own `$1…$n` stay verbatim; the store's values follow.
   */
  sql(
    build: (p: Slots) => string,
    values: Readonly<Record<string, unknown>>,
    via?: PgQueryable,
    filterParams?: readonly unknown[],
  ): Promise<Row[]>;
  /** Runs `fn` in a transaction (see `inTransaction`). */
  tx<T>(fn: (tx: PgQueryable) => Promise<T>, opts?: { readOnly?: boolean }): Promise<T>;
}

export function pgContext(
  client: PgClient,
  schema: ValidPgSchema,
  idType: string,
  pgvector: PgvectorInfo,
  copyIn: boolean,
): PgContext {
  const lock = { tail: Promise.resolve() as Promise<unknown> };
  return {
    client,
    schema,
    t: {
      ...pgNames(schema),
      vec: (id) => schema.table(`vec_${id}`),
      hnsw: (id) => schema.table(`vec_${id}_hnsw`),
      hnswName: (id) => schema.indexName(`vec_${id}_hnsw`),
    },
    idType,
    pgvector,
    copyIn,
    owner: `${process.pid}-${Math.random().toString(36).slice(2)}`,
    cursor: new ScanCursor(),
    q: (sql, params = [], via = client) => via.query(sql, params).then((r) => r.rows),
    sql: (build, values, via = client, filterParams = []) =>
      runSql(via, build, values, filterParams),
    tx: (fn, opts) => inTransaction(client, lock, fn, opts),
  };
}

/** Runs a statement built with named slots on `via` (see `PgContext.sql`). */
export async function runSql(
  via: PgQueryable,
  build: (p: Slots) => string,
  values: Readonly<Record<string, unknown>>,
  filterParams: readonly unknown[] = [],
): Promise<Row[]> {
  const p = slots(POSTGRES, filterParams.length);
  const text = build(p);
  return (await via.query(text, p.args(values, filterParams))).rows;
}

/** Serializes the store's DDL and generation changes across sessions (a transaction-scoped advisory lock). */
export async function lockStore(ctx: PgContext, tx: PgQueryable): Promise<void> {
  await ctx.sql(
    (p) => `SELECT pg_advisory_xact_lock(hashtext('vecfill'), hashtext(${p.slot('store')}))`,
    { store: ctx.t.gens },
    tx,
  );
}

/** The generation row of `key`; `UnknownGenerationError` when there is none. */
export async function genRow(ctx: PgContext, key: string, via?: PgQueryable): Promise<GenRow> {
  const [row] = await ctx.sql(
    (p) => `SELECT * FROM ${ctx.t.gens} WHERE key = ${p.slot('key')}`,
    { key },
    via,
  );
  if (!row) throw new UnknownGenerationError(key);
  return row as unknown as GenRow;
}

/** `genRow`, refused for a reclaimed generation (its vectors are gone). */
export async function liveGenRow(ctx: PgContext, key: string, via?: PgQueryable): Promise<GenRow> {
  const g = await genRow(ctx, key, via);
  if (g.reclaimed) throw reclaimedError(key);
  return g;
}

/** Every generation row (reclaimed ones too). */
export async function allGenRows(
  ctx: PgContext,
  via?: PgQueryable,
  except?: number,
): Promise<GenRow[]> {
  const rows = await ctx.sql(
    (p) =>
      `SELECT * FROM ${ctx.t.gens}${except === undefined ? '' : ` WHERE id <> ${p.slot('except')}`} ORDER BY id`,
    except === undefined ? {} : { except },
    via,
  );
  return rows as unknown as GenRow[];
}
