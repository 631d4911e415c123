import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';

type SqliteDatabase = Database.Database;

export interface OpenDatabaseOptions {
  /** Open read-only. */
  readonly?: boolean;
  /** How long a writer waits for another process's lock before `SQLITE_BUSY`. Default 10 000 ms. */
  busyTimeoutMs?: number;
  /**
   * Bytes of the file SQLite may memory-map for reads (`PRAGMA mmap_size`).
   * A KNN scan reads every vector, and reading them through the map instead
   * of copying them through the page cache made sqlite-vec's float KNN about
   * 3× faster here (bench/README.md). Writes still go through the journal,
   * so crash safety is unchanged. Default 1 GiB; 0 turns it off. Pages read
   * through the map count in the process's RSS (they are the page cache,
   * reclaimable, not the process's own memory); a fill-only worker that must
   * keep RSS flat can pass 0.
   */
  mmapBytes?: number;
}

/**
 * Opens a SQLite file the way vecfill recommends: WAL journal (readers never
 * block the writer, so search keeps answering during a fill), a busy timeout
 * (a second process waits instead of failing with `SQLITE_BUSY`),
 * `synchronous = NORMAL` (durable at every checkpoint, fast commits),
 * memory-mapped reads (`mmapBytes`) and the sqlite-vec extension loaded.
 *
 * @example
 * ```ts
 * const db = openDatabase('./app.db');
 * const store = SqliteStore.open(db, schema);
 * ```
 */
export function openDatabase(path: string, opts: OpenDatabaseOptions = {}): SqliteDatabase {
  const db = new Database(path, { readonly: opts.readonly ?? false });
  db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 10_000))}`);
  db.pragma(`mmap_size = ${Math.max(0, Math.floor(opts.mmapBytes ?? 2 ** 30))}`);
  if (!opts.readonly) {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
  }
  loadVec(db);
  return db;
}

/** Loads sqlite-vec into `db` unless it is already there. */
export function loadVec(db: SqliteDatabase): void {
  try {
    db.prepare('SELECT vec_version()').pluck().get();
  } catch {
    sqliteVec.load(db);
  }
}
