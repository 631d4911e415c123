import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, runJson } from './run-cli.js';

let dir: string;
let notes: string;
const WORDS =
  'tide moon harbour bread river garden engine violin winter castle copper orchard'.split(' ');
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vecfill-vacuum-'));
  notes = join(dir, 'notes');
  mkdirSync(notes);
  for (let i = 0; i < 200; i++)
    writeFileSync(
      join(notes, `n${i}.md`),
      `# Note ${i}\n${Array.from({ length: 40 }, (_, j) => WORDS[(i * 7 + j * 3) % WORDS.length]).join(' ')}`,
    );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Indexes, migrates to a second generation and returns the retired one's key. */
async function twoGenerations(db: string): Promise<string> {
  expect((await runCli(['index', notes, '--db', db])).code).toBe(0);
  expect((await runCli(['migrate', '--db', db, '--weighting', 'mean', '--activate'])).code).toBe(0);
  const status = await runJson<{ generations: { generation: string; state: string }[] }>([
    'status',
    '--db',
    db,
  ]);
  return status.generations.find((g) => g.state === 'retired')!.generation;
}

const bytes = (db: string) =>
  statSync(db).size + (statSync(`${db}-wal`, { throwIfNoEntry: false })?.size ?? 0);

describe('reclaim gives the space back (issue 17 #9)', () => {
  it('on a database the CLI created, reclaim frees the dropped vectors at once and says how much', async () => {
    const db = join(dir, 'new.db');
    const old = await twoGenerations(db);
    // The full-text index keeps no second copy of the text (contentless FTS5).
    const raw = new Database(db, { readonly: true });
    const tables = raw
      .prepare("SELECT name FROM sqlite_master WHERE name LIKE 'vecfill_fts%'")
      .pluck()
      .all();
    raw.close();
    expect(tables).toContain('vecfill_fts');
    expect(tables).not.toContain('vecfill_fts_content');
    const before = bytes(db);
    const r = await runJson<{ reclaimed: string; freed: number }>(['reclaim', old, '--db', db]);
    expect(r.reclaimed).toBe(old);
    expect(r.freed).toBeGreaterThan(50_000);
    expect(bytes(db)).toBeLessThanOrEqual(before - r.freed);
    const text = await runCli(['reclaim', old, '--db', db]);
    expect(text.stdout).toMatch(/MiB given back to the disk/);
    const status = await runJson<{ generations: { generation: string; backlog: number }[] }>([
      'status',
      '--db',
      db,
    ]);
    expect(status.generations.find((g) => g.generation === old)!.backlog).toBe(0);
  }, 60_000);

  it('on an older file, reclaim says how much is free inside it, and `vecfill vacuum` gives it back', async () => {
    const db = join(dir, 'old.db');
    // A file made without incremental auto-vacuum (as vecfill made them before).
    const raw = new Database(db);
    raw.pragma('journal_mode = WAL');
    raw.exec('CREATE TABLE unrelated (x)');
    raw.close();
    const old = await twoGenerations(db);
    const reclaimed = await runCli(['reclaim', old, '--db', db]);
    expect(reclaimed.code).toBe(0);
    expect(reclaimed.stdout).toMatch(
      /MiB are now free inside the file: `vecfill vacuum --db .*old\.db` gives them back/,
    );
    const before = bytes(db);
    const v = await runJson<{ before: number; after: number; freed: number }>([
      'vacuum',
      '--db',
      db,
    ]);
    expect(v.before).toBe(before);
    expect(v.freed).toBeGreaterThan(50_000);
    expect(v.after).toBe(bytes(db));
    expect(v.after).toBeLessThan(before);
    const text = await runCli(['vacuum', '--db', db]);
    expect(text.stdout).toMatch(/^vacuumed .*old\.db: [\d.]+ MiB -> [\d.]+ MiB, freed [\d.]+ MiB/);
    // The file is now in incremental mode: the next reclaim frees its space by itself.
    const check = new Database(db, { readonly: true });
    expect(check.pragma('auto_vacuum', { simple: true })).toBe(2);
    check.close();
    const missing = await runCli(['vacuum', '--db', join(dir, 'nope.db')]);
    expect(missing.code).toBe(3);
  }, 60_000);
});
