import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';

type SqliteDatabase = Database.Database;

export interface OpenDatabaseOptions {
  /** Open read-only. */
  readonly?: boolean;
  /** How long a writer waits for another process's lock before `SQLITE_BUSY`. Default 10 000 ms. */
  busyTimeoutMs?: number;
}

/**
 * Opens a SQLite file the way vecfill recommends: WAL journal (readers never
 * block the writer, so search keeps answering during a fill), a busy timeout
 * (a second process waits instead of failing with `SQLITE_BUSY`),
 * `synchronous = NORMAL` (durable at every checkpoint, fast commits) and the
 * sqlite-vec extension loaded.
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
