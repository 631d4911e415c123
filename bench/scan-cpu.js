// CPU time per steady search (issue 15's per-query costs), for a busy machine:
//   node bench/scan-cpu.js [--dist=DIR] --data=clustered|uniform|real --n=N --kind=int8|float32
//     [--q=200] [--limit=10] [--reps=3] [--search]
// The file (n × 384, or the real sentences) is built once into the temp
// directory and reused, so two builds (`--dist`, default ../dist) can be run
// alternately against the same file. Per rep: p50/p10 wall clock, CPU per
// query (process.cpuUsage(): caller and scan helper threads), the time inside
// the index's candidates() and the pooled scan, rows read back for
// rescoring (rescoredRows, where the build has it) and recall@10.
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

const arg = (name, def) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : def;
};
const dist = resolve(arg('dist', join(here, '..', 'dist')));
const data = arg('data', 'clustered');
const N = Number(arg('n', 20000));
const kind = arg('kind', 'int8');
const Q = Number(arg('q', 200));
const limit = Number(arg('limit', 10));
const reps = Number(arg('reps', 3));
const viaSearch = process.argv.includes('--search');
const D = 384;
const lib = await import('./lib.js');
const { openDatabase, SqliteStore } = await import(`${dist}/sqlite/index.js`);
const { search } = await import(`${dist}/core/index.js`);
const { MemoryIndex } = await import(`${dist}/sqlite/index/memory-index.js`);
const { ScanPool } = await import(`${dist}/sqlite/simd/scan-pool.js`);
const { SCHEMA } = lib;

let flat;
let dims = D;
let queries;
const path = join(tmpdir(), `vecfill-scan-cpu-${data}-${N}.db`);
if (data === 'clustered') {
  const clusters = N <= 20000 ? 200 : 1000;
  flat = lib.clusteredVectors(N, D, clusters, lib.rng(9));
  const qFlat = lib.clusteredVectors(Q, D, clusters, lib.rng(9), 0.05, lib.rng(10));
  queries = Array.from({ length: Q }, (_, i) => qFlat.subarray(i * D, (i + 1) * D));
} else if (data === 'uniform') {
  const vs = lib.randomUnitVectors(N, D, lib.rng(7));
  flat = new Float32Array(N * D);
  for (const [i, v] of vs.entries()) flat.set(v, i * D);
  queries = lib.randomUnitVectors(Q, D, lib.rng(8));
} else {
  const real = await lib.realEmbeddings(N, join(here, '..'));
  flat = real.flat;
  dims = real.dims;
  queries = real.queries;
}
const n = flat.length / dims;
if (!existsSync(path)) {
  const db = openDatabase(path);
  db.exec(
    'CREATE TABLE docs (id INTEGER PRIMARY KEY, content TEXT NOT NULL, rev INTEGER NOT NULL DEFAULT 1, category INTEGER)',
  );
  const ins = db.prepare('INSERT INTO docs (id, content, category) VALUES (?, ?, ?)');
  db.transaction(() => {
    for (let i = 1; i <= n; i++) ins.run(i, `doc ${i}`, i % 10);
  })();
  const store = SqliteStore.open(db, { ...SCHEMA, scan: { float: 'sqlite-vec' } });
  store.ensureGeneration('g', { model: 'm-g', dimensions: dims }, 'active');
  lib.saveAll(store, 'g', flat, n, dims);
  db.close();
}
const truths = queries.map((q) => lib.exactTop(flat, n, dims, q, 10).map((x) => x + 1));

const db = openDatabase(path);
const store = SqliteStore.open(db, { ...SCHEMA, scan: { float: kind } });
// Timers around the index's candidates and the pool's scan.
const t = { cand: 0, scan: 0, scanCpu: 0, rescored: 0 };
const cand = MemoryIndex.prototype.candidates;
MemoryIndex.prototype.candidates = function (...a) {
  const t0 = performance.now();
  try {
    const r = cand.apply(this, a);
    t.rescored += this.rescoredRows ?? 0;
    return r;
  } finally {
    t.cand += performance.now() - t0;
  }
};
const pscan = ScanPool.prototype.scan;
let pooled = 0;
ScanPool.prototype.scan = function (...a) {
  const t0 = performance.now();
  pooled++;
  try {
    return pscan.apply(this, a);
  } finally {
    t.scan += performance.now() - t0;
  }
};
const encoderFor = () => async () => [cur];
let cur = queries[0];
const one = async (q) => {
  if (viaSearch) {
    cur = q;
    const hits = await search(store, 'q', { encoderFor, limit, generations: ['g'] });
    return hits.map((h) => h.doc);
  }
  return store.queryGeneration('g', q, limit).map((h) => h.doc);
};
for (let i = 0; i < 20; i++) await one(queries[i % queries.length]);
const results = [];
for (let r = 0; r < reps; r++) {
  t.cand = 0;
  t.scan = 0;
  t.rescored = 0;
  pooled = 0;
  const times = [];
  const cpus = [];
  let recall = 0;
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  for (const [i, q] of queries.entries()) {
    const cc = process.cpuUsage();
    const t0 = performance.now();
    const docs = await one(q);
    times.push(performance.now() - t0);
    const cu = process.cpuUsage(cc);
    cpus.push((cu.user + cu.system) / 1000);
    const tr = new Set(truths[i].slice(0, Math.min(10, limit)));
    recall += docs.slice(0, 10).filter((d) => tr.has(d)).length / tr.size;
  }
  const wall = performance.now() - w0;
  const cu = process.cpuUsage(c0);
  results.push({
    p50: lib.pct(times, 50),
    p10: lib.pct(times, 10),
    cpuMean: (cu.user + cu.system) / 1000 / queries.length,
    cpuP50: lib.pct(cpus, 50),
    wallMean: wall / queries.length,
    cand: t.cand / queries.length,
    scan: t.scan / queries.length,
    pooled: pooled / queries.length,
    rescored: t.rescored / queries.length,
    recall: recall / queries.length,
  });
}
const f = (x) => x.toFixed(3);
console.log(
  `${dist} ${data} n=${n} d=${dims} ${kind} limit=${limit}${viaSearch ? ' search()' : ''}`,
);
for (const r of results)
  console.log(
    `  p50 ${f(r.p50)} p10 ${f(r.p10)} wallMean ${f(r.wallMean)} cpuMean ${f(r.cpuMean)} cpuP50 ${f(r.cpuP50)} | candidates ${f(r.cand)} poolScan ${f(r.scan)} (pooled ${r.pooled}) rescored ${r.rescored} | recall ${r.recall.toFixed(3)}`,
  );
db.close();
