import type Database from 'better-sqlite3';
import { validateIdentifier } from '../core/identifier.js';
import type { LifecycleStore } from '../core/index.js';
import type { PgStore } from '../postgres/index.js';
import {
  type ColumnValue,
  POSTGRES,
  SQLITE,
  equalityFilter as sharedEqualityFilter,
} from '../sql/index.js';
import type { SqliteGenerationOptions, SqliteStore } from '../sqlite/index.js';
import { sqliteBackend } from './backend-sqlite.js';
import { CliError, EXIT } from './errors.js';
import type { TableConfig } from './settings.js';

/** A document key as either backend returns it. */
export type CliKey = string | number | bigint;
/** A `--where` filter: SQL over the documents table, aliased `d`. */
export interface CliFilter {
  where: string;
  params?: readonly (string | number | null)[];
}
/**
 * The store every command drives: the core lifecycle contract, as both
 * backends implement it. Index options (`--quantization`, `--oversample`)
 * are SQLite's; a Postgres workspace refuses them before the store sees them.
 */
export type CliStore = LifecycleStore<CliKey, string, CliFilter, SqliteGenerationOptions>;

/**
 * The store with its backend, for what only one backend has: SQLite's
 * index facts, renamed files' vectors and leases; Postgres' change trigger,
 * HNSW index and its build progress.
 */
export type BackendStore =
  | { readonly kind: 'sqlite'; readonly store: SqliteStore }
  | { readonly kind: 'postgres'; readonly store: PgStore };

/** How a store is opened: leasing scanned documents, or tuned for one query. */
export interface OpenStoreOptions {
  /** Lease each scanned document for this long, so several fillers share a backlog. */
  leaseMs?: number | undefined;
  /** This process answers one query and exits (SQLite: KNN instead of loading vectors into memory). */
  oneQuery?: boolean | undefined;
}

/**
 * Where the settings and documents live: a SQLite file or a PostgreSQL
 * database. Everything the CLI asks of the database that is not the store's
 * (its own settings table, the documents table's columns, the vector tables
 * to drop on a reset) goes through here, so only the backend files know
 * which database they speak to.
 */
export interface Backend {
  readonly kind: 'sqlite' | 'postgres';
  /** Runs one statement with `?` placeholders; returns the rows it reads. */
  query(sql: string, params: readonly unknown[]): Promise<Record<string, unknown>[]>;
  openStore(cfg: TableConfig, opts?: OpenStoreOptions): Promise<BackendStore>;
  /** The column names of a table (`schema.table` on Postgres). */
  columns(table: string): Promise<string[]>;
  /** The tables of the database (of `schema` on Postgres), in the order they can be dropped. */
  tables(schema?: string): Promise<string[]>;
  /** Drops a table, given quoted; Postgres cascades to what depends on it. */
  dropTable(quoted: string): Promise<void>;
  sizeBytes(): Promise<number>;
  close(): Promise<void>;
  /** The better-sqlite3 connection, for SQLite-only commands. */
  readonly sqlite?: Database.Database;
}

const isPostgresUrl = (path: string) => /^postgres(ql)?:\/\//.test(path);

/** Opens a SQLite file (refused when missing unless `create`) or a `postgres://` URL. */
export async function openBackend(path: string, create: boolean): Promise<Backend> {
  if (!isPostgresUrl(path)) return sqliteBackend(path, create);
  // The Postgres driver is loaded only for a postgres:// URL.
  const { postgresBackend } = await import('./backend-postgres.js');
  return postgresBackend(path);
}

/** A validated name (`table` or `schema.table`), each part double-quoted. */
export function quoteName(name: string): string {
  return name
    .split('.')
    .map((p) => `"${validateIdentifier(p, 'identifier')}"`)
    .join('.');
}

/** The content of one document of the configured table ('' when it has none). */
export async function contentOf(backend: Backend, cfg: TableConfig, id: CliKey): Promise<string> {
  const [row] = await backend.query(
    `SELECT ${quoteName(cfg.content)} AS content FROM ${quoteName(cfg.table)} WHERE ${quoteName(cfg.id)} = ?`,
    [id],
  );
  return row?.content == null ? '' : String(row.content);
}

/** How many chunks the vector tables under `prefix` hold (0 when they do not exist). */
export async function vectorCount(backend: Backend, prefix: string): Promise<number> {
  const name = prefix
    .split('.')
    .map((p, i, all) => `"${i === all.length - 1 ? `${p}_chunks` : p}"`)
    .join('.');
  try {
    const [row] = await backend.query(`SELECT count(*) AS n FROM ${name}`, []);
    return Number(row?.n ?? 0);
  } catch {
    return 0;
  }
}

/** Drops every table the store owns under `prefix` (never the documents table); returns their names. */
export async function dropVectorTables(backend: Backend, vectorsPrefix: string): Promise<string[]> {
  const parts = vectorsPrefix.split('.');
  const prefix = parts.at(-1)!;
  const schema = parts.length > 1 ? parts[0] : undefined;
  const owned = new RegExp(
    `^${prefix}_(generations|chunks|stamps|keys|leases|changes|change_floor|notify|fts(_\\w+)?|vec_\\d+(_\\w+)?|full_\\d+(_\\w+)?)$`,
  );
  const list = async () =>
    (await backend.tables(schema)).filter((n) => owned.test(n) && n !== 'vecfill_config');
  const dropped: string[] = [];
  for (let round = 0; round < 3; round++) {
    const names = await list();
    if (names.length === 0) break;
    for (const n of names) {
      try {
        await backend.dropTable(schema ? `"${schema}"."${n}"` : `"${n}"`);
        dropped.push(n);
      } catch {
        // a shadow table goes with its virtual table; tried again next round
      }
    }
  }
  return dropped;
}

/**
 * A filter that keeps rows whose columns equal the given values (`null`
 * matches NULL): the shared `equalityFilter` over the documents table's
 * columns; a name that is not one is a usage error.
 */
export async function equalityFilter(
  backend: Backend,
  cfg: TableConfig,
  pairs: Record<string, ColumnValue>,
): Promise<CliFilter | undefined> {
  if (Object.keys(pairs).length === 0) return undefined;
  const columns = await backend.columns(cfg.table);
  try {
    return sharedEqualityFilter(pairs, columns, backend.kind === 'sqlite' ? SQLITE : POSTGRES);
  } catch (e) {
    throw new CliError((e as Error).message, EXIT.usage);
  }
}
