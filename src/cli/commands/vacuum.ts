import { statSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { type Context, emit } from '../context.js';
import type { Workspace } from '../workspace.js';

/** What `vecfill vacuum` did, in bytes on disk (SQLite: the file with its WAL). */
export interface VacuumResult {
  before: number;
  after: number;
  freed: number;
}

/**
 * `vecfill vacuum`: gives the space of dropped vectors (a reclaimed
 * generation, deleted documents) back to the disk and says how much.
 * SQLite: rewrites the file (`VACUUM`) and switches it to incremental
 * auto-vacuum, so later `reclaim`s give their space back by themselves.
 * PostgreSQL needs none: reclaim drops the generation's table.
 */
export async function vacuumCommand(ws: Workspace, ctx: Context): Promise<number> {
  if (ws.kind !== 'sqlite') {
    const size = await ws.sizeBytes();
    return emit(
      ctx,
      { before: size, after: size, freed: 0 },
      () =>
        `nothing to do on PostgreSQL: reclaim drops the generation's table, which gives its space back at once, and autovacuum reuses the space of deleted rows (database size ${mib(size)})`,
    );
  }
  const result = vacuumSqlite(ws.db, ws.path);
  return emit(
    ctx,
    result,
    () =>
      `vacuumed ${ws.path}: ${mib(result.before)} -> ${mib(result.after)}, freed ${mib(result.freed)}`,
  );
}

/** Rewrites a SQLite file without its free pages; sizes include the WAL, checkpointed first. */
export function vacuumSqlite(db: Database.Database, path: string): VacuumResult {
  db.pragma('wal_checkpoint(TRUNCATE)');
  const before = fileBytes(path);
  // Set before the rewrite, the mode takes effect with it: from now on a
  // reclaim frees its pages with a cheap incremental vacuum (no rewrite).
  db.pragma('auto_vacuum = INCREMENTAL');
  db.exec('VACUUM');
  db.pragma('wal_checkpoint(TRUNCATE)');
  const after = fileBytes(path);
  return { before, after, freed: Math.max(0, before - after) };
}

/**
 * After a reclaim: gives the free pages back to the disk when the file is in
 * incremental auto-vacuum mode (new CLI databases, or after one `vecfill
 * vacuum`), else says how many bytes sit free inside the file.
 */
export function releaseFreePages(
  db: Database.Database,
  path: string,
): { freed: number } | { free: number } {
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const freePages = db.pragma('freelist_count', { simple: true }) as number;
  if ((db.pragma('auto_vacuum', { simple: true }) as number) !== 2)
    return { free: freePages * pageSize };
  db.pragma('wal_checkpoint(TRUNCATE)');
  const before = fileBytes(path);
  db.pragma('incremental_vacuum');
  db.pragma('wal_checkpoint(TRUNCATE)');
  return { freed: Math.max(0, before - fileBytes(path)) };
}

function fileBytes(path: string): number {
  let n = 0;
  for (const p of [path, `${path}-wal`]) {
    try {
      n += statSync(p).size;
    } catch {
      // no WAL file
    }
  }
  return n;
}

/** Bytes as MiB with one decimal. */
export function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
