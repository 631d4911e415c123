import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, SqliteStore } from '../../src/sqlite/index.js';
import { tempDir } from '../sqlite/helpers.js';
import { jsonLines } from '../support/child.js';
import { integrityProblems, wrongVectors } from './helpers.js';
import { embedText } from './worker-encoder.mjs';

// Followers and an editor as real child processes on one SQLite file (WAL):
// the follower is the library loop `follow`, the editor an application.

const DIMS = 16;
const SCHEMA = {
  docsTable: 'docs',
  idColumn: 'id',
  contentColumn: 'content',
  revisionColumn: 'revision',
  embedGenColumn: 'embed_gen',
  vectorsPrefix: 'vf',
  leaseMs: 30_000,
};
const FOLLOWER = join(import.meta.dirname, 'follow-worker.mjs');
const EDITOR = join(import.meta.dirname, 'follow-editor.mjs');

const cleanups: (() => void)[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  for (const c of cleanups.splice(0)) c();
});

function setup(n: number): string {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const path = join(dir, 'follow.db');
  const db = openDatabase(path);
  db.exec(`CREATE TABLE docs (id INTEGER PRIMARY KEY, content TEXT NOT NULL,
    revision INTEGER NOT NULL DEFAULT 1, embed_gen TEXT)`);
  const ins = db.prepare('INSERT INTO docs (id, content) VALUES (?, ?)');
  db.transaction(() => {
    for (let i = 1; i <= n; i++)
      ins.run(i, `document ${i} about ${['tide', 'chess', 'bread'][i % 3]}`);
  })();
  SqliteStore.open(db, SCHEMA).ensureGeneration('g', { model: 'hash', dimensions: DIMS }, 'active');
  db.close();
  return path;
}

interface Proc {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: string | null; ms: number }>;
  stderr: () => string;
}

function start(script: string, opts: Record<string, unknown>): Proc {
  const child = spawn(process.execPath, [script, JSON.stringify(opts)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const lines: Record<string, unknown>[] = [];
  let err = '';
  jsonLines(child.stdout!, (line) => lines.push(line));
  child.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
  });
  let signalledAt = 0;
  const kill = child.kill.bind(child);
  child.kill = (sig?: NodeJS.Signals | number) => {
    signalledAt = Date.now();
    return kill(sig);
  };
  const exited = new Promise<{ code: number | null; signal: string | null; ms: number }>(
    (resolve) =>
      child.on('close', (code, signal) => resolve({ code, signal, ms: Date.now() - signalledAt })),
  );
  return { child, lines, exited, stderr: () => err };
}

async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The integrity problems of the file, read through a connection of its own. */
function integrityOf(path: string): string[] {
  const fresh = openDatabase(path);
  try {
    return integrityProblems(fresh);
  } finally {
    fresh.close();
  }
}

/** Waits for a zero backlog, then checks every rule of convergence. */
async function expectConverged(path: string, deleted: Record<string, string> = {}) {
  const db = openDatabase(path);
  try {
    const store = SqliteStore.open(db, SCHEMA);
    await until(() => store.coverage('g').backlog === 0, 20_000, 'a zero backlog');
    // Stamps of deleted rows are pruned on the follower's next pass (a rescan at the latest).
    // Each check opens its own connection: SQLite's FTS5 integrity check on a
    // connection that read the full-text index before another process wrote
    // it reports stale structure as corruption (a fresh connection reads ok).
    await until(() => integrityOf(path).length === 0, 10_000, 'deleted rows pruned').catch(() =>
      expect(integrityOf(path)).toEqual([]),
    );
    // Every document's vector is the encoding of its final content…
    expect(wrongVectors(db, DIMS, embedText)).toBe(0);
    const rows = db.prepare('SELECT count(*) FROM docs').pluck().get() as number;
    expect(store.coverage('g').embedded).toBe(rows);
    expect(db.prepare('SELECT count(*) FROM docs WHERE embed_gen IS NULL').pluck().get()).toBe(0);
    // …and no deleted document is searchable.
    for (const [id, content] of Object.entries(deleted)) {
      const hits = store.queryGeneration('g', embedText(content, DIMS), 5);
      expect(hits.map((h) => String(h.doc))).not.toContain(id);
    }
  } finally {
    db.close();
  }
}

