import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fill } from '../../src/core/index.js';
import { openDatabase, SqliteStore } from '../../src/sqlite/index.js';
import { tempDir } from '../sqlite/helpers.js';
import { finished } from '../support/child.js';
import { integrityProblems, printed, SCHEMA, startWorker, wrongVectors } from './helpers.js';
import { embedText } from './worker-encoder.mjs';

const DIMS = 8;
const encode = async (texts: string[]) => {
  await new Promise((r) => setTimeout(r, 2));
  return texts.map((t) => embedText(t, DIMS));
};

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i]! * b[i]!;
  return dot;
}

function seedDb(path: string, docs: number): void {
  const db = openDatabase(path);
  db.exec(
    'CREATE TABLE docs (id INTEGER PRIMARY KEY, content TEXT NOT NULL, revision INTEGER NOT NULL DEFAULT 1)',
  );
  const ins = db.prepare('INSERT INTO docs (id, content) VALUES (?, ?)');
  const topics = ['apple', 'rocket', 'violin', 'harbor', 'garden', 'chess', 'tide', 'bread'];
  db.transaction(() => {
    for (let i = 1; i <= docs; i++) ins.run(i, `${topics[i % 8]} ${topics[(i * 3) % 8]} doc ${i}`);
  })();
  SqliteStore.open(db, SCHEMA).ensureGeneration('g', { model: 'hash', dimensions: DIMS }, 'active');
  db.close();
}

describe('concurrent edits', () => {
  it('never serves a deleted or stale document while another process edits, and converges after one more fill', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const path = join(dir, 'edits.db');
      seedDb(path, 2000);
      const db = openDatabase(path);
      const store = SqliteStore.open(db, SCHEMA);
      // A separate connection for searches: each check reads one consistent snapshot.
      const readDb = openDatabase(path, { readonly: true });
      const reader = SqliteStore.open(readDb, SCHEMA);
      const contentOf = readDb.prepare('SELECT content FROM docs WHERE id = ?').pluck();
      let checks = 0;
      const violations: string[] = [];
      const check = readDb.transaction((q: Float32Array) => {
        const hits = reader.queryGeneration('g', q, 10);
        for (const h of hits) {
          const content = contentOf.get(h.doc) as string | undefined;
          if (content === undefined) violations.push(`deleted document ${String(h.doc)} returned`);
          else if (Math.abs(cosine(q, embedText(content, DIMS)) - h.score) > 1e-4) {
            violations.push(`document ${String(h.doc)} returned with vectors of old content`);
          }
        }
        checks++;
      });
      const queries = ['apple rocket', 'violin harbor', 'garden chess', 'tide bread'].map((q) =>
        embedText(q, DIMS),
      );
      const timer = setInterval(() => check(queries[checks % queries.length]!), 3);

      const child = (await import('node:child_process')).spawn(
        process.execPath,
        [
          join(import.meta.dirname, 'edit-worker.mjs'),
          JSON.stringify({
            db: path,
            seed: 7,
            untilStdinEnds: true,
            minEdits: 250,
            intervalMs: 2,
            firstNewId: 2001,
          }),
        ],
        { stdio: ['pipe', 'pipe', 'pipe'] },
      );
      const edits = finished(child);
      let editing = true;
      void edits.then(() => {
        editing = false;
      });
      let rounds = 0;
      let filled = 0;
      const started = Date.now();
      while (editing) {
        const r = await fill(store, 'g', encode, { scanBatch: 50, batch: { batchSize: 25 } });
        filled += r.documents;
        rounds++;
        // The editor stops (after its 250 edits at least) once three fills ran
        // beside it for 2.5 s: slow machines run fewer edits a fill, not fewer fills.
        if (rounds >= 3 && Date.now() - started >= 2500) child.stdin?.end();
        // A synchronous store never yields when nothing is pending: let timers and the editor run.
        await new Promise((r) => setTimeout(r, 5));
      }
      const edited = await edits;
      expect(edited.code, edited.stderr).toBe(0);
      const counts = JSON.parse(edited.stdout) as {
        updates: number;
        inserts: number;
        deletes: number;
      };
      expect(counts.updates + counts.inserts + counts.deletes).toBeGreaterThan(200);
      // The sweep is explicit now (every save prunes only a bounded slice).
      await fill(store, 'g', encode, { prune: true });
      clearInterval(timer);
      check(queries[0]!);

      expect(violations).toEqual([]);
      expect(checks).toBeGreaterThan(50);
      expect(rounds).toBeGreaterThan(1);
      // Edited and inserted documents were embedded again while the editor ran.
      expect(filled).toBeGreaterThan(2000);
      const total = db.prepare('SELECT count(*) FROM docs').pluck().get() as number;
      expect(store.coverage('g')).toEqual({ embedded: total, skipped: 0, backlog: 0 });
      expect(wrongVectors(db, DIMS, embedText)).toBe(0);
      expect(integrityProblems(db)).toEqual([]);
      // No deleted document keeps vectors: the last fill's sweep pruned them.
      expect(
        db
          .prepare(
            'SELECT count(*) FROM vf_chunks c WHERE NOT EXISTS (SELECT 1 FROM docs d WHERE d.id = c.doc)',
          )
          .pluck()
          .get(),
      ).toBe(0);
      readDb.close();
      db.close();
    } finally {
      cleanup();
    }
  }, 60_000);
});

describe('several fill processes', () => {
  it('two fill processes on one WAL database finish without SQLITE_BUSY and without double work beyond one batch', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const path = join(dir, 'two.db');
      seedDb(path, 4000);
      const schema = { ...SCHEMA, leaseMs: 60_000 };
      const opts = {
        db: path,
        schema,
        gen: 'g',
        dims: DIMS,
        // About 5 s of encoding each, and both start on one signal once both
        // processes are up (however slowly a loaded machine starts them), so
        // both are filling before either has taken the whole backlog.
        delayMs: 20,
        scanBatch: 64,
        batchSize: 16,
        waitForGo: true,
      };
      const workers = [startWorker(opts), startWorker(opts)] as const;
      const done = Promise.all([finished(workers[0]), finished(workers[1])]);
      await Promise.all(workers.map((w) => printed(w, 'ready')));
      for (const w of workers) w.stdin?.write('go\n');
      const [a, b] = await done;
      expect(a.code, a.stderr).toBe(0);
      expect(b.code, b.stderr).toBe(0);
      const ra = JSON.parse(a.stdout.split('\n')[1]!) as { documents: number; encoded: number };
      const rb = JSON.parse(b.stdout.split('\n')[1]!) as { documents: number; encoded: number };
      expect(ra.documents).toBeGreaterThan(0);
      expect(rb.documents).toBeGreaterThan(0);
      expect(ra.documents + rb.documents).toBe(4000);
      expect(ra.encoded + rb.encoded).toBeLessThanOrEqual(4000 + 64);
      const db = openDatabase(path);
      expect(SqliteStore.open(db, schema).coverage('g')).toEqual({
        embedded: 4000,
        skipped: 0,
        backlog: 0,
      });
      expect(integrityProblems(db)).toEqual([]);
      db.close();
    } finally {
      cleanup();
    }
  }, 60_000);
});
