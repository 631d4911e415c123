import type { ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/sqlite/index.js';
import { startEngine, type TestEngine } from '../postgres/helpers.js';
import { tempDir } from '../sqlite/helpers.js';
import { jsonLines } from '../support/child.js';
import { embed } from '../support/hash-encoder.js';
import { openaiFlags, tableFlags } from './helpers.js';
import { runCli, runJson, startCli } from './run-cli.js';

// `vecfill fill --follow` and `vecfill watch` as a user runs them: child
// processes, edits from outside, SIGTERM.

interface Follower {
  child: ChildProcess;
  events: Record<string, unknown>[];
  stderr: () => string;
  exited: Promise<{ code: number | null; ms: number }>;
  stop: () => Promise<{ code: number | null; ms: number }>;
}

const children: ChildProcess[] = [];
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  for (const c of cleanups.splice(0)) c();
});

function startFollower(args: string[]): Follower {
  const child = startCli(args);
  children.push(child);
  const events: Record<string, unknown>[] = [];
  let err = '';
  jsonLines(child.stdout!, (event) => events.push(event));
  child.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
  });
  let stoppedAt = 0;
  const exited = new Promise<{ code: number | null; ms: number }>((resolve) =>
    child.on('close', (code) => resolve({ code, ms: Date.now() - stoppedAt })),
  );
  return {
    child,
    events,
    stderr: () => err,
    exited,
    stop: () => {
      stoppedAt = Date.now();
      child.kill('SIGTERM');
      return exited;
    },
  };
}

