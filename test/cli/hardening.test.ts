import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { startFaultServer } from '../support/fault-server.js';
import { notesDb, openaiFlags, tableFlags, tempDir } from './helpers.js';
import { type CliResult, runCli, runJson, startCli } from './run-cli.js';

const dir = tempDir('vecfill-cli-hard-');

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
      ...tableFlags('order', 'group', 'references'),
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
    const r = await runCli(['fill', '--db', file, ...tableFlags('notes', 'ref')]);
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

/** Runs the CLI as an unprivileged user when the tests run as root (root reads any file). */
function runAsUser(args: string[]): Promise<CliResult> {
  return runCli(args, process.getuid?.() === 0 ? { user: { uid: 65534, gid: 65534 } } : {});
}

/** `index` flags that need no word vectors and no network (no fill). */
const OFFLINE = [
  '--no-fill',
  '--encoder',
  'openai',
  '--model',
  'm',
  '--base-url',
  'http://127.0.0.1:9/v1',
  '--dimensions',
  '8',
  '--json',
];

describe('vecfill index on a hostile folder', () => {
  it('skips a non-UTF-8 name, an unreadable file and an unreadable folder, indexes the rest, exits 5', async () => {
    const base = join(dir, 'hostile');
    const folder = join(base, 'notes');
    mkdirSync(join(folder, 'locked'), { recursive: true });
    chmodSync(dir, 0o777);
    chmodSync(base, 0o777);
    writeFileSync(join(folder, 'good.md'), '# Good\n\nA perfectly ordinary note.\n');
    writeFileSync(join(folder, 'also-good.txt'), 'Another ordinary note.');
    writeFileSync(
      Buffer.concat([
        Buffer.from(`${folder}/bad-`),
        Buffer.from([0xff, 0xfe]),
        Buffer.from('-name.md'),
      ]),
      'a file whose name is not UTF-8',
    );
    writeFileSync(join(folder, 'secret.md'), 'nobody may read this');
    chmodSync(join(folder, 'secret.md'), 0o000);
    writeFileSync(join(folder, 'locked', 'inside.md'), 'behind a locked door');
    chmodSync(join(folder, 'locked'), 0o000);
    try {
      const r = await runAsUser(['index', folder, '--db', join(base, 'h.db'), ...OFFLINE]);
      expect(r.code, r.stderr).toBe(5);
      const out = JSON.parse(r.stdout) as {
        index: { added: number; skipped: { path: string; reason: string }[] };
      };
      expect(out.index.added).toBe(2);
      const reasons = out.index.skipped.map((s) => `${s.path}: ${s.reason}`).join('\n');
      expect(reasons).toMatch(/bad-.*-name\.md: the file name is not valid UTF-8/);
      expect(reasons).toMatch(/secret\.md: permission denied/);
      expect(reasons).toMatch(/locked: cannot list this folder: permission denied/);
      expect(r.stderr.trim().split('\n')).toHaveLength(3);
      expect(r.stderr).toMatch(/^vecfill: skipped /m);
    } finally {
      chmodSync(join(folder, 'secret.md'), 0o644);
      chmodSync(join(folder, 'locked'), 0o755);
    }
  });

  it('never aborts while files come and go during the walk', async () => {
    const folder = join(dir, 'churn');
    mkdirSync(folder, { recursive: true });
    // Another process deletes and re-creates 400 notes as fast as it can.
    const churner = spawn(
      process.execPath,
      [
        '-e',
        `const fs = require('node:fs');
         for (let sweep = 0; ; sweep++)
           for (let k = 0; k < 400; k++) {
             const f = ${JSON.stringify(folder)} + '/f' + k + '.md';
             if (sweep % 2) fs.writeFileSync(f, 'note ' + k); else fs.rmSync(f, { force: true });
           }`,
      ],
      { stdio: 'ignore' },
    );
    try {
      await new Promise((r) => setTimeout(r, 300));
      for (let run = 0; run < 4; run++) {
        const r = await runCli(['index', folder, '--db', join(dir, 'churn.db'), ...OFFLINE]);
        expect([0, 5], r.stderr).toContain(r.code);
        if (r.code === 5) expect(r.stderr).toMatch(/vanished while indexing/);
      }
    } finally {
      churner.kill('SIGKILL');
    }
  });
});

describe('Ctrl-C', () => {
  it('a second SIGINT exits 130 at once, even inside a long synchronous SQLite statement', async () => {
    const folder = join(dir, 'ctrl-c');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'a.md'), 'The tide rises with the moon.');
    writeFileSync(join(folder, 'b.md'), 'Knead the dough and let it rise.');
    const db = join(dir, 'ctrl-c.db');
    expect((await runCli(['index', folder, '--db', db])).code).toBe(0);
    // A filter that keeps SQLite busy for hours inside one statement.
    const endless =
      'd.rowid IN (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000000000) SELECT count(*) FROM c)';
    const child = startCli(['search', 'tide', '--db', db, '--where', endless]);
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      await new Promise((r) => setTimeout(r, 4000)); // loaded, and deep in the statement
      child.kill('SIGINT');
      await new Promise((r) => setTimeout(r, 300));
      const second = Date.now();
      child.kill('SIGINT');
      const code = await Promise.race([
        exited,
        new Promise<'still running'>((r) => setTimeout(() => r('still running'), 5000)),
      ]);
      expect(code).toBe(130);
      expect(Date.now() - second).toBeLessThan(2000);
    } finally {
      child.kill('SIGKILL');
    }
  }, 30_000);
});

describe('several vecfill fill processes', () => {
  it('lease their pages: two at once embed no document twice beyond one batch', async () => {
    // 60 batches at 80 ms: about 5 s of encoding, so both processes are surely running
    // before one could take the whole backlog (process start-up is ~1 s under load).
    const server = await startFaultServer({ dimensions: 16, decide: () => 'ok', delayMs: 80 });
    try {
      const file = notesDb(join(dir, 'two.db'), []);
      const encoder = openaiFlags(`${server.url}/v1`, 'm', 16);
      const setup = await runCli(['fill', '--db', file, ...tableFlags(), ...encoder]);
      expect(setup.code, setup.stderr).toBe(0);
      const fillDb = new Database(file);
      fillDb.transaction(() => {
        const ins = fillDb.prepare('INSERT INTO notes VALUES (?, ?)');
        for (let i = 1; i <= 1200; i++) ins.run(i, `note number ${i} about topic ${i % 17}`);
      })();
      fillDb.close();
      const args = ['fill', '--db', file, '--batch-size', '20', '--json'];
      const [a, b] = await Promise.all([runCli(args), runCli(args)]);
      expect(a.code, a.stderr).toBe(0);
      expect(b.code, b.stderr).toBe(0);
      const times = new Map<string, number>();
      for (const entry of server.log)
        for (const t of entry.texts) times.set(t, (times.get(t) ?? 0) + 1);
      const twice = [...times.values()].filter((n) => n > 1).length;
      expect(times.size).toBe(1200);
      expect(twice).toBeLessThanOrEqual(20);
      const done = (JSON.parse(a.stdout) as { generations: { documents: number }[] }).generations;
      const done2 = (JSON.parse(b.stdout) as { generations: { documents: number }[] }).generations;
      // Both worked: the backlog was shared, not done twice.
      expect(done[0]!.documents).toBeGreaterThan(0);
      expect(done2[0]!.documents).toBeGreaterThan(0);
      expect(done[0]!.documents + done2[0]!.documents).toBeLessThanOrEqual(1220);
    } finally {
      await server.close();
    }
  }, 120_000);
});
