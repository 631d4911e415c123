import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, expect } from 'vitest';
import { runCli, runJson } from './run-cli.js';

/** A temporary folder for the tests of one file, removed after them. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The flags that point `vecfill fill` (or `config`) at a table: `--table notes --id id --content body` by default. */
export function tableFlags(table = 'notes', id = 'id', content = 'body'): string[] {
  return ['--table', table, '--id', id, '--content', content];
}

/**
 * A SQLite file at `path` with a table `notes (id INTEGER PRIMARY KEY, body
 * TEXT NOT NULL)` holding `bodies` as ids 1…n (`columns` replaces the
 * column list; the rows always fill `body`).
 */
export function notesDb(
  path: string,
  bodies: readonly string[],
  columns = 'id INTEGER PRIMARY KEY, body TEXT NOT NULL',
): string {
  const db = new Database(path);
  try {
    db.exec(`CREATE TABLE notes (${columns})`);
    const insert = db.prepare('INSERT INTO notes (body) VALUES (?)');
    for (const body of bodies) insert.run(body);
  } finally {
    db.close();
  }
  return path;
}

/** Writes `files` (relative path → text) under `folder` and returns the folder. */
export function writeFolder(folder: string, files: Readonly<Record<string, string>>): string {
  for (const [name, text] of Object.entries(files)) {
    const file = join(folder, name);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, text);
  }
  return folder;
}

/**
 * Makes a folder of `n` notes (`note-<i>.md`, the text `text(i)`) and runs
 * `vecfill index` on it with the offline encoder: a database with one active,
 * complete generation. Returns the database's path.
 */
export async function indexedNotes(
  dir: string,
  name: string,
  n: number,
  text: (i: number) => string,
  args: readonly string[] = [],
): Promise<string> {
  const files: Record<string, string> = {};
  for (let i = 1; i <= n; i++) files[`note-${i}.md`] = text(i);
  const folder = writeFolder(join(dir, name), files);
  const db = join(dir, `${name}.db`);
  const r = await runCli(['index', folder, '--db', db, '--json', ...args]);
  expect(r.code, r.stderr).toBe(0);
  return db;
}

/** What `vecfill status --json` prints, as far as the tests read it. */
export interface StatusOut {
  table?: string;
  generations: {
    generation: string;
    state: string;
    model: string;
    fingerprint: string;
    embedded: number;
    skipped: number;
    backlog: number;
    chunks: number;
    index?: string;
    indexBytes?: number;
    scan?: string;
    residentBytes?: number;
    params: Record<string, unknown>;
  }[];
}

/** `vecfill status --db <db> --json`, parsed. */
export function statusOf(
  db: string,
  opts: { env?: Record<string, string> } = {},
): Promise<StatusOut> {
  return runJson<StatusOut>(['status', '--db', db], opts);
}

/** The flags of an OpenAI-compatible encoder: `--encoder openai --base-url <url> --model <model> [--dimensions <n>]`. */
export function openaiFlags(
  baseUrl: string,
  model: string,
  dimensions?: number | string,
): string[] {
  return [
    '--encoder',
    'openai',
    '--base-url',
    baseUrl,
    '--model',
    model,
    ...(dimensions === undefined ? [] : ['--dimensions', String(dimensions)]),
  ];
}
