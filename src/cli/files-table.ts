import type Database from 'better-sqlite3';
import { CLI_DEFAULTS as D } from './defaults.js';

/** The documents table `vecfill index` keeps: one row per file, the content hash as the revision. */
export const FILES_TABLE = {
  table: 'documents',
  id: 'path',
  content: 'content',
  revision: 'hash',
  prefix: D.vectorsPrefix,
} as const;

/** One file as a row of the documents table. */
export interface FileRow {
  path: string;
  title: string;
  content: string;
  /** SHA-256 of the content: the revision the store compares its stamps with. */
  hash: string;
  bytes: number;
}

/**
 * The SQLite documents table of `vecfill index` and `vecfill watch`, which
 * the CLI owns (unlike a table given to `vecfill fill`, which is the
 * user's): its rows in, its rows out, all of its SQL in one place. The
 * store's tables are never touched here.
 */
export class FilesTable {
  readonly #db: Database.Database;
  readonly #upsert: Database.Statement;
  readonly #delete: Database.Statement;
  readonly #hashes: Database.Statement;

  private constructor(db: Database.Database) {
    this.#db = db;
    // A row changes only when the content does, so its stamp stays current otherwise.
    this.#upsert =
      db.prepare(`INSERT INTO documents (path, title, content, hash, bytes) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (path) DO UPDATE SET title = excluded.title, content = excluded.content, hash = excluded.hash,
      bytes = excluded.bytes, indexed_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    WHERE documents.hash <> excluded.hash`);
    this.#delete = db.prepare('DELETE FROM documents WHERE path = ?');
    this.#hashes = db.prepare('SELECT path, hash FROM documents');
  }

  /** The table in `db`, created on first use. */
  static open(db: Database.Database): FilesTable {
    db.exec(`CREATE TABLE IF NOT EXISTS documents (
    path TEXT PRIMARY KEY,
    title TEXT,
    content TEXT NOT NULL,
    hash TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    indexed_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
  )`);
    return new FilesTable(db);
  }

  /** The content hash of every row, by path. */
  hashes(): Map<string, string> {
    return new Map(
      (this.#hashes.all() as { path: string; hash: string }[]).map((r) => [r.path, r.hash]),
    );
  }

  /** Adds the file's row, or updates it when its content changed. */
  write(row: FileRow): void {
    this.#upsert.run(row.path, row.title, row.content, row.hash, row.bytes);
  }

  remove(path: string): void {
    this.#delete.run(path);
  }

  /** Runs `fn` in one transaction: a pass over the folder is written whole or not at all. */
  transaction<T>(fn: () => T): T {
    return this.#db.transaction(fn)();
  }
}
