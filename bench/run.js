// vecfill benchmarks. Run: npm run bench  (or: npm run bench -- --quick)
// Every figure is measured side by side with its baseline in the same run,
// and printed as a table with the ratio. Results go to bench/results.json.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fill, search } from '../dist/core/index.js';
import { openDatabase, SqliteStore } from '../dist/sqlite/index.js';
import {
  clusteredVectors,
  exactTop,
  pct,
  randomUnitVectors,
  realEmbeddings,
  realSentences,
  rng,
  timeIt,
  toBuffer,
} from './lib.js';
import { benchQuantizedFill } from './quantized-fill.js';
import { benchScans } from './scan.js';

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

/** A documents table of `n` rows, "doc <id> <text>": three of 12 words, or `texts` in turn. */
function makeDocsDb(path, n, random, texts) {
  const db = openDatabase(path);
  db.exec(
    'CREATE TABLE docs (id INTEGER PRIMARY KEY, content TEXT NOT NULL, rev INTEGER NOT NULL DEFAULT 1, category INTEGER)',
  );
  const ins = db.prepare('INSERT INTO docs (id, content, category) VALUES (?, ?, ?)');
  db.transaction(() => {
    for (let i = 1; i <= n; i++) {
      const w = texts
        ? texts[(i - 1) % texts.length]
        : `${WORDS[Math.floor(random() * 12)]} ${WORDS[Math.floor(random() * 12)]} ${WORDS[Math.floor(random() * 12)]}`;
      ins.run(i, `doc ${i} ${w}`, i % 10);
    }
  })();
  return db;
}

// ------------------------------------------------------------------ fill
/** One fill through the store and one bare insert of the first `n` vectors; returns both times in ms. */
async function fillOnce(vectors, n, tag) {
  const db = makeDocsDb(join(work, `fill-${tag}.db`), n, rng(1));
  const store = SqliteStore.open(db, { ...SCHEMA, fullText: false });
  store.ensureGeneration('g', { model: 'precomputed', dimensions: DIMS }, 'active');
  // Ours: SqliteStore + fill, zero-cost encoder (precomputed vectors by doc id).
  const encode = async (texts) => texts.map((t) => vectors[Number(t.split(' ')[1]) - 1]);
  const t0 = performance.now();
  const r = await fill(store, 'g', encode, { scanBatch: 2048, batch: { batchSize: 2048 } });
  const oursMs = performance.now() - t0;
  if (r.documents !== n) throw new Error(`fill embedded ${r.documents} of ${n}`);
  db.close();
  // Baseline: the same vectors into a bare vec0 table in one transaction.
  const bare = openDatabase(join(work, `bare-${tag}.db`));
  bare.exec(`CREATE VIRTUAL TABLE v USING vec0(embedding float[${DIMS}] distance_metric=cosine)`);
  const ins = bare.prepare('INSERT INTO v (rowid, embedding) VALUES (?, ?)');
  const t1 = performance.now();
  bare.transaction(() => {
    for (let i = 0; i < n; i++) ins.run(BigInt(i + 1), toBuffer(vectors[i]));
  })();
  const bareMs = performance.now() - t1;
  bare.close();
  return { oursMs, bareMs };
}

async function benchFill(vectors) {
  // Warm both paths up first (JIT, page cache), so neither pays it in the measured run.
  await fillOnce(vectors, 4096, 'warm');
  const { oursMs, bareMs } = await fillOnce(vectors, N, 'main');
  row(
    'fill docs/s (store vs bare vec0 insert)',
    (N * 1000) / oursMs,
    (N * 1000) / bareMs,
    'docs/s',
    N,
    DIMS,
    'target ratio >= 0.5',
  );
}

