import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { tableFlags, tempDir } from './helpers.js';
import { runCli, runJson } from './run-cli.js';

const dir = tempDir('vecfill-config-');

/** A database with a notes table (unique id) and a tags table (non-unique id column). */
function makeDb(name: string): string {
  const path = join(dir, name);
  const db = new Database(path);
  db.exec(`CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
    CREATE TABLE recipes (rid INTEGER PRIMARY KEY, text TEXT NOT NULL);
    CREATE TABLE tags (name TEXT, body TEXT NOT NULL);`);
  const ins = db.prepare('INSERT INTO notes (id, body) VALUES (?, ?)');
  ins.run(1, 'the tide comes in twice a day because of the moon');
  ins.run(2, 'bake bread with flour, water, salt and yeast');
  const rec = db.prepare('INSERT INTO recipes (rid, text) VALUES (?, ?)');
  rec.run(10, 'a tomato soup with basil and garlic');
  rec.run(11, 'ocean waves and the pull of the moon');
  db.prepare('INSERT INTO tags (name, body) VALUES (?, ?)').run('a', 'one');
  db.prepare('INSERT INTO tags (name, body) VALUES (?, ?)').run('a', 'two');
  db.close();
  return path;
}

interface Settings {
  vectorsPrefix: string;
  table?: { table: string; id: string; content: string; revision?: string };
  generations: Record<string, { kind: string }>;
}

describe('vecfill config (issue 17 #1)', () => {
  it('a typo in --table saves nothing; the corrected fill works; config shows, changes and resets', async () => {
    const db = makeDb('typo.db');
    const bad = await runCli(['fill', '--db', db, ...tableFlags('nope')]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/nope/);
    const empty = await runJson<Settings>(['config', '--db', db]);
    expect(empty.table).toBeUndefined();

    const ok = await runCli(['fill', '--db', db, ...tableFlags()]);
    expect(ok.stderr).not.toMatch(/set up for table nope/);
    expect(ok.code).toBe(0);

    const shown = await runJson<Settings>(['config', '--db', db]);
    expect(shown.table).toMatchObject({ table: 'notes', id: 'id', content: 'body' });
    expect(shown.vectorsPrefix).toBe('vecfill');
    expect(Object.values(shown.generations).map((g) => g.kind)).toEqual(['words']);
    const text = await runCli(['config', '--db', db]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/table\s+notes/);

    // Vectors exist: reset and a change of table are refused (exit 4) without --force.
    const refused = await runCli(['config', '--db', db, '--reset']);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(/--force/);
    const noMove = await runCli(['config', '--db', db, ...tableFlags('recipes', 'rid', 'text')]);
    expect(noMove.code).toBe(4);

    // A change that keeps table/id/content is allowed.
    const raw = new Database(db);
    raw.exec('ALTER TABLE notes ADD COLUMN updated TEXT');
    raw.close();
    const rev = await runJson<Settings>(['config', '--db', db, '--revision', 'updated']);
    expect(rev.table?.revision).toBe('updated');
    const badRev = await runCli(['config', '--db', db, '--revision', 'missing']);
    expect(badRev.code).toBe(2);
    expect((await runJson<Settings>(['config', '--db', db])).table?.revision).toBe('updated');

    const reset = await runCli(['config', '--db', db, '--reset', '--force']);
    expect(reset.code).toBe(0);
    const after = await runJson<Settings>(['config', '--db', db]);
    expect(after.table).toBeUndefined();
    expect(after.generations).toEqual({});
    const tables = new Database(db)
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .pluck()
      .all() as string[];
    expect(tables.filter((t) => t.startsWith('vecfill_') && t !== 'vecfill_config')).toEqual([]);
    expect(tables).toContain('notes');

    // Set up again on another table.
    const again = await runCli(['fill', '--db', db, ...tableFlags('recipes', 'rid', 'text')]);
    expect(again.code).toBe(0);
    const s = await runJson<{ results: { id: number }[] }>([
      'search',
      'moon and ocean',
      '--db',
      db,
    ]);
    expect(s.results.map((r) => r.id)).toContain(11);
  }, 120_000);

  it('--reset without vectors needs no --force', async () => {
    const db = makeDb('novec.db');
    const r = await runJson<Settings>(['config', '--db', db, ...tableFlags()]);
    expect(r.table?.table).toBe('notes');
    expect((await runCli(['config', '--db', db, '--reset'])).code).toBe(0);
    expect((await runJson<Settings>(['config', '--db', db])).table).toBeUndefined();
  });
});

