// CPU time and wall clock of the first search after opening a database
// (open + load the generation into memory + one search), the measure of
// issue 15's "first search after open" row when the machine is busy:
//   node bench/first-search.js [--n=100000] [--scan=int8|float32] [--quantization=binary|int8]
//                              [--reps=3] [--file=/tmp/vecfill-first-search-100000.db]
// The file is built once (kept for the next run; delete it to rebuild).
// CPU time is process.cpuUsage() user + system (every thread of the process).
import { existsSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, SqliteStore } from '../dist/sqlite/index.js';
import { clusteredVectors, rng, SCHEMA, saveAll } from './lib.js';
import { makeStore } from './scan.js';

const arg = (name, fallback) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const N = Number(arg('n', '100000'));
const D = 384;
const scan = arg('scan', 'int8');
const quantization = arg('quantization', undefined);
const reps = Number(arg('reps', '3'));
const file = arg(
  'file',
  join(tmpdir(), `vecfill-first-search-${N}${quantization ? `-${quantization}` : ''}.db`),
);

if (!existsSync(file)) {
  const flat = clusteredVectors(N, D, N >= 1e6 ? 2000 : 400, rng(1));
  const store = makeStore(file, flat, N, D, { float: 'sqlite-vec' }, []);
  store.ensureGeneration('g', { model: 'm-g', dimensions: D }, 'active', { quantization });
  saveAll(store, 'g', flat, N, D);
  store.db.close();
}

const query = clusteredVectors(1, D, 400, rng(5), 0.05, rng(6));
for (let r = 0; r < reps; r++) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const db = openDatabase(file);
  const store = SqliteStore.open(db, { ...SCHEMA, scan: { float: scan } });
  store.queryGeneration('g', query, 10);
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  console.log(
    `first search, ${N} x ${D} ${quantization ? `${quantization} generation` : `${scan} scan`}: ` +
      `${((c.user + c.system) / 1000).toFixed(0)} ms CPU, ${wall.toFixed(0)} ms wall ` +
      `(load average ${loadavg()[0].toFixed(1)})`,
  );
  db.close();
}
