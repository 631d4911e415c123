import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, SqliteStore } from '../../src/sqlite/index.js';
import { rng } from '../support/rng.js';
import { tempDir } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

const ROWS = 150_000;
const DIMS = 64;

/**
 * Another process writing to the same database, as an application does,
 * with a short busy timeout: it counts the writes that failed with
 * SQLITE_BUSY because someone held the write lock longer than that.
 */
function startWriter(file: string, busyMs: number) {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `const Database = require(${JSON.stringify(createRequire(import.meta.url).resolve('better-sqlite3'))});
       const db = new Database(${JSON.stringify(file)});
       db.pragma('busy_timeout = ${busyMs}');
       const bump = db.prepare('UPDATE app_counter SET n = n + 1');
       let ok = 0, busy = 0, stop = false;
       process.on('SIGTERM', () => { stop = true; });
       const tick = () => {
         if (stop) { process.stdout.write(JSON.stringify({ ok, busy })); process.exit(0); }
         try { bump.run(); ok++; } catch (e) { if (/busy|locked/i.test(e.message)) busy++; else throw e; }
         setTimeout(tick, 2);
       };
       process.stdout.write('ready\\n');
       tick();`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const ready = new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (out.includes('ready')) {
        clearInterval(poll);
        resolve();
      }
    }, 10);
  });
  const result = async () => {
    const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
    child.kill('SIGTERM');
    await closed;
    return JSON.parse(out.slice(out.indexOf('\n') + 1)) as { ok: number; busy: number };
  };
  return { ready, result };
}

describe('recenter and the application writers', () => {
  it('never holds the write lock long enough to make a concurrent writer fail with SQLITE_BUSY', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const file = join(dir, 'r.db');
    const db = openDatabase(file);
    cleanups.push(() => db.close());
    db.exec(`CREATE TABLE docs (id INTEGER PRIMARY KEY, content TEXT NOT NULL);
             CREATE TABLE app_counter (n INTEGER NOT NULL); INSERT INTO app_counter VALUES (0);`);
    const ins = db.prepare('INSERT INTO docs VALUES (?, ?)');
    db.transaction(() => {
      for (let i = 1; i <= ROWS; i++) ins.run(i, `doc ${i}`);
    })();
    const store = SqliteStore.open(db, {
      docsTable: 'docs',
      idColumn: 'id',
      contentColumn: 'content',
      vectorsPrefix: 'vf',
      fullText: false,
    });
    store.ensureGeneration('bin', { model: 'm', dimensions: DIMS }, 'active', {
      quantization: 'binary',
    });
    const rand = rng(7);
    for (let start = 1; start <= ROWS; start += 5000) {
      const items = [];
      for (let id = start; id < start + 5000 && id <= ROWS; id++) {
        // Anisotropic vectors: a shared offset, as sentence encoders' vectors have.
        const vector = Float32Array.from({ length: DIMS }, () => 0.5 + rand() - 0.5);
        items.push({
          doc: id,
          revision: undefined,
          vectors: [{ chunkIndex: 0, start: 0, end: 1, vector }],
        });
      }
      store.saveMany('bin', items);
    }
    const writer = startWriter(file, 1000);
    await writer.ready;
    await new Promise((r) => setTimeout(r, 200));
    expect(store.recenter('bin')).toBe(ROWS);
    await new Promise((r) => setTimeout(r, 200));
    const { ok, busy } = await writer.result();
    expect(ok).toBeGreaterThan(0);
    expect(busy).toBe(0);
    expect(store.generations()[0]!.centered).toBe(true);
  }, 120_000);
});
