// Filling a NEW quantized SQLite generation (issue 21): `fill()` through
// SqliteStore into a generation created `building` with
// `{ quantization: 'int8' }` or `{ quantization: 'binary' }` (a binary one is
// centered by the fill that completes it), with a zero-cost encoder
// (precomputed vectors), against the same vectors bulk-inserted into a bare
// vec0 table of that type (int8[d] via vec_quantize_int8, bit[d] via
// vec_quantize_binary) in one transaction. A float generation against a
// bare float[d] insert is measured beside, for scale. Recall@10 of the filled
// generation (queryGeneration vs an exact scan) is printed beside, so a
// faster fill is seen not to cost search quality.
// Run alone: node bench/quantized-fill.js [--quick] [--n=100000]
// (npm run bench runs it too and adds its rows to bench/results.json).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fill } from '../dist/core/index.js';
import { openDatabase, SqliteStore } from '../dist/sqlite/index.js';
import { clusteredVectors, rng, SCHEMA } from './lib.js';

const DIMS = 384;
const QUERIES = 50;

function docsDb(path, n) {
  const db = openDatabase(path);
  db.exec(
    'CREATE TABLE docs (id INTEGER PRIMARY KEY, content TEXT NOT NULL, rev INTEGER NOT NULL DEFAULT 1)',
  );
  const ins = db.prepare('INSERT INTO docs (id, content) VALUES (?, ?)');
  db.transaction(() => {
    for (let i = 1; i <= n; i++) ins.run(i, `doc ${i}`);
  })();
  return db;
}

/** CPU time (user + system) of this process since `from`, in ms: less disturbed by a loaded machine than wall time. */
const cpuMs = (from) => {
  const { user, system } = process.cpuUsage(from);
  return (user + system) / 1000;
};
const s = (ms) => `${(ms / 1000).toFixed(2)} s`;
const vectorOf = (flat, i) => flat.subarray(i * DIMS, (i + 1) * DIMS);
const bytesOf = (v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

/** Exact top-10 doc ids of each query over the first `n` vectors. */
function truth(flat, n, queries) {
  return queries.map((q) => {
    const best = [];
    for (let i = 0; i < n; i++) {
      const v = vectorOf(flat, i);
      let dot = 0;
      for (let j = 0; j < DIMS; j++) dot += v[j] * q[j];
      if (best.length < 10 || dot > best.at(-1)[1]) {
        best.push([i + 1, dot]);
        best.sort((a, b) => b[1] - a[1]);
        if (best.length > 10) best.pop();
      }
    }
    return new Set(best.map(([id]) => id));
  });
}

/** One fill of a new `quantization` generation and one bare insert of the same vectors; ms each, and recall@10. */
async function once(flat, n, quantization, work, tag, queries) {
  const db = docsDb(join(work, `qfill-${quantization}-${tag}.db`), n);
  const store = SqliteStore.open(db, SCHEMA);
  store.ensureGeneration(
    'q',
    { model: 'precomputed', dimensions: DIMS },
    'building',
    quantization === 'float' ? {} : { quantization },
  );
  const encode = async (texts) => texts.map((t) => vectorOf(flat, Number(t.split(' ')[1]) - 1));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await fill(store, 'q', encode, { scanBatch: 2048, batch: { batchSize: 2048 } });
  const oursMs = performance.now() - t0;
  const oursCpu = cpuMs(cpu0);
  if (r.documents !== n) throw new Error(`fill embedded ${r.documents} of ${n}`);
  if (quantization === 'binary' && !store.generations()[0].centered)
    throw new Error('the fill did not center the binary generation');
  let recall = Number.NaN;
  if (queries) {
    const truths = truth(flat, n, queries);
    let hit = 0;
    queries.forEach((q, k) => {
      for (const h of store.queryGeneration('q', q, 10)) if (truths[k].has(h.doc)) hit++;
    });
    recall = hit / (10 * queries.length);
  }
  db.close();
  const bare = openDatabase(join(work, `qbare-${quantization}-${tag}.db`));
  const [type, fn] = {
    int8: [`int8[${DIMS}] distance_metric=cosine`, "vec_quantize_int8(?, 'unit')"],
    binary: [`bit[${DIMS}]`, 'vec_quantize_binary(?)'],
    float: [`float[${DIMS}] distance_metric=cosine`, '?'],
  }[quantization];
  bare.exec(`CREATE VIRTUAL TABLE v USING vec0(embedding ${type})`);
  const ins = bare.prepare(`INSERT INTO v (rowid, embedding) VALUES (?, ${fn})`);
  const cpu1 = process.cpuUsage();
  const t1 = performance.now();
  bare.transaction(() => {
    for (let i = 0; i < n; i++) ins.run(BigInt(i + 1), bytesOf(vectorOf(flat, i)));
  })();
  const bareMs = performance.now() - t1;
  const bareCpu = cpuMs(cpu1);
  bare.close();
  return { oursMs, bareMs, oursCpu, bareCpu, recall };
}

/**
 * The rows: for int8 and binary, fill of a new generation vs the bare vec0
 * bulk insert, in docs/s (ratio = ours / baseline, higher is better).
 */
export async function benchQuantizedFill({ quick, row, n = quick ? 20_000 : 100_000 }) {
  const work = mkdtempSync(join(tmpdir(), 'vecfill-bench-qfill-'));
  try {
    const clusters = Math.max(50, Math.round(n / 100));
    const flat = clusteredVectors(n, DIMS, clusters, rng(21));
    const qflat = clusteredVectors(QUERIES, DIMS, clusters, rng(21), 0.05, rng(22));
    const queries = Array.from({ length: QUERIES }, (_, i) => vectorOf(qflat, i));
    // A float generation too, for scale: what the same fill costs unquantized.
    for (const quantization of ['int8', 'binary', 'float']) {
      console.error(`  [${quantization}] warm-up, then ${n} documents`);
      await once(flat, Math.min(4096, n), quantization, work, 'warm');
      const { oursMs, bareMs, oursCpu, bareCpu, recall } = await once(
        flat,
        n,
        quantization,
        work,
        'main',
        queries,
      );
      row(
        `fill a new ${quantization} generation docs/s (store vs bare vec0 ${quantization === 'binary' ? 'bit' : quantization} insert)`,
        (n * 1000) / oursMs,
        (n * 1000) / bareMs,
        'docs/s',
        n,
        DIMS,
        `wall ${s(oursMs)} vs ${s(bareMs)}; CPU ${s(oursCpu)} vs ${s(bareCpu)} (ratio ${(bareCpu / oursCpu).toFixed(3)}); recall@10 ${recall.toFixed(3)}`,
      );
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes('--quick');
  const nArg = process.argv.find((a) => a.startsWith('--n='));
  const row = (name, ours, baseline, unit, n, dims, note = '') =>
    console.log(
      `| ${name} | ${ours.toFixed(0)} | ${baseline.toFixed(0)} | ${(ours / baseline).toFixed(3)} | ${unit} | ${n} | ${dims} | ${note} |`,
    );
  console.log('| name | ours | baseline | ratio | unit | n | dims | note |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  await benchQuantizedFill({
    quick,
    row,
    ...(nArg ? { n: Number(nArg.slice(4)) } : {}),
  });
}