async function until(pred: () => boolean | Promise<boolean>, ms: number, what: string) {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** TCP sockets in LISTEN state held by `pid` or its descendants (from /proc). */
function listening(pid: number): number {
  const pids = [pid];
  for (let i = 0; i < pids.length; i++) {
    for (const task of readdirSync(`/proc/${pids[i]}/task`)) {
      const children = `/proc/${pids[i]}/task/${task}/children`;
      if (existsSync(children))
        pids.push(...readFileSync(children, 'utf8').split(' ').filter(Boolean).map(Number));
    }
  }
  const inodes = new Set<string>();
  for (const p of pids) {
    for (const fd of readdirSync(`/proc/${p}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${p}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      } catch {
        // closed meanwhile
      }
    }
  }
  let n = 0;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] === '0A' && inodes.has(f[9]!)) n++;
    }
  }
  return n;
}

const count = (f: Follower, event: string) => f.events.filter((e) => e.event === event).length;

async function topHit(db: string, query: string): Promise<unknown> {
  const r = await runJson<{ results: { id: unknown }[] }>([
    'search',
    query,
    '--db',
    db,
    '--limit',
    '1',
  ]);
  return r.results[0]?.id;
}

describe('vecfill fill --follow (SQLite)', () => {
  it('fills, follows edits from another process, serves metrics, and stops on SIGTERM with exit 0', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const path = join(dir, 'app.db');
    const app = openDatabase(path);
    cleanups.unshift(() => app.close());
    app.exec(
      'CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL, rev INTEGER NOT NULL DEFAULT 1)',
    );
    app
      .prepare('INSERT INTO notes (id, body) VALUES (1, ?), (2, ?)')
      .run(
        'The orchestra tuned before the symphony began.',
        'Compound interest grows savings over decades.',
      );
    const args = ['fill', '--db', path, ...tableFlags(), '--revision', 'rev'];
    const refused = await runCli([...args, '--metrics-port', '0']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/go with --follow/);

    const f = startFollower([
      ...args,
      '--follow',
      '--json',
      '--metrics-port',
      '0',
      '--poll',
      '100',
    ]);
    await until(() => count(f, 'caught-up') >= 1, 60_000, 'the first fill');
    const served = f.events.find((e) => e.event === 'listening') as {
      metrics: string;
      health: string;
    };
    expect(served.metrics).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(f.events.find((e) => e.event === 'filled')).toMatchObject({ documents: 2, stale: 0 });

    app
      .prepare('INSERT INTO notes (id, body) VALUES (3, ?)')
      .run('Tides rise and fall twice a day with the moon.');
    app
      .prepare(
        "UPDATE notes SET body = 'Penguins huddle together through the polar winter.', rev = rev + 1 WHERE id = 1",
      )
      .run();
    await until(() => count(f, 'caught-up') >= 2, 10_000, 'the edits to be filled');
    await until(
      async () => (await topHit(path, 'penguins polar winter')) === 1,
      10_000,
      'the update',
    );
    expect(await topHit(path, 'moon tides')).toBe(3);
    app.prepare('DELETE FROM notes WHERE id = 2').run();
    await until(
      async () => (await topHit(path, 'compound interest savings')) !== 2,
      10_000,
      'the delete',
    );

    const metrics = await (await fetch(served.metrics)).text();
    expect(metrics).toMatch(/^vecfill_backlog\{generation="[^"]+"\} 0$/m);
    expect(metrics).toMatch(/^vecfill_documents_embedded_total\{generation="[^"]+"\} 4$/m);
    expect(metrics).toMatch(/^vecfill_stale_refusals_total\{/m);
    expect(metrics).toMatch(/^vecfill_encode_errors_total\{generation="[^"]+"\} 0$/m);
    expect(metrics).toMatch(/^vecfill_last_fill_timestamp_seconds\{/m);
    expect(metrics).toMatch(/^vecfill_lag_seconds\{generation="[^"]+"\} 0$/m);
    expect(listening(f.child.pid!)).toBe(1);
    const health = await fetch(served.health);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok' });

    const stopped = await f.stop();
    expect(stopped.code).toBe(0);
    expect(stopped.ms).toBeLessThan(1500);
    expect(f.events.at(-1)).toMatchObject({ event: 'stopped', documents: 4 });
  });
});

describe('vecfill fill --follow with a broken provider', () => {
  it('reports a generation failing with a configuration error and exits 1 when none is left', async () => {
    let status = 200;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        if (status !== 200) {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { message: 'Incorrect API key provided' } }));
          return;
        }
        const input = (JSON.parse(body) as { input: string[] }).input;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            data: input.map((t, index) => ({ index, embedding: [...embed(t, 8)] })),
          }),
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => server.close());
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const path = join(dir, 'app.db');
    const app = openDatabase(path);
    cleanups.unshift(() => app.close());
    app.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
    app.prepare("INSERT INTO notes (id, body) VALUES (1, 'alpha'), (2, 'bravo')").run();
    await runJson(['fill', '--db', path, ...tableFlags(), ...openaiFlags(base, 'm', 8)]);
    app.prepare("INSERT INTO notes (id, body) VALUES (3, 'charlie')").run();
    status = 401;
    const f = startFollower(['fill', '--db', path, '--follow', '--json']);
    const { code } = await f.exited;
    expect(code).toBe(1);
    expect(f.events.find((e) => e.event === 'failed')).toMatchObject({
      error: { code: 'ENCODER_CONFIG' },
    });
    expect(f.stderr()).toMatch(/every generation failed/);
  });
});

describe('vecfill watch', () => {
  it('keeps a folder indexed: create, modify, rename (no re-embedding), delete, a new subfolder', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const notes = join(dir, 'notes');
    mkdirSync(notes);
    writeFileSync(join(notes, 'cats.md'), '# Cats\n\nCats purr and sleep in the sun.\n');
    writeFileSync(join(notes, 'dogs.txt'), 'Dogs bark at the mail carrier.\n');
    const db = join(dir, 'watch.db');
    const w = startFollower(['watch', notes, '--db', db, '--json']);
    await until(() => count(w, 'caught-up') >= 1, 60_000, 'the initial index');
    expect(w.events[0]).toMatchObject({ event: 'indexed', initial: true, added: 2 });
    // Without --metrics-port nothing listens.
    expect(listening(w.child.pid!)).toBe(0);
    const filledDocs = () =>
      w.events.filter((e) => e.event === 'filled').reduce((n, e) => n + (e.documents as number), 0);
    const ups = () => count(w, 'caught-up');

    let before = ups();
    writeFileSync(join(notes, 'zebras.md'), 'Zebras graze on the savanna grass.\n');
    await until(() => ups() > before, 10_000, 'a new file');
    expect(await topHit(db, 'zebras savanna')).toBe('zebras.md');

    before = ups();
    writeFileSync(join(notes, 'dogs.txt'), 'Dogs chase frisbees on the beach.\n');
    await until(() => ups() > before, 10_000, 'a modified file');
    expect(await topHit(db, 'frisbees beach')).toBe('dogs.txt');

    const embedded = filledDocs();
    const indexed = count(w, 'indexed');
    renameSync(join(notes, 'cats.md'), join(notes, 'felines.md'));
    await until(() => count(w, 'indexed') > indexed, 10_000, 'a rename');
    expect(w.events.filter((e) => e.event === 'indexed').at(-1)).toMatchObject({
      moved: 1,
      added: 0,
      removed: 0,
    });
    expect(await topHit(db, 'cats purr sun')).toBe('felines.md');
    expect(filledDocs()).toBe(embedded);

    before = ups();
    mkdirSync(join(notes, 'birds'));
    writeFileSync(
      join(notes, 'birds', 'penguins.md'),
      'Penguins huddle through the polar winter.\n',
    );
    await until(() => ups() > before, 10_000, 'a new subfolder');
    expect(await topHit(db, 'penguins polar')).toBe('birds/penguins.md');

    const removed = count(w, 'indexed');
    rmSync(join(notes, 'zebras.md'));
    await until(() => count(w, 'indexed') > removed, 10_000, 'a delete');
    expect(await topHit(db, 'zebras savanna')).not.toBe('zebras.md');

    const status = await runJson<{ generations: { backlog: number; embedded: number }[] }>([
      'status',
      '--db',
      db,
    ]);
    expect(status.generations[0]).toMatchObject({ backlog: 0, embedded: 3 });
    expect((await w.stop()).code).toBe(0);
  });
});

describe('vecfill install-trigger and fill --follow on PostgreSQL', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startEngine();
    await engine.client.query(
      'CREATE TABLE follow_notes (id integer PRIMARY KEY, body text NOT NULL, rev integer NOT NULL DEFAULT 1)',
    );
    await engine.client.query(
      `INSERT INTO follow_notes (id, body) VALUES (1, 'The orchestra tuned before the symphony began.')`,
    );
  });
  afterAll(async () => {
    await engine?.close();
  });

  it('installs the change trigger, follows edits made by another session, and uninstalls it', async () => {
    const url = engine.url;
    const setup = ['--db', url, ...tableFlags('follow_notes'), '--revision', 'rev'];
    await runJson(['fill', ...setup]);
    const installed = await runJson<{ trigger: string; channel: string }>([
      'install-trigger',
      '--db',
      url,
    ]);
    expect(installed).toMatchObject({ trigger: 'installed', channel: 'vecfill_changes' });
    const f = startFollower(['fill', '--db', url, '--follow', '--json', '--poll', '100']);
    await until(() => count(f, 'caught-up') >= 1, 60_000, 'the follower to start');
    await engine.client.query(
      `INSERT INTO follow_notes (id, body) VALUES (2, 'Penguins huddle together through the polar winter.')`,
    );
    await until(() => count(f, 'filled') >= 1, 10_000, 'the insert to be filled');
    expect(f.events.find((e) => e.event === 'filled')).toMatchObject({ documents: 1 });
    expect((await f.stop()).code).toBe(0);
    expect(await topHit(url, 'penguins polar winter')).toBe(2);
    const removed = await runJson<{ trigger: string }>([
      'install-trigger',
      '--db',
      url,
      '--uninstall',
    ]);
    expect(removed.trigger).toBe('removed');
    const { rows } = await engine.client.query(
      `SELECT to_regclass('vecfill_changes') IS NULL AS gone`,
    );
    expect(rows[0]!.gone).toBe(true);
    const sqlite = await runCli(['install-trigger', '--db', join(tempDir().dir, 'x.db')]);
    expect(sqlite.code).not.toBe(0);
  });
});
