// Postgres rows of the benchmark: `npm run bench -- --postgres <url> [--postgres-n 30000]`.
// PgStore against pgvector's recommended practice (bulk insert, then CREATE INDEX) on the
// same server and the same vectors, searches against an exact scan, and the SQLite store's
// figures for the same vectors in the same run.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { fill } from '../dist/core/index.js';
import { PgStore } from '../dist/postgres/index.js';
import { vectorRowsBinary } from '../dist/postgres/pg-copy.js';
import { vectorLiteral } from '../dist/postgres/pg-vector.js';
import { openDatabase, SqliteStore } from '../dist/sqlite/index.js';
import { clusteredVectors, pct, rng } from './lib.js';

const DIMS = 384;

function exactTop10(flat, n, q, keep) {
  const best = [];
  for (let i = 0; i < n; i++) {
    if (keep && !keep(i + 1)) continue;
    let s = 0;
    const o = i * DIMS;
    for (let j = 0; j < DIMS; j++) s += flat[o + j] * q[j];
    if (best.length < 10 || s > best[best.length - 1][1]) {
      best.push([i + 1, s]);
      best.sort((a, b) => b[1] - a[1]);
      if (best.length > 10) best.pop();
    }
  }
  return best.map((b) => b[0]);
}
const recallOf = (got, truth) => got.filter((x) => truth.includes(Number(x))).length / truth.length;

/** Proportional set size of the server: its postmaster and every child process, in MB. */
async function serverMemoryMb(client) {
  const { rows } = await client.query('SELECT pg_backend_pid() AS pid');
  const stat = readFileSync(`/proc/${rows[0].pid}/stat`, 'utf8');
  const postmaster = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  let kb = 0;
  const pids = [postmaster];
  try {
    const children = readFileSync(`/proc/${postmaster}/task/${postmaster}/children`, 'utf8');
    pids.push(...children.trim().split(/\s+/).filter(Boolean).map(Number));
  } catch {}
  for (const pid of pids) {
    try {
      const m = /^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      if (m) kb += Number(m[1]);
    } catch {}
  }
  return kb / 1024;
}

