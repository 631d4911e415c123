// Fills N documents in a fresh process and prints its peak RSS, so each
// size's memory is measured on its own:  node rss-child.js <n> <dims> <dir>
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fill } from '../dist/core/index.js';
import { openDatabase, SqliteStore } from '../dist/sqlite/index.js';
import { rng } from './lib.js';

const [n, dims, dir] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4]];
// Optional 5th argument: openDatabase's mmapBytes (default: openDatabase's own default).
const mmap = process.argv[5] === undefined ? {} : { mmapBytes: Number(process.argv[5]) };
const db = openDatabase(join(dir, `rss-${n}-${process.argv[5] ?? 'default'}.db`), mmap);
db.exec(
  'CREATE TABLE docs (id INTEGER PRIMARY KEY, content TEXT NOT NULL, rev INTEGER NOT NULL DEFAULT 1)',
);
const ins = db.prepare('INSERT INTO docs (id, content) VALUES (?, ?)');
db.transaction(() => {
  for (let i = 1; i <= n; i++) ins.run(i, `doc ${i}`);
})();
const store = SqliteStore.open(db, {
  docsTable: 'docs',
  idColumn: 'id',
  contentColumn: 'content',
  revisionColumn: 'rev',
  vectorsPrefix: 'vf',
  fullText: false,
});
store.ensureGeneration('g', { model: 'generated', dimensions: dims }, 'active');
// Vectors are generated per call, not held in memory: only the fill's own memory is measured.
const encode = async (texts) =>
  texts.map((t) => {
    const random = rng(Number(t.split(' ')[1]));
    const v = new Float32Array(dims);
    for (let j = 0; j < dims; j++) v[j] = random() - 0.5;
    return v;
  });
// Peak RSS is sampled here rather than read from getrusage(): on Linux a
// spawned child's ru_maxrss starts at its parent's RSS at fork time.
// RssAnon (Linux) is the process's own memory; the rest of RSS is file
// pages, such as the database pages SQLite reads through its memory map.
const anonBytes = () => {
  try {
    const m = /RssAnon:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
};
let peak = process.memoryUsage().rss;
let peakAnon = anonBytes();
const sample = () => {
  peak = Math.max(peak, process.memoryUsage().rss);
  peakAnon = Math.max(peakAnon, anonBytes());
};
const sampler = setInterval(sample, 20);
const t0 = performance.now();
const r = await fill(store, 'g', encode, { scanBatch: 2048, batch: { batchSize: 2048 } });
const seconds = (performance.now() - t0) / 1000;
clearInterval(sampler);
sample();
db.close();
console.log(
  JSON.stringify({
    n,
    documents: r.documents,
    maxRssMB: peak / 1024 / 1024,
    maxAnonMB: peakAnon / 1024 / 1024,
    docsPerSec: n / seconds,
  }),
);
