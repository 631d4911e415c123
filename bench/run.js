// vecfill benchmarks. Run: npm run bench  (or: npm run bench -- --quick)
// Every figure is measured side by side with its baseline in the same run,
// and printed as a table with the ratio. Results go to bench/results.json.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fill, search } from '../dist/core/index.js';
import { openDatabase, SqliteStore } from '../dist/sqlite/index.js';
import { clusteredVectors, pct, randomUnitVectors, rng, timeIt, toBuffer } from './lib.js';

const here = dirname(fileURLToPath(import.meta.url));
const quick = process.argv.includes('--quick');
const N = quick ? 20_000 : 100_000;
const DIMS = 384;
const QUERIES = quick ? 200 : 300;
const results = [];
const work = mkdtempSync(join(tmpdir(), 'vecfill-bench-'));

function row(name, ours, baseline, unit, n = N, dims = DIMS, note = '') {
  const ratio = baseline > 0 ? ours / baseline : Number.NaN;
  results.push({
    name,
    ours: round(ours),
    baseline: round(baseline),
    ratio: round(ratio),
    unit,
    n,
    dims,
    ...(note ? { note } : {}),
  });
}
const round = (x) => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : x);

function printTable(title, rows) {
  console.log(`\n## ${title}\n`);
  const cols = ['name', 'ours', 'baseline', 'ratio', 'unit', 'n', 'dims', 'note'];
  const cells = [cols, ...rows.map((r) => cols.map((c) => String(r[c] ?? '')))];
  const widths = cols.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  for (const [i, r] of cells.entries()) {
    console.log(`| ${r.map((c, j) => c.padEnd(widths[j])).join(' | ')} |`);
    if (i === 0) console.log(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
  }
}

const SCHEMA = {
  docsTable: 'docs',
  idColumn: 'id',
  contentColumn: 'content',
  revisionColumn: 'rev',
  vectorsPrefix: 'vf',
};
const WORDS = [
  'alpha',
  'bravo',
  'charlie',
  'delta',
  'echo',
  'foxtrot',
  'golf',
  'hotel',
  'india',
  'juliet',
  'kilo',
  'lima',
];

function makeDocsDb(path, n, random) {
  const db = openDatabase(path);
  db.exec(
    'CREATE TABLE docs (id INTEGER PRIMARY KEY, content TEXT NOT NULL, rev INTEGER NOT NULL DEFAULT 1, category INTEGER)',
  );
  const ins = db.prepare('INSERT INTO docs (id, content, category) VALUES (?, ?, ?)');
  db.transaction(() => {
    for (let i = 1; i <= n; i++) {
      const w = `${WORDS[Math.floor(random() * 12)]} ${WORDS[Math.floor(random() * 12)]} ${WORDS[Math.floor(random() * 12)]}`;
      ins.run(i, `doc ${i} ${w}`, i % 10);
    }
  })();
  return db;
}

// ------------------------------------------------------------------ fill
function benchFill(vectors) {
  const random = rng(1);
  // Ours: SqliteStore + fill, zero-cost encoder (precomputed vectors by doc id).
  const db = makeDocsDb(join(work, 'fill.db'), N, random);
  const store = SqliteStore.open(db, { ...SCHEMA, fullText: false });
  store.ensureGeneration('g', { model: 'precomputed', dimensions: DIMS }, 'active');
  const encode = async (texts) => texts.map((t) => vectors[Number(t.split(' ')[1]) - 1]);
  const t0 = performance.now();
  return fill(store, 'g', encode, { scanBatch: 2048, batch: { batchSize: 2048 } }).then((r) => {
    const oursMs = performance.now() - t0;
    if (r.documents !== N) throw new Error(`fill embedded ${r.documents} of ${N}`);
    db.close();
    // Baseline: the same vectors into a bare vec0 table in one transaction.
    const bare = openDatabase(join(work, 'bare.db'));
    bare.exec(`CREATE VIRTUAL TABLE v USING vec0(embedding float[${DIMS}] distance_metric=cosine)`);
    const ins = bare.prepare('INSERT INTO v (rowid, embedding) VALUES (?, ?)');
    const t1 = performance.now();
    bare.transaction(() => {
      for (let i = 0; i < N; i++) ins.run(BigInt(i + 1), toBuffer(vectors[i]));
    })();
    const bareMs = performance.now() - t1;
    bare.close();
    row(
      'fill docs/s (store vs bare vec0 insert)',
      (N * 1000) / oursMs,
      (N * 1000) / bareMs,
      'docs/s',
      N,
      DIMS,
      'target ratio >= 0.5',
    );
  });
}

function benchRss() {
  const sizes = quick ? [20_000, 100_000] : [100_000, 1_000_000];
  const rss = sizes.map((n) => {
    const out = execFileSync(
      process.execPath,
      [join(here, 'rss-child.js'), String(n), String(DIMS), work],
      {
        encoding: 'utf8',
        maxBuffer: 1 << 20,
      },
    );
    return JSON.parse(out.trim().split('\n').at(-1));
  });
  row(
    `peak RSS of a fill: ${sizes[1]} vs ${sizes[0]} docs`,
    rss[1].maxRssMB,
    rss[0].maxRssMB,
    'MB',
    sizes[1],
    DIMS,
    `target ratio <= 1.5; ${Math.round(rss[1].docsPerSec)} docs/s at ${sizes[1]}`,
  );
}

// ---------------------------------------------------------------- search
async function benchSearch(vectors, queries) {
  const random = rng(2);
  const db = makeDocsDb(join(work, 'search.db'), N, random);
  const store = SqliteStore.open(db, SCHEMA);
  store.ensureGeneration('a', { model: 'precomputed', dimensions: DIMS }, 'active');
  const items = (k) =>
    vectors.slice(k, k + 5000).map((v, j) => ({
      doc: k + j + 1,
      revision: 1,
      vectors: [{ index: 0, start: 0, end: 10, vector: v }],
    }));
  for (let k = 0; k < N; k += 5000) store.saveMany('a', items(k));
  const bare = db.prepare(
    'SELECT rowid, distance FROM vf_vec_1 WHERE embedding MATCH ? AND k = 10',
  );
  const qv = queries.map(toBuffer);
  let qi = 0;
  const bareT = timeIt(QUERIES, () => bare.all(qv[qi++ % qv.length]));
  const encoderFor = () => async () => [queries[qi % queries.length]];
  const one = await timeIt.async(QUERIES, async () => {
    await search(store, 'q', { encoderFor, limit: 10, perGeneration: 10 });
    qi++;
  });
  row(
    'search p50 through the store vs bare vec0 KNN',
    pct(one, 50),
    pct(bareT, 50),
    'ms',
    N,
    DIMS,
    'target ratio <= 1.25',
  );
  row('search p95 through the store vs bare vec0 KNN', pct(one, 95), pct(bareT, 95), 'ms');
  const filtered = await timeIt.async(QUERIES, async () => {
    await search(store, 'q', {
      encoderFor,
      limit: 10,
      perGeneration: 10,
      filter: { where: 'd.category = ?', params: [3] },
    });
    qi++;
  });
  row('filtered search p50 (10% of rows) vs bare KNN', pct(filtered, 50), pct(bareT, 50), 'ms');
  const hybrid = await timeIt.async(QUERIES, async () => {
    await search(store, `${WORDS[qi % 12]} ${WORDS[(qi * 5) % 12]}`, {
      encoderFor,
      limit: 10,
      perGeneration: 10,
      hybrid: true,
    });
    qi++;
  });
  row(
    'hybrid (FTS5 + vector) p50 vs vector-only p50',
    pct(hybrid, 50),
    pct(one, 50),
    'ms',
    N,
    DIMS,
    'target ratio <= 1.5',
  );
  // Two live generations: a building one over the same documents.
  store.ensureGeneration('b', { model: 'precomputed-b', dimensions: DIMS }, 'building');
  const itemsB = (k) => items(k);
  for (let k = 0; k < N; k += 5000) store.saveMany('b', itemsB(k));
  const two = await timeIt.async(QUERIES, async () => {
    await search(store, 'q', { encoderFor, limit: 10, perGeneration: 10 });
    qi++;
  });
  row(
    'two live generations p50 vs bare KNN',
    pct(two, 50),
    pct(bareT, 50),
    'ms',
    N,
    DIMS,
    'target ratio <= 2.5',
  );
  db.close();
  return pct(bareT, 50);
}

// ----------------------------------------------------- quantization + peers
function exactTop10(data, n, dims, q) {
  const scores = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    const o = i * dims;
    for (let j = 0; j < dims; j++) s += data[o + j] * q[j];
    scores[i] = s;
  }
  return [...scores.keys()].sort((a, b) => scores[b] - scores[a]).slice(0, 10);
}

