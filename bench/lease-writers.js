// What leasing costs the application's own writers: a process updating rows
// of the same SQLite database as fast as it can (5 s busy timeout) while a
// `fill()` runs beside it, without leases and with leases (`leaseMs`).
//   node bench/lease-writers.js [docs=20000]
// VECFILL_DIST=<dir> measures another build (e.g. an older one) of dist/.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runChild, writerDuring as writerDuringRun, writerLoop } from './writer-loop.js';

const dist = resolve(process.env.VECFILL_DIST ?? join(import.meta.dirname, '..', 'dist'));
const { openDatabase, SqliteStore } = await import(
  pathToFileURL(join(dist, 'sqlite/index.js')).href
);
const { fill } = await import(pathToFileURL(join(dist, 'core/index.js')).href);

const DIMS = 64;
const schema = (leaseMs) => ({
  docsTable: 'docs',
  idColumn: 'id',
  contentColumn: 'content',
  vectorsPrefix: 'vf',
  fullText: false,
  ...(leaseMs ? { leaseMs } : {}),
});

/** A model-like encoder: 4 ms per call, deterministic vectors. */
async function encode(texts) {
  await new Promise((r) => setTimeout(r, 4));
  return texts.map((t) => {
    const v = new Float32Array(DIMS);
    for (let i = 0; i < t.length; i++) v[(t.charCodeAt(i) * 31 + i) % DIMS] += 1;
    v[0] += 1;
    return v;
  });
}

const mode = process.argv[2];
if (mode === '--fill') {
  const [, , , path, lease] = process.argv;
  const db = openDatabase(path);
  const store = SqliteStore.open(db, schema(Number(lease)));
  const started = performance.now();
  const r = await fill(store, 'g', encode, { scanBatch: 256, batch: { batchSize: 64 } });
  process.stdout.write(
    JSON.stringify({ documents: r.documents, seconds: (performance.now() - started) / 1000 }),
  );
  db.close();
} else if (mode === '--writer') {
  const [, , , path, rows] = process.argv;
  await writerLoop(path, (db) => {
    const bump = db.prepare('UPDATE app_rows SET n = n + 1 WHERE id = ?');
    return (n) => bump.run(1 + (n % Number(rows)));
  });
} else {
  await main(Number(process.argv[2] ?? 20_000));
}

function run(args) {
  return runChild(import.meta.filename, args, { env: { VECFILL_DIST: dist } });
}

function writerDuring(path, work) {
  return writerDuringRun(import.meta.filename, ['--writer', path, '1000'], work, {
    env: { VECFILL_DIST: dist },
  });
}

async function main(docs) {
  const dir = mkdtempSync(join(tmpdir(), 'vecfill-bench-lease-'));
  try {
    const base = join(dir, 'base.db');
    const db = openDatabase(base);
    db.exec(`CREATE TABLE docs (id INTEGER PRIMARY KEY, content TEXT NOT NULL);
             CREATE TABLE app_rows (id INTEGER PRIMARY KEY, n INTEGER NOT NULL);`);
    db.transaction(() => {
      const ins = db.prepare('INSERT INTO docs VALUES (?, ?)');
      for (let i = 1; i <= docs; i++) ins.run(i, `document ${i} about topic ${i % 97}`);
      const app = db.prepare('INSERT INTO app_rows VALUES (?, 0)');
      for (let i = 1; i <= 1000; i++) app.run(i);
    })();
    const store = SqliteStore.open(db, schema(60_000));
    store.ensureGeneration('g', { model: 'bench', dimensions: DIMS }, 'active');
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    const copy = (name) => {
      const p = join(dir, `${name}.db`);
      copyFileSync(base, p);
      return p;
    };
    const alone = await writerDuring(copy('alone'), () => new Promise((r) => setTimeout(r, 3000)));
    const plain = await writerDuring(copy('plain'), () =>
      run(['--fill', join(dir, 'plain.db'), '0']),
    );
    const leased = await writerDuring(copy('leased'), () =>
      run(['--fill', join(dir, 'leased.db'), '60000']),
    );
    console.log(`dist: ${dist}; ${docs} documents, writer: 5 s busy timeout`);
    console.log(`writer alone                     ${alone.writer.perSecond.toFixed(0)} updates/s`);
    console.log(
      `beside fill(), no leases          ${plain.writer.perSecond.toFixed(0)} updates/s (fill ${plain.result.seconds.toFixed(1)} s, busy ${plain.writer.busy})`,
    );
    console.log(
      `beside fill(), leaseMs            ${leased.writer.perSecond.toFixed(0)} updates/s (fill ${leased.result.seconds.toFixed(1)} s, busy ${leased.writer.busy})`,
    );
    console.log(
      `leases / no leases                ${(leased.writer.perSecond / plain.writer.perSecond).toFixed(2)}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
