import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach } from 'vitest';
import {
  type SqliteGenerationOptions as GenerationOptions,
  openDatabase,
  type ScanOptions,
  type SqliteFilter,
  type SqliteKey,
  SqliteStore,
} from '../../src/sqlite/index.js';
import type { Harness } from '../conformance/suite.js';

export const DOCS_DDL = `CREATE TABLE docs (
  id INTEGER PRIMARY KEY,
  content TEXT NOT NULL,
  revision INTEGER NOT NULL DEFAULT 1,
  embed_gen TEXT,
  category TEXT
)`;

export const SCHEMA = {
  docsTable: 'docs',
  idColumn: 'id',
  contentColumn: 'content',
  revisionColumn: 'revision',
  embedGenColumn: 'embed_gen',
  vectorsPrefix: 'vf',
} as const;

/**
 * Registers what to undo after each test of the calling file: call once at
 * its top level; the function it returns takes a cleanup (a close, a
 * removal), and they run after each test, the last registered first.
 */
export function cleanupsAfterEach(): (cleanup: () => void | Promise<void>) => void {
  const cleanups: (() => void | Promise<void>)[] = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });
  return (cleanup) => {
    cleanups.push(cleanup);
  };
}

/** A temporary directory removed by `cleanup`. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'vecfill-test-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A new database file `name` (sqlite-vec loaded) in a temporary directory;
 * `cleanupAfter` (from `cleanupsAfterEach`) closes it and removes the
 * directory after the test.
 */
export function freshDb(
  cleanupAfter: (cleanup: () => void) => void,
  name: string,
): { db: Database.Database; file: string } {
  const { dir, cleanup } = tempDir();
  cleanupAfter(cleanup);
  const file = join(dir, name);
  const db = openDatabase(file);
  cleanupAfter(() => {
    db.close();
  });
  return { db, file };
}

/**
 * A real SQLite file with the real sqlite-vec extension, and the conformance
 * harness over it. With `options`, every generation the suite creates gets
 * them (for example a quantized index), so the whole contract is checked for
 * that index too. With `scan`, the store scans with those options (an
 * in-memory kind, sqlite-vec, or a memory cap).
 */
export async function sqliteHarness(
  options?: GenerationOptions,
  scan?: ScanOptions,
): Promise<Harness<SqliteKey, SqliteFilter> & { db: Database.Database }> {
  const { dir, cleanup } = tempDir();
  const db = openDatabase(join(dir, 'test.db'));
  db.exec(DOCS_DDL);
  const plain = SqliteStore.open(db, scan ? { ...SCHEMA, scan } : SCHEMA);
  const store = options
    ? new Proxy(plain, {
        get(target, prop, receiver) {
          if (prop === 'ensureGeneration') {
            return (...args: Parameters<SqliteStore['ensureGeneration']>) =>
              target.ensureGeneration(args[0], args[1], args[2], options);
          }
          const value: unknown = Reflect.get(target, prop, receiver);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      })
    : plain;
  return {
    db,
    store,
    insert: async (id, content, category) => {
      db.prepare('INSERT INTO docs (id, content, category) VALUES (?, ?, ?)').run(
        id,
        content,
        category ?? null,
      );
    },
    update: async (id, content) => {
      db.prepare('UPDATE docs SET content = ?, revision = revision + 1 WHERE id = ?').run(
        content,
        id,
      );
    },
    remove: async (id) => {
      db.prepare('DELETE FROM docs WHERE id = ?').run(id);
    },
    invalidate: async (id) => {
      db.prepare('UPDATE docs SET embed_gen = NULL WHERE id = ?').run(id);
    },
    filterCategory: (category) => ({ where: 'd.category = ?', params: [category] }),
    key: (id) => id,
    vectorRows: async (gen) => {
      const row = db.prepare('SELECT id FROM vf_generations WHERE key = ?').get(gen) as
        | { id: number }
        | undefined;
      if (!row) return 0;
      const chunks = db
        .prepare('SELECT count(*) FROM vf_chunks WHERE gen = ?')
        .pluck()
        .get(row.id) as number;
      const table = db
        .prepare('SELECT 1 FROM sqlite_master WHERE name = ?')
        .get(`vf_vec_${row.id}`);
      const vectors = table
        ? (db.prepare(`SELECT count(*) FROM vf_vec_${row.id}`).pluck().get() as number)
        : 0;
      if (chunks !== vectors)
        throw new Error(`chunk rows (${chunks}) and vectors (${vectors}) disagree`);
      const full = db
        .prepare('SELECT 1 FROM sqlite_master WHERE name = ?')
        .get(`vf_full_${row.id}`);
      if (full) {
        const floats = db.prepare(`SELECT count(*) FROM vf_full_${row.id}`).pluck().get() as number;
        if (floats !== chunks)
          throw new Error(`chunk rows (${chunks}) and float vectors (${floats}) disagree`);
      }
      return chunks;
    },
    close: async () => {
      db.close();
      cleanup();
    },
  };
}