function recall(got, truth) {
  const t = new Set(truth);
  return got.filter((x) => t.has(x)).length / truth.length;
}

function benchQuantized(name, flat, n, dims, queries, bareMsRef) {
  console.error(`  [${name}] building float, binary and int8 tables`);
  const db = openDatabase(join(work, `q-${name}.db`));
  db.exec(`CREATE VIRTUAL TABLE f USING vec0(embedding float[${dims}] distance_metric=cosine)`);
  db.exec(`CREATE VIRTUAL TABLE b USING vec0(embedding bit[${dims}])`);
  db.exec(`CREATE VIRTUAL TABLE i8 USING vec0(embedding int8[${dims}] distance_metric=cosine)`);
  const insF = db.prepare('INSERT INTO f (rowid, embedding) VALUES (?, ?)');
  const insB = db.prepare('INSERT INTO b (rowid, embedding) VALUES (?, vec_quantize_binary(?))');
  const insI = db.prepare(
    "INSERT INTO i8 (rowid, embedding) VALUES (?, vec_quantize_int8(?, 'unit'))",
  );
  db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const buf = toBuffer(flat.subarray(i * dims, (i + 1) * dims));
      insF.run(BigInt(i + 1), buf);
      insB.run(BigInt(i + 1), buf);
      insI.run(BigInt(i + 1), buf);
    }
  })();
  console.error(`  [${name}] inserted; computing exact answers`);
  const truths = queries.map((q) => exactTop10(flat, n, dims, q).map((x) => x + 1));
  console.error(`  [${name}] measuring`);
  const measure = (fn) => {
    const times = [];
    let r = 0;
    queries.forEach((q, k) => {
      const t0 = performance.now();
      const ids = fn(q);
      times.push(performance.now() - t0);
      r += recall(ids, truths[k]);
    });
    return { p50: pct(times, 50), recall: r / queries.length };
  };
  const float = db.prepare('SELECT rowid FROM f WHERE embedding MATCH ? AND k = 10').pluck();
  const fl = measure((q) => float.all(toBuffer(q)));
  const over = 40;
  const bin = db
    .prepare('SELECT rowid FROM b WHERE embedding MATCH vec_quantize_binary(?) AND k = ?')
    .pluck();
  const rescore = db
    .prepare(
      `SELECT rowid FROM f WHERE rowid IN (SELECT value FROM json_each(?)) ORDER BY vec_distance_cosine(embedding, ?) LIMIT 10`,
    )
    .pluck();
  const bq = measure((q) => {
    const buf = toBuffer(q);
    const cands = bin.all(buf, 10 * over);
    return rescore.all(JSON.stringify(cands), buf);
  });
  const i8 = db
    .prepare("SELECT rowid FROM i8 WHERE embedding MATCH vec_quantize_int8(?, 'unit') AND k = ?")
    .pluck();
  const iq = measure((q) => {
    const buf = toBuffer(q);
    return rescore.all(JSON.stringify(i8.all(buf, 40)), buf);
  });
  row(
    `[${name}] float KNN p50 (recall ${fl.recall.toFixed(2)})`,
    fl.p50,
    bareMsRef ?? fl.p50,
    'ms',
    n,
    dims,
  );
  row(
    `[${name}] binary k=${10 * over} + float rescoring p50 (recall@10 ${bq.recall.toFixed(3)})`,
    bq.p50,
    fl.p50,
    'ms',
    n,
    dims,
    'ratio vs float KNN; target <= 0.33 at recall >= 0.95',
  );
  row(
    `[${name}] int8 k=40 + float rescoring p50 (recall@10 ${iq.recall.toFixed(3)})`,
    iq.p50,
    fl.p50,
    'ms',
    n,
    dims,
    'ratio vs float KNN',
  );
  db.close();
  return fl.p50;
}