function benchRss() {
  const sizes = quick ? [20_000, 100_000] : [100_000, 1_000_000];
  const measure = (extra) =>
    sizes.map((n) => {
      const out = execFileSync(
        process.execPath,
        [join(here, 'rss-child.js'), String(n), String(DIMS), work, ...extra],
        { encoding: 'utf8', maxBuffer: 1 << 20 },
      );
      return JSON.parse(out.trim().split('\n').at(-1));
    });
  const rss = measure([]);
  const unmapped = measure(['0']);
  row(
    `peak RSS of a fill: ${sizes[1]} vs ${sizes[0]} docs (openDatabase defaults)`,
    rss[1].maxRssMB,
    rss[0].maxRssMB,
    'MB',
    sizes[1],
    DIMS,
    `target ratio <= 1.5; ${Math.round(rss[1].docsPerSec)} docs/s at ${sizes[1]}; counts database pages read through the 1 GiB mmap`,
  );
  row(
    `peak anonymous RSS (RssAnon) of a fill: ${sizes[1]} vs ${sizes[0]} docs`,
    rss[1].maxAnonMB,
    rss[0].maxAnonMB,
    'MB',
    sizes[1],
    DIMS,
    "the fill's own memory, without mapped file pages",
  );
  row(
    `peak RSS of a fill: ${sizes[1]} vs ${sizes[0]} docs (mmapBytes: 0)`,
    unmapped[1].maxRssMB,
    unmapped[0].maxRssMB,
    'MB',
    sizes[1],
    DIMS,
    `target ratio <= 1.5; ${Math.round(unmapped[1].docsPerSec)} docs/s at ${sizes[1]}`,
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
      vectors: [{ chunkIndex: 0, start: 0, end: 10, vector: v }],
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
    'hybrid (FTS5 + vector) p50 vs vector-only p50, 12-word vocabulary',
    pct(hybrid, 50),
    pct(one, 50),
    'ms',
    N,
    DIMS,
    'target ratio <= 1.5; every query word is in 25% of documents',
  );
  await benchHybridRealText(vectors, queries);
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

/**
 * Hybrid search over real English text: documents are real sentences (see
 * `realSentences`), queries are held-out sentences typed as a user would,
 * stop words and all.
 */
async function benchHybridRealText(vectors, queries) {
  const sentences = realSentences(join(here, '..'));
  const texts = sentences.filter((_, i) => i % 200 !== 7);
  const asked = sentences.filter((_, i) => i % 200 === 7);
  const db = makeDocsDb(join(work, 'search-text.db'), N, rng(4), texts);
  const store = SqliteStore.open(db, SCHEMA);
  store.ensureGeneration('a', { model: 'precomputed', dimensions: DIMS }, 'active');
  for (let k = 0; k < N; k += 5000) {
    store.saveMany(
      'a',
      vectors.slice(k, k + 5000).map((v, j) => ({
        doc: k + j + 1,
        revision: 1,
        vectors: [{ chunkIndex: 0, start: 0, end: 10, vector: v }],
      })),
    );
  }
  let qi = 0;
  const encoderFor = () => async () => [queries[qi % queries.length]];
  const run = (hybrid) =>
    timeIt.async(QUERIES, async () => {
      await search(store, asked[qi % asked.length], {
        encoderFor,
        limit: 10,
        perGeneration: 10,
        hybrid,
      });
      qi++;
    });
  const vectorOnly = await run(false);
  const hybrid = await run(true);
  row(
    'hybrid (FTS5 + vector) p50 vs vector-only p50, real sentences',
    pct(hybrid, 50),
    pct(vectorOnly, 50),
    'ms',
    N,
    DIMS,
    `target ratio <= 1.5; ${texts.length} distinct sentences, ${asked.length} held-out queries`,
  );
  db.close();
}

// ----------------------------------------------------- quantization + peers

function recall(got, truth) {
  const t = new Set(truth);
  return got.filter((x) => t.has(x)).length / truth.length;
}

/**
 * Quantized generations through the store (`ensureGeneration(..., { quantization })`)
 * vs a float generation of the same vectors, both through `queryGeneration`
 * (candidates, exact rescoring, join-back, freshness). Recall@10 is measured
 * against an exact scan.
 */
function benchQuantized(name, flat, n, dims, queries) {
  console.error(`  [${name}] filling float, binary and int8 generations of ${n} documents`);
  const db = makeDocsDb(join(work, `q-${name.replace(/\W+/g, '-')}.db`), n, rng(3));
  const gen = { model: `bench-${name}`, dimensions: dims };
  const open = (prefix, options) => {
    // The float generation is scanned exactly (float32 in memory), as the baseline.
    const scan = options ? {} : { scan: { float: 'float32' } };
    const store = SqliteStore.open(db, {
      ...SCHEMA,
      vectorsPrefix: prefix,
      fullText: false,
      ...scan,
    });
    store.ensureGeneration('g', gen, 'active', options);
    for (let k = 0; k < n; k += 5000) {
      const items = [];
      for (let i = k; i < Math.min(n, k + 5000); i++) {
        const vector = flat.subarray(i * dims, (i + 1) * dims);
        items.push({
          doc: i + 1,
          revision: 1,
          vectors: [{ chunkIndex: 0, start: 0, end: 1, vector }],
        });
      }
      store.saveMany('g', items);
    }
    return store;
  };
  const float = open('qf', undefined);
  const binary = open('qb', { quantization: 'binary' });
  binary.recenter('g'); // what activate() does for a binary generation; this one was created active
  const int8 = open('qi', { quantization: 'int8' });
  console.error(`  [${name}] computing exact answers`);
  const truths = queries.map((q) => exactTop(flat, n, dims, q).map((x) => x + 1));
  const measure = (store) => {
    store.queryGeneration('g', queries[0], 10); // warm: binary codes are read into memory once
    const times = [];
    let r = 0;
    queries.forEach((q, k) => {
      const t0 = performance.now();
      const hits = store.queryGeneration('g', q, 10);
      times.push(performance.now() - t0);
      r += recall(
        hits.map((h) => h.doc),
        truths[k],
      );
    });
    return { p50: pct(times, 50), recall: r / queries.length };
  };
  const fl = measure(float);
  const modes = [];
  for (const oversample of [10, 40]) {
    binary.ensureGeneration('g', gen, 'active', { oversample });
    modes.push([`binary, oversample ${oversample}`, measure(binary)]);
  }
  modes.push(['int8, oversample 4', measure(int8)]);
  for (const [mode, m] of modes) {
    row(
      `[${name}] ${mode}: p50 vs float32 scan (recall@10 ${m.recall.toFixed(3)} vs ${fl.recall.toFixed(3)})`,
      m.p50,
      fl.p50,
      'ms',
      n,
      dims,
      'target ratio <= 0.33 at recall >= 0.95',
    );
  }
  db.close();
  return fl.p50;
}

async function benchPeers(flat, n, dims, queries, exactModes) {
  const floatP50 = exactModes[0][1];
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
    for (const [label, p50] of exactModes) {
      row(
        `${label} p50 vs SIMD scan floor (${gbs.toFixed(1)} GB/s)`,
        p50,
        ms,
        'ms',
        n,
        dims,
        'ratio to the memory-bandwidth floor',
      );
    }
  } else {
    console.error(`(no C compiler: ${cc.stderr})`);
  }
  // Plain JavaScript brute force.
  const js = [];
  for (const q of queries.slice(0, 50)) {
    const t0 = performance.now();
    exactTop(flat, n, dims, q);
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
        exactTop(flat, n, dims, q).map((x) => x + 1),
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

/** `--postgres <url>`: only the Postgres rows (bench/postgres.js), merged into results.json. */
async function mainPostgres() {
  const url = process.argv[process.argv.indexOf('--postgres') + 1];
  const ni = process.argv.indexOf('--postgres-n');
  const n = ni > 0 ? Number(process.argv[ni + 1]) : 30_000;
  console.log(`vecfill Postgres benchmarks: N=${n}, dims=${DIMS}`);
  const { benchPostgres } = await import('./postgres.js');
  await benchPostgres({ url, n, queries: 100, row, work });
  printTable('postgres (PgStore on a server) and sqlite beside it', results);
  const path = join(here, 'results.json');
  let previous = [];
  try {
    previous = JSON.parse(readFileSync(path, 'utf8')).filter(
      (r) =>
        !(r.name.startsWith('postgres:') || r.name.startsWith('sqlite (same run)')) || r.n !== n,
    );
  } catch {}
  writeFileSync(path, `${JSON.stringify([...previous, ...results], null, 2)}\n`);
  console.log(`\nwrote ${path}`);
  rmSync(work, { recursive: true, force: true });
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
  console.error('fill a new quantized generation');
  await benchQuantizedFill({ quick, row });
  console.error('peak RSS (child processes)');
  benchRss();
  printTable('fill', results);
  const mark = results.length;
  console.error('search');
  const bareP50 = await benchSearch(vectors, queries);
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
  const real = await realEmbeddings(quick ? 10_000 : Number.POSITIVE_INFINITY, join(here, '..'));
  if (real) benchQuantized('real sentences', real.flat, real.n, real.dims, real.queries);
  printTable('quantized search', results.slice(mark2));
  console.error('peers');
  const mark3 = results.length;
  await benchPeers(flatRandom, qn, DIMS, qq, [
    ['bare sqlite-vec float KNN', bareP50],
    ['store float32 in-memory search (queryGeneration)', floatRandom],
  ]);
  printTable('peers and the floor (uniform random)', results.slice(mark3));
  console.error('in-memory scans');
  const mark4 = results.length;
  await benchScans({ quick, row, real });
  printTable('in-memory SIMD scans vs the C floor (same run)', results.slice(mark4));
  writeFileSync(join(here, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nwrote ${join(here, 'results.json')}`);
  rmSync(work, { recursive: true, force: true });
}

await (process.argv.includes('--postgres') ? mainPostgres() : main());
