import { existsSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { openDatabase, SqliteStore } from '../sqlite/index.js';
import type { Backend } from './backends.js';
import { CliError, EXIT } from './errors.js';
import { redactConnectionString } from './redact.js';
import { schemaOf } from './settings.js';

/** A SQLite file (refused when missing unless `create`), with sqlite-vec loaded. */
export function sqliteBackend(path: string, create: boolean): Backend {
  const shown = redactConnectionString(path);
  if (!create && !existsSync(path)) {
    throw new CliError(
      `no database at ${shown}; create one with \`vecfill index <folder> --db ${shown}\`, or point --db at an existing SQLite file (or a postgres:// URL)`,
      EXIT.notFound,
    );
  }
  let db: Database.Database;
  try {
    if (!existsSync(path)) createIncremental(path);
    db = openDatabase(path);
  } catch (e) {
    throw new CliError(
      `cannot open ${shown} as a SQLite database: ${(e as Error).message}`,
      EXIT.notFound,
    );
  }
  const query = async (sql: string, params: readonly unknown[]) => {
    const st = db.prepare(sql);
    if (st.reader) return st.all(...params) as Record<string, unknown>[];
    st.run(...params);
    return [];
  };
  return {
    kind: 'sqlite',
    sqlite: db,
    query,
    openStore: async (cfg, opts = {}) => ({
      kind: 'sqlite',
      store: SqliteStore.open(db, {
        ...schemaOf(cfg, opts),
        ...(opts.oneQuery ? { scan: { float: 'sqlite-vec' } } : {}),
      }),
    }),
    columns: async (table) =>
      (await query('SELECT name FROM pragma_table_info(?)', [table])).map((r) => String(r.name)),
    // Virtual tables first: dropping one drops its shadow tables with it.
    tables: async () =>
      (
        await query(
          "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY sql LIKE 'CREATE VIRTUAL%' DESC, name",
          [],
        )
      ).map((r) => String(r.name)),
    dropTable: async (quoted) => {
      await query(`DROP TABLE IF EXISTS ${quoted}`, []);
    },
    sizeBytes: async () => statSync(path).size,
    close: async () => {
      db.close();
    },
  };
}

/**
 * Creates an empty SQLite file in incremental auto-vacuum mode (it must be
 * set before the first table, and before WAL), so `vecfill reclaim` can give
 * a dropped generation's pages back to the disk without rewriting the file.
 */
function createIncremental(path: string): void {
  const db = new Database(path);
  try {
    db.pragma('auto_vacuum = INCREMENTAL');
    db.pragma('journal_mode = WAL');
  } finally {
    db.close();
  }
}
