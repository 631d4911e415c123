// recenter() of a binary generation while an application writes to the same
// database, against the one-transaction, everything-in-memory way it used to
// run (the baseline, reproduced below).
//   node bench/recenter.js [rows=1000000] [dims=100]
// Prints one row per measure: ours | baseline | ratio. Each side runs in its
// own child process on its own copy of the database (opened with
// mmapBytes: 0, so RSS is the process's own memory), beside a writer process
// with a 5 s busy timeout doing UPDATEs as fast as it can.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, SqliteStore } from '../dist/sqlite/index.js';
import { rng } from './lib.js';
import { runChild, writerDuring, writerLoop } from './writer-loop.js';

const SCHEMA = {
  docsTable: 'docs',
  idColumn: 'id',
  contentColumn: 'content',
  vectorsPrefix: 'vf',
  fullText: false,
};

if (process.argv[2] === '--child') {
  // node bench/recenter.js --child <db> ours|baseline
  const [, , , path, side] = process.argv;
  const db = openDatabase(path, { mmapBytes: 0 });
  const store = SqliteStore.open(db, SCHEMA);
  const before = process.memoryUsage().rss;
  const started = performance.now();
  const codes = side === 'ours' ? store.recenter('bin') : baselineRecenter(db);
  const seconds = (performance.now() - started) / 1000;
  const peak = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(JSON.stringify({ codes, seconds, rssBefore: before, peak }));
  db.close();
} else if (process.argv[2] === '--writer') {
  const [, , , path] = process.argv;
  await writerLoop(path, (db) => {
    const bump = db.prepare('UPDATE app_counter SET n = n + 1');
    return () => bump.run();
  });
} else {
  await main(Number(process.argv[2] ?? 1_000_000), Number(process.argv[3] ?? 100));
}

/** The old recenter: every float vector read with .all(), every code rewritten in one transaction. */
function baselineRecenter(db) {
  const g = db.prepare("SELECT id, dimensions FROM vf_generations WHERE key = 'bin'").get();
  const run = db.transaction(() => {
    const rows = db.prepare(`SELECT id, v FROM vf_full_${g.id}`).raw().all();
    const sum = new Float64Array(g.dimensions);
    for (const [, blob] of rows) {
      const v = new Float32Array(blob.buffer, blob.byteOffset, blob.byteLength / 4);
      for (let i = 0; i < sum.length; i++) sum[i] += v[i];
    }
    const centre = Float32Array.from(sum, (x) => x / rows.length);
    const update = db.prepare(`UPDATE vf_vec_${g.id} SET embedding = ? WHERE id = ?`);
    for (const [id, blob] of rows) {
      const v = new Float32Array(blob.buffer, blob.byteOffset, blob.byteLength / 4);
      const out = Buffer.alloc(Math.ceil(v.length / 8));
      for (let i = 0; i < v.length; i++) if (v[i] > centre[i]) out[i >> 3] |= 1 << (i & 7);
      update.run(out, id);
    }
    db.prepare('UPDATE vf_generations SET centre = ? WHERE id = ?').run(
      Buffer.from(centre.buffer),
      g.id,
    );
    return rows.length;
  });
  return run.immediate();
}

/** One side (ours or the baseline) in its own process, beside the writer (started 0.5 s before). */
async function side(path, name) {
  const { result, writer } = await writerDuring(
    import.meta.filename,
    ['--writer', path],
    () => runChild(import.meta.filename, ['--child', path, name]),
    { settleMs: 500 },
  );
  return { ...result, writer };
}

async function main(rows, dims) {
  const dir = mkdtempSync(join(tmpdir(), 'vecfill-bench-recenter-'));
  try {
    const path = join(dir, 'base.db');
    const db = openDatabase(path, { mmapBytes: 0 });
    db.exec(`CREATE TABLE docs (id INTEGER PRIMARY KEY, content TEXT NOT NULL);
             CREATE TABLE app_counter (n INTEGER NOT NULL); INSERT INTO app_counter VALUES (0);`);
    const ins = db.prepare('INSERT INTO docs VALUES (?, ?)');
    db.transaction(() => {
      for (let i = 1; i <= rows; i++) ins.run(i, `doc ${i}`);
    })();
    const store = SqliteStore.open(db, SCHEMA);
    store.ensureGeneration('bin', { model: 'bench', dimensions: dims }, 'active', {
      quantization: 'binary',
    });
    const random = rng(11);
    const t = performance.now();
    for (let start = 1; start <= rows; start += 10_000) {
      const items = [];
      for (let id = start; id < start + 10_000 && id <= rows; id++) {
        // Anisotropic, as sentence encoders' vectors are: a shared offset.
        const vector = Float32Array.from({ length: dims }, () => 0.3 + random() - 0.5);
        items.push({
          doc: id,
          revision: undefined,
          vectors: [{ chunkIndex: 0, start: 0, end: 1, vector }],
        });
      }
      store.saveMany('bin', items);
    }
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    console.log(`built ${rows} x ${dims} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const copy = (name) => {
      const p = join(dir, `${name}.db`);
      copyFileSync(path, p);
      return p;
    };
    const base = await side(copy('baseline'), 'baseline');
    const ours = await side(copy('ours'), 'ours');
    const mb = (b) => `${(b / 2 ** 20).toFixed(0)} MB`;
    const row = (name, a, b, fmt) =>
      console.log(
        `${name.padEnd(40)} ${fmt(a).padStart(12)} | ${fmt(b).padStart(12)} | ${(a / b).toFixed(2)}`,
      );
    console.log(`recenter ${rows} x ${dims}-d binary codes: ours | baseline | ratio`);
    row('wall time (s)', ours.seconds, base.seconds, (x) => x.toFixed(2));
    row('peak RSS', ours.peak, base.peak, mb);
    row(
      'peak RSS above the open store',
      ours.peak - ours.rssBefore,
      base.peak - base.rssBefore,
      mb,
    );
    row('writer updates/s during the run', ours.writer.perSecond, base.writer.perSecond, (x) =>
      x.toFixed(0),
    );
    row('writer worst wait (ms)', ours.writer.worst, base.writer.worst, (x) => x.toFixed(0));
    console.log(
      `writer SQLITE_BUSY (5 s timeout): ours ${ours.writer.busy}, baseline ${base.writer.busy}`,
    );
    console.log(`codes rewritten: ours ${ours.codes}, baseline ${base.codes}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
