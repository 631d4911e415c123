import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { CliError, EXIT } from './errors.js';
import { globToRegExp } from './glob.js';
import type { Workspace } from './workspace.js';

/** The documents table `vecfill index` keeps: one row per file, the content hash as the revision. */
export const FILES_TABLE = {
  table: 'documents',
  id: 'path',
  content: 'content',
  revision: 'hash',
  prefix: 'vecfill',
} as const;

export interface IndexOptions {
  include?: string[];
  exclude?: string[];
  /** Files larger than this are skipped with a warning. Default 20 MiB. */
  maxBytes?: number;
}

export interface IndexResult {
  root: string;
  files: number;
  added: number;
  changed: number;
  unchanged: number;
  removed: number;
  skipped: { path: string; reason: string }[];
}

const DEFAULT_INCLUDE = ['**/*.md', '**/*.txt', '**/*.markdown'];
const DEFAULT_EXCLUDE = ['**/node_modules/**', '**/.git/**'];

/**
 * Loads `.md`/`.txt` files under `dir` into the `documents` table: new files
 * are added, changed files (by content hash) updated, and rows of deleted
 * files removed together with their vectors. Unchanged files keep their
 * stamps, so only what changed is embedded again.
 */
export async function indexFolder(
  ws: Workspace,
  dir: string,
  opts: IndexOptions = {},
): Promise<IndexResult> {
  const root = resolve(dir);
  const db = ws.db;
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(root);
  } catch {
    throw new CliError(`folder ${dir} does not exist`, EXIT.notFound);
  }
  if (!st.isDirectory()) throw new CliError(`${dir} is not a folder`, EXIT.usage);
  const include = (opts.include?.length ? opts.include : DEFAULT_INCLUDE).map(globToRegExp);
  const exclude = [...DEFAULT_EXCLUDE, ...(opts.exclude ?? [])].map(globToRegExp);
  const maxBytes = opts.maxBytes ?? 20 * 1024 * 1024;

  db.exec(`CREATE TABLE IF NOT EXISTS documents (
    path TEXT PRIMARY KEY,
    title TEXT,
    content TEXT NOT NULL,
    hash TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    indexed_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
  )`);
  const savedRoot = ws.db
    .prepare("SELECT value FROM vecfill_config WHERE key = 'root'")
    .pluck()
    .get() as string | undefined;
  if (savedRoot !== undefined && JSON.parse(savedRoot) !== root) {
    throw new CliError(
      `this database indexes ${JSON.parse(savedRoot) as string}; index ${root} into another --db`,
      EXIT.usage,
    );
  }
  await ws.configureTable({ ...FILES_TABLE });
  db.prepare(
    "INSERT INTO vecfill_config (key, value) VALUES ('root', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
  ).run(JSON.stringify(root));

  const result: IndexResult = {
    root,
    files: 0,
    added: 0,
    changed: 0,
    unchanged: 0,
    removed: 0,
    skipped: [],
  };
  const found: { path: string; file: string }[] = [];
  const walk = (abs: string) => {
    for (const entry of readdirSync(abs, { withFileTypes: true })) {
      const full = join(abs, entry.name);
      const rel = relative(root, full).split(sep).join('/');
      if (exclude.some((re) => re.test(rel) || re.test(`${rel}/`))) continue;
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && include.some((re) => re.test(rel)))
        found.push({ path: rel, file: full });
    }
  };
  walk(root);
  found.sort((a, b) => (a.path < b.path ? -1 : 1));

  const existing = new Map(
    (db.prepare('SELECT path, hash FROM documents').all() as { path: string; hash: string }[]).map(
      (r) => [r.path, r.hash],
    ),
  );
  const upsert =
    db.prepare(`INSERT INTO documents (path, title, content, hash, bytes) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (path) DO UPDATE SET title = excluded.title, content = excluded.content, hash = excluded.hash,
      bytes = excluded.bytes, indexed_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    WHERE documents.hash <> excluded.hash`);
  const seen = new Set<string>();
  const store = await ws.store();
  const removed: string[] = [];
  db.transaction(() => {
    for (const { path, file } of found) {
      const size = statSync(file).size;
      if (size > maxBytes) {
        result.skipped.push({ path, reason: `larger than ${maxBytes} bytes` });
        continue;
      }
      const content = readFileSync(file, 'utf8');
      const hash = createHash('sha256').update(content).digest('hex');
      seen.add(path);
      result.files++;
      const before = existing.get(path);
      if (before === undefined) result.added++;
      else if (before !== hash) result.changed++;
      else result.unchanged++;
      if (before !== hash) upsert.run(path, titleOf(content, path), content, hash, size);
    }
    for (const path of existing.keys()) {
      if (seen.has(path)) continue;
      db.prepare('DELETE FROM documents WHERE path = ?').run(path);
      removed.push(path);
      result.removed++;
    }
  })();
  // The rows are gone, so their vectors can never be returned; now free them.
  for (const path of removed) await store.deleteVectors(path);
  return result;
}

function titleOf(content: string, path: string): string {
  const heading = /^#\s+(.+)$/m.exec(content);
  return (heading?.[1] ?? path).trim().slice(0, 200);
}
