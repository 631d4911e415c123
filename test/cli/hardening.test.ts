import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, runJson } from './run-cli.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vecfill-cli-hard-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('vecfill fill on awkward tables', () => {
  it('embeds and searches a table named order with a column named references', async () => {
    const file = join(dir, 'order.db');
    const db = new Database(file);
    db.exec('CREATE TABLE "order" ("group" INTEGER PRIMARY KEY, "references" TEXT)');
    db.prepare('INSERT INTO "order" VALUES (1, ?), (2, ?)').run(
      'the tide rises with the moon',
      'knead the bread dough',
    );
    db.close();
    const fill = await runCli([
      'fill',
      '--db',
      file,
      '--table',
      'order',
      '--id',
      'group',
      '--content',
      'references',
    ]);
    expect(fill.stderr).not.toMatch(/syntax error/);
    expect(fill.code).toBe(0);
    const out = await runJson<{ results: { id: number }[] }>([
      'search',
      'bread',
      '--db',
      file,
      '--limit',
      '1',
    ]);
    expect(out.results[0]!.id).toBe(2);
  });

  it('refuses a non-unique id column, naming it, and saves nothing', async () => {
    const file = join(dir, 'dup.db');
    const db = new Database(file);
    db.exec('CREATE TABLE notes (ref INTEGER, body TEXT)');
    db.prepare('INSERT INTO notes VALUES (1, ?), (1, ?), (2, ?)').run('a', 'b', 'c');
    db.close();
    const r = await runCli([
      'fill',
      '--db',
      file,
      '--table',
      'notes',
      '--id',
      'ref',
      '--content',
      'body',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/column ref of table notes is not unique/);
    const after = new Database(file, { readonly: true });
    const names = after
      .prepare("SELECT name FROM sqlite_master WHERE name LIKE 'vecfill%'")
      .pluck()
      .all() as string[];
    const config = names.includes('vecfill_config')
      ? after.prepare('SELECT count(*) FROM vecfill_config').pluck().get()
      : 0;
    after.close();
    expect(names.filter((n) => n !== 'vecfill_config')).toEqual([]);
    expect(config).toBe(0);
  });
});