describe('follow in real processes', () => {
  it('a follower and an editor on one SQLite file converge: inserts, updates, deletes, NULL of the invalidation column', async () => {
    const path = setup(500);
    const follower = start(FOLLOWER, { db: path, schema: SCHEMA, dims: DIMS });
    await until(() => follower.lines.some((l) => l.type === 'caught-up'), 20_000, 'the first fill');
    const editor = start(EDITOR, {
      db: path,
      seed: 7,
      firstNewId: 501,
      durationMs: 2500,
      intervalMs: 3,
    });
    const edited = await editor.exited;
    expect(edited.code).toBe(0);
    const report = editor.lines[0] as {
      deleted: Record<string, string>;
      invalidations: number;
      deletes: number;
    };
    expect(report.invalidations).toBeGreaterThan(10);
    expect(report.deletes).toBeGreaterThan(10);
    await expectConverged(path, report.deleted);
    follower.child.kill('SIGTERM');
    expect((await follower.exited).code).toBe(0);
  });

  it('rides out a provider outage of a few seconds with backoff, losing and repeating nothing', async () => {
    const path = setup(300);
    const follower = start(FOLLOWER, {
      db: path,
      schema: SCHEMA,
      dims: DIMS,
      failFromMs: 800,
      failUntilMs: 3500,
    });
    await until(() => follower.lines.some((l) => l.type === 'caught-up'), 20_000, 'the first fill');
    // No invalidations here: re-embedding an invalidated document is not a repeat.
    const editor = start(EDITOR, {
      db: path,
      noInvalidate: true,
      seed: 3,
      firstNewId: 301,
      durationMs: 3500,
      intervalMs: 10,
    });
    await editor.exited;
    const report = editor.lines[0] as { deleted: Record<string, string> };
    await expectConverged(path, report.deleted);
    const retries = follower.lines.filter((l) => l.type === 'retrying');
    expect(retries.length).toBeGreaterThanOrEqual(3);
    for (const r of retries) expect(r.delayMs as number).toBeLessThanOrEqual(800);
    follower.child.kill('SIGTERM');
    await follower.exited;
    // Nothing encoded twice: the outage lost no finished work and repeated none.
    const { encoded } = follower.lines.at(-1) as { encoded: Record<string, number> };
    expect(Object.values(encoded).filter((n) => n > 1)).toEqual([]);
  });

  it('SIGTERM stops within a second keeping finished documents; kill -9 and a restart resume', async () => {
    const path = setup(3000);
    const first = start(FOLLOWER, {
      db: path,
      schema: { ...SCHEMA, leaseMs: 1000 },
      dims: DIMS,
      delayMs: 5,
    });
    await until(() => first.lines.some((l) => l.type === 'generations'), 10_000, 'the start');
    await new Promise((r) => setTimeout(r, 700));
    first.child.kill('SIGTERM');
    const stopped = await first.exited;
    expect(stopped.code).toBe(0);
    expect(stopped.ms).toBeLessThan(1000);
    const done = (first.lines.at(-1) as { stopped: number }).stopped;
    expect(done).toBeGreaterThan(0);
    const db = openDatabase(path);
    const store = SqliteStore.open(db, SCHEMA);
    expect(store.coverage('g').embedded).toBe(done);

    const second = start(FOLLOWER, {
      db: path,
      schema: { ...SCHEMA, leaseMs: 1000 },
      dims: DIMS,
      delayMs: 5,
    });
    await until(
      () => store.coverage('g').embedded > done + 100,
      10_000,
      'progress after a restart',
    );
    second.child.kill('SIGKILL');
    expect((await second.exited).signal).toBe('SIGKILL');
    expect(integrityOf(path)).toEqual([]);
    const afterKill = store.coverage('g').embedded;
    db.close();

    // The killed follower's leases expire (1 s here); a restart finishes the rest.
    const third = start(FOLLOWER, {
      db: path,
      schema: { ...SCHEMA, leaseMs: 1000 },
      dims: DIMS,
      rescanMs: 500,
    });
    await expectConverged(path);
    third.child.kill('SIGTERM');
    await third.exited;
    const { encoded } = third.lines.at(-1) as { encoded: Record<string, number> };
    expect(Object.keys(encoded).length).toBeLessThanOrEqual(3000 - afterKill + 64);
  });

  it('two followers share one backlog: no document embedded twice beyond one scan page', async () => {
    const path = setup(4000);
    const opts = { db: path, schema: SCHEMA, dims: DIMS, delayMs: 2 };
    const a = start(FOLLOWER, opts);
    const b = start(FOLLOWER, opts);
    await expectConverged(path);
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    await Promise.all([a.exited, b.exited]);
    const ea = (a.lines.at(-1) as { encoded: Record<string, number> }).encoded;
    const eb = (b.lines.at(-1) as { encoded: Record<string, number> }).encoded;
    const twice = Object.keys(ea).filter((t) => eb[t] !== undefined);
    expect(Object.keys(ea).length).toBeGreaterThan(500);
    expect(Object.keys(eb).length).toBeGreaterThan(500);
    expect(twice.length).toBeLessThanOrEqual(64);
  });
});
