import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fill } from '../../src/core/index.js';
import { openDatabase, SqliteStore } from '../../src/sqlite/index.js';
import { tempDir } from '../sqlite/helpers.js';
import { finished } from '../support/child.js';
import { rng } from '../support/rng.js';
import { integrityProblems, SCHEMA, startWorker, wrongVectors } from './helpers.js';
import { embedText } from './worker-encoder.mjs';

const DOCS = 20_000;
const DIMS = 8;
const KILLS = 20;

describe('crash safety', () => {
  it(`survives ${KILLS} SIGKILLs of a process filling ${DOCS} documents, then converges on a clean run's vectors`, async () => {
    const { dir, cleanup } = tempDir();
    try {
      const path = join(dir, 'crash.db');
      const setup = openDatabase(path);
      setup.exec(
        'CREATE TABLE docs (id INTEGER PRIMARY KEY, content TEXT NOT NULL, revision INTEGER NOT NULL DEFAULT 1)',
      );
      const ins = setup.prepare('INSERT INTO docs (id, content) VALUES (?, ?)');
      setup.transaction(() => {
        for (let i = 1; i <= DOCS; i++)
          ins.run(i, `doc ${i} word${i % 97} topic${i % 13} note${i % 1009}`);
      })();
      SqliteStore.open(setup, SCHEMA).ensureGeneration(
        'g',
        { model: 'hash', dimensions: DIMS },
        'active',
      );
      setup.close();

      const random = rng(20261125);
      let kills = 0;
      let runs = 0;
      while (kills < KILLS) {
        runs++;
        const child = startWorker({
          db: path,
          schema: SCHEMA,
          gen: 'g',
          dims: DIMS,
          delayMs: 1,
          scanBatch: 64,
          batchSize: 16,
        });
        const done = finished(child);
        // Kill somewhere between "just started" and "well into the fill".
        await new Promise<void>((r) => child.stdout!.once('data', () => r()));
        await new Promise((r) => setTimeout(r, 20 + random() * 250));
        const killed = child.kill('SIGKILL');
        const end = await done;
        if (killed && end.signal === 'SIGKILL') kills++;
        const db = openDatabase(path);
        try {
          expect(integrityProblems(db), `after kill ${kills}`).toEqual([]);
          expect(wrongVectors(db, DIMS, embedText), `after kill ${kills}`).toBe(0);
          // If the workers got through everything, edit a slice so the next one has work to be killed in.
          const store = SqliteStore.open(db, SCHEMA);
          if (store.coverage('g').backlog === 0) {
            db.prepare(
              "UPDATE docs SET content = content || ' edited', revision = revision + 1 WHERE id % 7 = ?",
            ).run(kills % 7);
          }
        } finally {
          db.close();
        }
        expect(runs).toBeLessThan(KILLS * 3);
      }

      const db = openDatabase(path);
      try {
        const store = SqliteStore.open(db, SCHEMA);
        const before = store.coverage('g');
        expect(before.embedded).toBeGreaterThan(0);
        expect(before.backlog).toBeGreaterThan(0);
        await fill(store, 'g', async (texts) => texts.map((t) => embedText(t, DIMS)), {
          batch: { batchSize: 64 },
        });
        expect(store.coverage('g')).toEqual({ embedded: DOCS, skipped: 0, backlog: 0 });
        expect(integrityProblems(db)).toEqual([]);
        expect(wrongVectors(db, DIMS, embedText)).toBe(0);
        expect(db.prepare('SELECT count(*) FROM vf_chunks').pluck().get()).toBe(DOCS);
      } finally {
        db.close();
      }
    } finally {
      cleanup();
    }
  }, 120_000);
});