export async function benchPostgres({ url, n, queries: nq, row, work }) {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  const q = (sql, params) => pool.query(sql, params);
  const flat = clusteredVectors(n, DIMS, 300, rng(9));
  const vectors = Array.from({ length: n }, (_, i) => flat.subarray(i * DIMS, (i + 1) * DIMS));
  const qFlat = clusteredVectors(nq, DIMS, 300, rng(9), 0.05, rng(10));
  const queries = Array.from({ length: nq }, (_, i) => qFlat.subarray(i * DIMS, (i + 1) * DIMS));
  await q('DROP SCHEMA IF EXISTS vfbench CASCADE');
  await q('CREATE SCHEMA vfbench');
  await q(
    'CREATE TABLE vfbench.docs (id integer PRIMARY KEY, content text NOT NULL, rev integer NOT NULL DEFAULT 1, category integer NOT NULL)',
  );
  for (let i = 0; i < n; i += 5000) {
    const ids = [];
    for (let j = i; j < Math.min(n, i + 5000); j++) ids.push(j + 1);
    await q(
      `INSERT INTO vfbench.docs (id, content, category) SELECT x, 'doc ' || x, x % 100 FROM unnest($1::int[]) x`,
      [ids],
    );
  }
  await q('VACUUM ANALYZE vfbench.docs');
  const encode = async (texts) => texts.map((t) => vectors[Number(t.split(' ')[1]) - 1]);

  // Baseline: pgvector's recommended practice — bulk insert, then CREATE INDEX.
  console.error(`postgres: bare bulk insert + CREATE INDEX of ${n} vectors`);
  await q(`CREATE TABLE vfbench.bare (id bigint PRIMARY KEY, embedding vector(${DIMS}) NOT NULL)`);
  const mb = Math.ceil(Math.min(2048, Math.max(64, (n * (DIMS * 4 + 300) * 1.5) / 2 ** 20)));
  const b0 = performance.now();
  for (let i = 0; i < n; i += 1000) {
    const ids = [];
    const lits = [];
    for (let j = i; j < Math.min(n, i + 1000); j++) {
      ids.push(j + 1);
      lits.push(vectorLiteral(vectors[j]));
    }
    await q(
      'INSERT INTO vfbench.bare (id, embedding) SELECT u.id, u.e::vector FROM unnest($1::bigint[], $2::text[]) AS u(id, e)',
      [ids, lits],
    );
  }
  const b1 = performance.now();
  const c = await pool.connect();
  await c.query(`SET maintenance_work_mem = '${mb}MB'`);
  await c.query('SET max_parallel_maintenance_workers = 2');
  await c.query('CREATE INDEX ON vfbench.bare USING hnsw (embedding vector_cosine_ops)');
  c.release();
  const b2 = performance.now();

  // The faster practice: binary COPY of the same vectors (as PgStore saves them), then CREATE INDEX.
  console.error(`postgres: bare binary COPY + CREATE INDEX of ${n} vectors`);
  await q(
    `CREATE TABLE vfbench.bare_copy (id bigint PRIMARY KEY, embedding vector(${DIMS}) NOT NULL)`,
  );
  const k0 = performance.now();
  const cc = await pool.connect();
  for (let i = 0; i < n; i += 1000) {
    const ids = [];
    for (let j = i; j < Math.min(n, i + 1000); j++) ids.push(String(j + 1));
    await pipeline(
      Readable.from([vectorRowsBinary(ids, vectors.slice(i, i + 1000))]),
      cc.query(
        copyStreams.from('COPY vfbench.bare_copy (id, embedding) FROM STDIN (FORMAT binary)'),
      ),
    );
  }
  const k1 = performance.now();
  await cc.query(`SET maintenance_work_mem = '${mb}MB'`);
  await cc.query('SET max_parallel_maintenance_workers = 2');
  await cc.query('CREATE INDEX ON vfbench.bare_copy USING hnsw (embedding vector_cosine_ops)');
  cc.release();
  const k2 = performance.now();
  await q('DROP TABLE vfbench.bare_copy');

  // Ours: a new generation filled through PgStore (index deferred), then activated.
  console.error('postgres: fill + activate through PgStore');
  const store = await PgStore.open(pool, {
    docsTable: 'vfbench.docs',
    idColumn: 'id',
    contentColumn: 'content',
    revisionColumn: 'rev',
    vectorsPrefix: 'vfbench.vf',
  });
  await store.ensureGeneration('g', { model: 'precomputed', dimensions: DIMS });
  let lastSave = 0;
  const saveMany = store.saveMany.bind(store);
  store.saveMany = async (gen, items) => {
    const out = await saveMany(gen, items);
    lastSave = performance.now();
    return out;
  };
  const t0 = performance.now();
  const r = await fill(store, 'g', encode, { scanBatch: 1000, batch: { batchSize: 1000 } });
  await store.activate('g');
  const t1 = performance.now();
  if (r.documents !== n) throw new Error(`fill embedded ${r.documents} of ${n}`);
  const loadMs = lastSave - t0;
  const buildMs = t1 - lastSave;
  row(
    'postgres: fill + activate of a new generation, s (PgStore vs bulk INSERT + CREATE INDEX)',
    (t1 - t0) / 1000,
    (b2 - b0) / 1000,
    's',
    n,
    DIMS,
    'target ratio <= 1.5; clustered unit vectors, zero-cost encoder',
  );
  row(
    'postgres: fill + activate of a new generation, s (PgStore vs binary COPY + CREATE INDEX)',
    (t1 - t0) / 1000,
    (k2 - k0) / 1000,
    's',
    n,
    DIMS,
    `the bare load by binary COPY took ${((k1 - k0) / 1000).toFixed(1)} s`,
  );
  row(
    'postgres: load docs/s without the index (PgStore fill, vectors by binary COPY, vs bare multi-row INSERT)',
    (n * 1000) / loadMs,
    (n * 1000) / (b1 - b0),
    'docs/s',
    n,
  );
  row(
    'postgres: HNSW build, s (buildIndex CONCURRENTLY vs CREATE INDEX)',
    buildMs / 1000,
    (b2 - b1) / 1000,
    's',
    n,
    DIMS,
    `maintenance_work_mem ${mb}MB, 2 parallel workers`,
  );

  // A few changed rows into the active generation (index present): per-row cost.
  await q('UPDATE vfbench.docs SET rev = rev + 1 WHERE id <= 200');
  const u0 = performance.now();
  const upd = await fill(store, 'g', encode);
  const u1 = performance.now();
  row(
    'postgres: refill of 200 changed rows into the active generation (index maintained), ms/row',
    (u1 - u0) / upd.documents,
    0,
    'ms/row',
    n,
  );

  // Searches: the store (ef_search >= 100, iterative scans) and raw SQL at ef_search 40 / 100, vs exact.
  console.error('postgres: searches');
  const truth = queries.map((v) => exactTop10(flat, n, v));
  const exactMs = [];
  for (const v of queries.slice(0, 30)) {
    const e0 = performance.now();
    await q('SELECT id FROM vfbench.bare ORDER BY (embedding <=> $1::vector) + 0 LIMIT 10', [
      vectorLiteral(v),
    ]);
    exactMs.push(performance.now() - e0);
  }
  const storeMs = [];
  let storeRecall = 0;
  for (const [i, v] of queries.entries()) {
    const s0 = performance.now();
    const hits = await store.queryGeneration('g', v, 10);
    storeMs.push(performance.now() - s0);
    storeRecall += recallOf(
      hits.map((h) => h.doc),
      truth[i],
    );
  }
  row(
    'postgres: search p50 ms, PgStore.queryGeneration (ef_search 100) vs exact scan',
    pct(storeMs, 50),
    pct(exactMs, 50),
    'ms',
    n,
    DIMS,
    `p95 ${pct(storeMs, 95).toFixed(1)} ms; recall@10 ${(storeRecall / nq).toFixed(3)}`,
  );
  for (const ef of [40, 100]) {
    const c2 = await pool.connect();
    await c2.query(`SET hnsw.ef_search = ${ef}`);
    const ms = [];
    let rec = 0;
    for (const [i, v] of queries.entries()) {
      const s0 = performance.now();
      const { rows } = await c2.query(
        'SELECT id FROM vfbench.bare ORDER BY embedding <=> $1::vector LIMIT 10',
        [vectorLiteral(v)],
      );
      ms.push(performance.now() - s0);
      rec += recallOf(
        rows.map((x) => x.id),
        truth[i],
      );
    }
    c2.release();
    row(
      `postgres: bare HNSW search p50 ms at ef_search ${ef} vs exact scan`,
      pct(ms, 50),
      pct(exactMs, 50),
      'ms',
      n,
      DIMS,
      `p95 ${pct(ms, 95).toFixed(1)} ms; recall@10 ${(rec / nq).toFixed(3)}`,
    );
  }
  for (const [share, where, keep] of [
    ['1 %', 'd.category = 0', (id) => id % 100 === 0],
    ['10 %', 'd.category < 10', (id) => id % 100 < 10],
  ]) {
    const ms = [];
    let rec = 0;
    const some = queries.slice(0, 50);
    for (const v of some) {
      const s0 = performance.now();
      const hits = await store.queryGeneration('g', v, 10, { filter: { where } });
      ms.push(performance.now() - s0);
      rec += recallOf(
        hits.map((h) => h.doc),
        exactTop10(flat, n, v, keep),
      );
    }
    row(
      `postgres: filtered search p50 ms, ${share} of rows vs exact scan`,
      pct(ms, 50),
      pct(exactMs, 50),
      'ms',
      n,
      DIMS,
      `p95 ${pct(ms, 95).toFixed(1)} ms; recall@10 ${(rec / some.length).toFixed(3)}; ${share === '1 %' ? 'exact scan of the matching rows' : store.pgvector.iterativeScan ? 'HNSW iterative scan' : 'HNSW, widening ef_search'}`,
    );
  }
  row(
    'postgres: server memory (PSS of all server processes)',
    await serverMemoryMb(pool),
    0,
    'MB',
    n,
  );

  // The SQLite store with the same vectors, for scale.
  console.error('sqlite: the same vectors');
  const db = openDatabase(join(work, 'pg-compare.db'));
  db.exec(
    'CREATE TABLE docs (id INTEGER PRIMARY KEY, content TEXT NOT NULL, rev INTEGER NOT NULL DEFAULT 1)',
  );
  const ins = db.prepare('INSERT INTO docs (id, content) VALUES (?, ?)');
  db.transaction(() => {
    for (let i = 1; i <= n; i++) ins.run(i, `doc ${i}`);
  })();
  const lite = SqliteStore.open(db, {
    docsTable: 'docs',
    idColumn: 'id',
    contentColumn: 'content',
    revisionColumn: 'rev',
    vectorsPrefix: 'vf',
    fullText: false,
  });
  lite.ensureGeneration('g', { model: 'precomputed', dimensions: DIMS });
  const l0 = performance.now();
  await fill(lite, 'g', encode, { scanBatch: 2048, batch: { batchSize: 2048 } });
  await lite.activate('g');
  const l1 = performance.now();
  const liteMs = [];
  let liteRecall = 0;
  for (const [i, v] of queries.entries()) {
    const s0 = performance.now();
    const hits = lite.queryGeneration('g', v, 10);
    liteMs.push(performance.now() - s0);
    liteRecall += recallOf(
      hits.map((h) => h.doc),
      truth[i],
    );
  }
  db.close();
  row(
    'sqlite (same run): fill + activate, s, SqliteStore vs PgStore',
    (l1 - l0) / 1000,
    (t1 - t0) / 1000,
    's',
    n,
  );
  row(
    'sqlite (same run): search p50 ms, SqliteStore vs PgStore',
    pct(liteMs, 50),
    pct(storeMs, 50),
    'ms',
    n,
    DIMS,
    `p95 ${pct(liteMs, 95).toFixed(1)} ms; recall@10 ${(liteRecall / nq).toFixed(3)}`,
  );
  await q('DROP SCHEMA vfbench CASCADE');
  await pool.end();
}