async function benchPeers(flat, n, dims, queries, floatP50) {
  // The memory-bandwidth floor: a SIMD dot-product kernel in C.
  const build = join(here, '.build');
  mkdirSync(build, { recursive: true });
  const exe = join(build, 'kernel');
  const cc = spawnSync(
    'gcc',
    ['-O3', '-march=native', '-ffast-math', '-o', exe, join(here, 'kernel.c')],
    { encoding: 'utf8' },
  );
  if (cc.status === 0) {
    const file = join(work, 'vectors.f32');
    writeFileSync(file, Buffer.from(flat.buffer, flat.byteOffset, n * dims * 4));
    const ms = Number(
      execFileSync(exe, [file, String(n), String(dims), '20'], { encoding: 'utf8' }).trim(),
    );
    const gbs = (n * dims * 4) / (ms / 1000) / 1e9;
    row(
      `bare sqlite-vec float KNN vs SIMD scan floor (${gbs.toFixed(1)} GB/s)`,
      floatP50,
      ms,
      'ms',
      n,
      dims,
      'ratio to the memory-bandwidth floor',
    );
  } else {
    console.error(`(no C compiler: ${cc.stderr})`);
  }
  // Plain JavaScript brute force.
  const js = [];
  for (const q of queries.slice(0, 50)) {
    const t0 = performance.now();
    exactTop10(flat, n, dims, q);
    js.push(performance.now() - t0);
  }
  row(
    'plain JS brute-force scan p50 vs sqlite-vec float KNN',
    pct(js, 50),
    floatP50,
    'ms',
    n,
    dims,
  );
  // hnswlib-node.
  try {
    const { HierarchicalNSW } = (await import('hnswlib-node')).default;
    const index = new HierarchicalNSW('cosine', dims);
    const t0 = performance.now();
    index.initIndex(n, 16, 200, 100);
    for (let i = 0; i < n; i++)
      index.addPoint(Array.from(flat.subarray(i * dims, (i + 1) * dims)), i + 1);
    const buildMs = performance.now() - t0;
    index.setEf(100);
    const times = [];
    let r = 0;
    for (const q of queries) {
      const t = performance.now();
      const res = index.searchKnn(Array.from(q), 10);
      times.push(performance.now() - t);
      r += recall(
        res.neighbors,
        exactTop10(flat, n, dims, q).map((x) => x + 1),
      );
    }
    row(
      `hnswlib-node M=16 ef=100 query p50 (recall@10 ${(r / queries.length).toFixed(3)})`,
      pct(times, 50),
      floatP50,
      'ms',
      n,
      dims,
      `build ${(buildMs / 1000).toFixed(1)} s`,
    );
  } catch (e) {
    console.error(`(hnswlib-node unavailable: ${e.message})`);
  }
}