describe('errors with --json and a non-unique --id (issue 17 #8)', () => {
  it('prints { error: { code, message } } on stderr', async () => {
    const db = makeDb('json-err.db');
    const r = await runCli(['search', 'x', '--db', db, '--json']);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    const parsed = JSON.parse(r.stderr) as { error: { code: string; message: string } };
    expect(parsed.error.code).toBe('NOT_FOUND');
    expect(parsed.error.message).toMatch(/not set up/);
    const usage = await runCli(['search', 'x', '--db', db, '--json', '--nope']);
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.stderr).error).toMatchObject({ code: 'USAGE' });
    const plain = await runCli(['search', 'x', '--db', db]);
    expect(plain.stderr).toMatch(/^vecfill: /);
  });

  it('a non-unique --id is refused up front, naming the column, and nothing is saved', async () => {
    const db = makeDb('dup.db');
    const r = await runCli(['fill', '--db', db, ...tableFlags('tags', 'name'), '--json']);
    expect(r.code).toBe(2);
    const { error } = JSON.parse(r.stderr) as { error: { code: string; message: string } };
    expect(error.message).toMatch(/name/);
    expect(error.message).not.toMatch(/constraint failed/);
    expect((await runJson<Settings>(['config', '--db', db])).table).toBeUndefined();
  });
});

describe('--vectors-prefix: several tables in one database (issue 17 #2)', () => {
  it('each table has its own vector tables and saved settings; --prefix is the text prefix', async () => {
    const db = makeDb('multi.db');
    const a = await runCli(['fill', '--db', db, ...tableFlags()]);
    expect(a.code).toBe(0);
    // The second table needs its own prefix; the refusal says so.
    const clash = await runCli(['fill', '--db', db, ...tableFlags('recipes', 'rid', 'text')]);
    expect(clash.code).toBe(2);
    expect(clash.stderr).toMatch(/--vectors-prefix/);
    const b = await runCli([
      'fill',
      '--db',
      db,
      ...tableFlags('recipes', 'rid', 'text'),
      '--vectors-prefix',
      'recipes_vec',
    ]);
    expect(b.code).toBe(0);
    const tables = new Database(db)
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
      .pluck()
      .all() as string[];
    expect(tables).toContain('recipes_vec_generations');
    expect(tables).toContain('vecfill_generations');

    // Without --vectors-prefix, commands use the default prefix (the first table).
    const ambiguous = await runCli(['search', 'moon', '--db', db]);
    expect(ambiguous.code).toBe(0); // the default prefix (the first table) is used
    const r1 = await runJson<{ results: { id: number }[] }>(['search', 'moon', '--db', db]);
    expect(r1.results.every((r) => r.id === 1 || r.id === 2)).toBe(true);
    const r2 = await runJson<{ results: { id: number }[] }>([
      'search',
      'moon',
      '--db',
      db,
      '--vectors-prefix',
      'recipes_vec',
    ]);
    expect(r2.results.every((r) => r.id === 10 || r.id === 11)).toBe(true);
    const c2 = await runJson<Settings>(['config', '--db', db, '--vectors-prefix', 'recipes_vec']);
    expect(c2.table?.table).toBe('recipes');
    expect(Object.keys(c2.generations)).toHaveLength(1);
    const c1 = await runJson<Settings>(['config', '--db', db]);
    expect(c1.table?.table).toBe('notes');
    expect(Object.keys(c1.generations)).toHaveLength(1);

    // Resetting one table leaves the other alone.
    expect(
      (
        await runCli([
          'config',
          '--db',
          db,
          '--vectors-prefix',
          'recipes_vec',
          '--reset',
          '--force',
        ])
      ).code,
    ).toBe(0);
    expect((await runJson<Settings>(['config', '--db', db])).table?.table).toBe('notes');
    expect((await runCli(['search', 'moon', '--db', db])).code).toBe(0);
  }, 120_000);

  it('--prefix with spaces is a text prefix, not a table name', async () => {
    const db = makeDb('textprefix.db');
    const r = await runCli([
      'fill',
      '--db',
      db,
      ...tableFlags(),
      '--encoder',
      'openai',
      '--model',
      'm',
      '--base-url',
      'http://127.0.0.1:9/v1',
      '--prefix',
      'search_document: ',
    ]);
    expect(r.stderr).not.toMatch(/valid SQL identifier/);
    const bad = await runCli(['fill', '--db', db, '--vectors-prefix', 'bad name']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/vectors-prefix/);
  });
});
