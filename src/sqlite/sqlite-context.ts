import { hostname } from 'node:os';
import type Database from 'better-sqlite3';
import { UnknownGenerationError } from '../core/index.js';
import { type GenRowBase, reclaimedError, ScanCursor, type SqlNames } from '../sql/index.js';
import { ScanIndexes } from './index/scan-indexes.js';
import type { Quantization } from './quantize.js';
import { quoted, sqliteNames, type ValidSqliteSchema } from './sqlite-schema.js';
import { StatementCache, type StatementKey } from './statement-cache.js';

/** A document key as SQLite stores it. */
export type SqliteKey = string | number | bigint;
/** A value SQLite can bind. */
export type SqliteValue = string | number | bigint | Buffer | null;

/**
 * A metadata filter: trusted SQL over the documents table, which is aliased
 * `d`, with `?` placeholders bound to `params`. Applied before the result
 * limit, so filtered-out rows never use up results.
 *
 * @example
 * ```ts
 * { where: "d.lang = ? AND d.created_at > ?", params: ['en', '2026-01-01'] }
 * ```
 */
export interface SqliteFilter {
  where: string;
  params?: readonly SqliteValue[];
}

/** A generation row of `<prefix>_generations`. */
export interface GenRow extends GenRowBase {
  reclaimed: number;
  created_at: string;
  quantization: Quantization | null;
  oversample: number | null;
  /** Bumped by every write to a binary generation's codes; keys the in-memory copy. */
  writes: number;
  /** The column `centre` (its stored name): the float32 mean of a binary generation's vectors, set by `recenter` (its center); codes are signs around it. */
  centre: Buffer | null;
}

/** The store's tables (validated names). */
export interface Tables {
  docs: string;
  gens: string;
  chunks: string;
  stamps: string;
  keys: string;
  leases: string;
  fts: string;
  /** A generation's vec0 table (float or int8), or its binary codes. */
  vec: (id: number) => string;
  /** The float32 vectors of a quantized generation, for rescoring. */
  full: (id: number) => string;
}

/**
 * What every part of the SQLite store shares: the connection, the schema,
 * the table names, the prepared statements, the in-memory indexes and the
 * scan cursor. One per `SqliteStore`; the files of `src/sqlite` take it as
 * their first argument.
 */
export class SqliteContext {
  readonly db: Database.Database;
  readonly schema: ValidSqliteSchema;
  readonly t: Tables;
  /** The shared SQL builders' names for this schema. */
  readonly n: SqlNames;
  readonly statements: StatementCache;
  /** In-memory SIMD-scanned indexes per generation, kept current by the change log. */
  readonly scans: ScanIndexes;
  /** Per-generation scan cursor: each page continues after the last, wrapping once. */
  readonly cursor = new ScanCursor<SqliteKey>();
  /** Identifies this store's leases when `leaseMs` is set. */
  readonly owner = `${hostname()}/${process.pid}/${Math.random().toString(36).slice(2)}`;

  constructor(db: Database.Database, schema: ValidSqliteSchema) {
    this.db = db;
    this.schema = schema;
    this.n = sqliteNames(schema);
    this.t = tablesOf(schema);
    this.statements = new StatementCache(db);
    this.scans = new ScanIndexes(db, schema.vectorsPrefix, schema.scan);
  }

  /** A prepared statement from the cache (`key` a name, or a name with its generation and filter). */
  stmt(key: string | StatementKey, sql: () => string): Database.Statement {
    return this.statements.get(typeof key === 'string' ? { name: key } : key, sql);
  }

  /**
   * A statement that reads keys or revisions: it returns every integer as a
   * bigint (better-sqlite3's safe integers), so ids and revisions above 2^53
   * (snowflake ids, nanosecond timestamps) survive exactly; `keyOf` turns
   * the safe ones back into numbers.
   */
  keyStmt(key: string | StatementKey, sql: () => string): Database.Statement {
    const k = typeof key === 'string' ? { name: key } : key;
    return this.statements.get({ ...k, safeIntegers: true }, sql);
  }

  /** The row of generation `key`, or `UnknownGenerationError`. */
  gen(key: string): GenRow {
    const row = this.stmt('gen', () => `SELECT * FROM ${this.t.gens} WHERE key = ?`).get(key) as
      | GenRow
      | undefined;
    if (!row) throw new UnknownGenerationError(key);
    return row;
  }

  /** The same, refusing a reclaimed generation (its vectors are gone). */
  liveGen(key: string): GenRow {
    const row = this.gen(key);
    if (row.reclaimed) throw reclaimedError(key);
    return row;
  }

  /** Every generation row, in id order. */
  allGens(): GenRow[] {
    return this.stmt('allGens', () => `SELECT * FROM ${this.t.gens} ORDER BY id`).all() as GenRow[];
  }

  /** Chunks of a generation. */
  chunkCount(g: GenRow): number {
    return this.stmt('chunkCount', () => `SELECT count(*) FROM ${this.t.chunks} WHERE gen = ?`)
      .pluck()
      .get(g.id) as number;
  }
}

/** The store's table names for a valid schema. */
export function tablesOf(schema: ValidSqliteSchema): Tables {
  const p = schema.vectorsPrefix;
  return {
    docs: quoted(schema.docsTable),
    gens: `${p}_generations`,
    chunks: `${p}_chunks`,
    stamps: `${p}_stamps`,
    keys: `${p}_keys`,
    leases: `${p}_leases`,
    fts: `${p}_fts`,
    vec: (id: number) => `${p}_vec_${id}`,
    full: (id: number) => `${p}_full_${id}`,
  };
}

/** A float32 vector's bytes, as SQLite binds a BLOB (no copy). */
export function f32(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/**
 * A key or revision read with safe integers, as the store hands it out: a
 * number when it fits one exactly (so existing callers keep getting
 * numbers), a bigint only above 2^53 − 1 or below −(2^53 − 1).
 */
export function keyOf<T>(v: T): T | number {
  return typeof v === 'bigint' && v <= MAX_SAFE && v >= -MAX_SAFE ? Number(v) : v;
}
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