async function main() {
  console.log(
    `vecfill benchmarks (${quick ? 'quick' : 'full'}): N=${N}, dims=${DIMS}, ${QUERIES} queries`,
  );
  console.error('generating data');
  const random = rng(7);
  const vectors = randomUnitVectors(N, DIMS, random);
  const queries = randomUnitVectors(QUERIES, DIMS, rng(8));
  console.error('fill');
  await benchFill(vectors);
  console.error('peak RSS (child processes)');
  benchRss();
  printTable('fill', results);
  const mark = results.length;
  console.error('search');
  await benchSearch(vectors, queries);
  printTable('search', results.slice(mark));
  console.error('quantized search');
  const mark2 = results.length;
  const qn = quick ? 20_000 : 100_000;
  const qq = queries.slice(0, quick ? 50 : 100);
  const flatRandom = new Float32Array(qn * DIMS);
  for (let i = 0; i < qn; i++) flatRandom.set(vectors[i], i * DIMS);
  const floatRandom = benchQuantized('uniform random', flatRandom, qn, DIMS, qq);
  const clustered = clusteredVectors(qn, DIMS, quick ? 200 : 1000, rng(9));
  const cqFlat = clusteredVectors(qq.length, DIMS, quick ? 200 : 1000, rng(9), 0.05, rng(10));
  const cq = Array.from({ length: qq.length }, (_, i) => cqFlat.subarray(i * DIMS, (i + 1) * DIMS));
  benchQuantized('clustered', clustered, qn, DIMS, cq);
  const real = await realEmbeddings(qn);
  if (real) benchQuantized('real word vectors', real.flat, real.n, real.dims, real.queries);
  printTable('quantized search', results.slice(mark2));
  console.error('peers');
  const mark3 = results.length;
  await benchPeers(flatRandom, qn, DIMS, qq, floatRandom);
  printTable('peers and the floor (uniform random)', results.slice(mark3));
  writeFileSync(join(here, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nwrote ${join(here, 'results.json')}`);
  rmSync(work, { recursive: true, force: true });
}

/** Real embeddings: the offline encoder's own vectors of the most frequent English words (100-d). */
async function realEmbeddings(n) {
  try {
    const { wordVectors } = await import('../dist/encoders/index.js');
    const enc = await wordVectors();
    const src = enc.table.dimensions;
    // Binary vec0 columns need a multiple of 8 dimensions: pad with zeros (cosine is unchanged).
    const dims = Math.ceil(src / 8) * 8;
    const count = Math.min(n, enc.table.words.length - 200);
    const flat = new Float32Array(count * dims);
    for (let i = 0; i < count; i++) {
      const row = enc.table.vectors.subarray((i + 200) * src, (i + 201) * src);
      let norm = 0;
      for (const x of row) norm += x * x;
      for (let j = 0; j < src; j++) flat[i * dims + j] = row[j] / Math.sqrt(norm || 1);
    }
    const queries = [];
    for (let k = 0; k < 50; k++) queries.push(flat.slice(k * 97 * dims, (k * 97 + 1) * dims));
    return { flat, n: count, dims, queries };
  } catch (e) {
    console.error(`(real embeddings unavailable: ${e.message})`);
    return undefined;
  }
}

await main();
