// CPU of a search right after another process re-embedded 1 % of the rows
// (issue 15): steady searches, then rounds of "another process rewrites,
// this one searches", with the catch-up itself (`ScanIndexes.fresh`) timed
// apart. CPU is process.cpuUsage() (user + system, every thread), which a
// loaded machine moves less than wall-clock time.
//   node bench/catch-up.js [float32|int8] [rows] [rounds]
// VECFILL_DIST=<dir> measures another build of dist/ (its rewrite child
// uses this checkout's bench/rewrite-child.js, which imports ../dist: give
// both runs the same writer by running them from the same checkout).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { clusteredVectors, pct, rng, SCHEMA, saveAll } from './lib.js';

const dist = resolve(process.env.VECFILL_DIST ?? join(import.meta.dirname, '..', 'dist'));
const { openDatabase, SqliteStore } = await import(join(dist, 'sqlite/index.js'));
const { ScanIndexes } = await import(join(dist, 'sqlite/index/scan-indexes.js'));
const kind = process.argv[2] ?? 'int8';
const N = Number(process.argv[3] ?? 100_000);
const ROUNDS = Number(process.argv[4] ?? 8);
const D = 384;
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const faults = () => process.resourceUsage().minorPageFault;

const work = mkdtempSync(join(tmpdir(), 'vecfill-catch-up-'));
const path = join(work, 'catch-up.db');
// The writer starts before this process touches its index: spawning it
// later would fork this process, and every page written after a fork takes
// a copy-on-write fault (see bench/README.md).
const child = spawn(
  process.execPath,
  ['--expose-gc', join(import.meta.dirname, 'rewrite-child.js'), path, String(N), String(D)],
  { stdio: ['pipe', 'pipe', 'inherit'] },
);
const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
const flat = clusteredVectors(N, D, 1000, rng(9));
const db = openDatabase(path);
db.exec(
  'CREATE TABLE docs (id INTEGER PRIMARY KEY, content TEXT NOT NULL, rev INTEGER NOT NULL DEFAULT 1)',
);
const ins = db.prepare('INSERT INTO docs (id, content) VALUES (?, ?)');
db.transaction(() => {
  for (let i = 1; i <= N; i++) ins.run(i, `doc ${i}`);
})();
const store = SqliteStore.open(db, { ...SCHEMA, scan: { float: kind } });
store.ensureGeneration('g', { model: 'm', dimensions: D }, 'active');
saveAll(store, 'g', flat, N, D);
const queries = clusteredVectors(100, D, 1000, rng(9), 0.05, rng(10));
const query = (i) => queries.subarray((i % 100) * D, ((i % 100) + 1) * D);
// The catch-up alone: ScanIndexes.fresh, timed around the store's own call.
const fresh = ScanIndexes.prototype.fresh;
let catchUp = null;
ScanIndexes.prototype.fresh = function (...args) {
  const c = cpu();
  const f = faults();
  try {
    return fresh.apply(this, args);
  } finally {
    catchUp = { cpu: cpu() - c, faults: faults() - f };
  }
};
for (let i = 0; i < 5; i++) store.queryGeneration('g', query(i), 10);
const steady = [];
for (let i = 0; i < 40; i++) {
  const c = cpu();
  store.queryGeneration('g', query(10 + i), 10);
  steady.push(cpu() - c);
}
const after = [];
const caught = [];
const faulted = [];
for (let round = -1; round < ROUNDS; round++) {
  child.stdin.write(`${round + 1}\n`);
  if ((await lines.next()).value !== 'done') throw new Error('bench/rewrite-child.js failed');
  const c = cpu();
  store.queryGeneration('g', query(60 + round), 10);
  if (round < 0) continue; // the first round is not timed
  after.push(cpu() - c);
  caught.push(catchUp.cpu);
  faulted.push(catchUp.faults);
}
child.stdin.end();
db.close();
rmSync(work, { recursive: true, force: true });
const f = (x) => x.toFixed(2);
console.log(
  `${kind} ${N} x ${D}, ${ROUNDS} rounds of 1 % (CPU ms, p50): steady search ${f(pct(steady, 50))}; ` +
    `search right after ${f(pct(after, 50))} (${f(pct(after, 50) / pct(steady, 50))}x), ` +
    `of it the catch-up ${f(pct(caught, 50))} (${pct(faulted, 50)} page faults); dist ${dist}`,
);
