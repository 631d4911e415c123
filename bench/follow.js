// Continuous sync benchmark: `vecfill fill --follow` and `vecfill watch` as
// child processes, measured from outside.
//
//   npm run bench:follow            full run (idle 30 s, steady edits 2 min)
//   npm run bench:follow -- --quick a smoke run (idle 5 s, edits 15 s)
//
// Rows: edit -> searchable latency (p50/p95, SQLite table and watched
// folder), idle CPU of a follower, RSS at the start and end of steady
// edits, and fill throughput while following vs a one-shot `vecfill fill`.
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { search } from '../dist/core/index.js';
import { wordVectors } from '../dist/encoders/index.js';
import { openDatabase, SqliteStore } from '../dist/sqlite/index.js';
import { pct, realSentences } from './lib.js';

const quick = process.argv.includes('--quick');
const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'vecfill.js');
const EDITS = quick ? 30 : 100;
const IDLE_S = quick ? 5 : 30;
const STEADY_S = quick ? 15 : 120;
const BACKLOG = quick ? 3000 : 10000;
const TICK = 100; // USER_HZ: the unit of CPU times in /proc/<pid>/stat on Linux

const work = mkdtempSync(join(tmpdir(), 'vecfill-bench-follow-'));
// English sentences of at least 8 words: the offline encoder only knows
// English, and a sentence it sees as a few common words ties with others.
// Sentences with the same set of words (model docs repeat "The bare X Model
// transformer ..." for many X) encode alike: keep one of each.
const seenWords = new Set();
const sentences = realSentences(ROOT).filter((t) => {
  // Lower-case words only: names such as XLM or Wav2Vec2 are not in the vocabulary.
  const words = [...new Set(t.match(/\b[a-z]{3,}\b/g))].sort();
  if (!/^[\x20-\x7e]+$/.test(t) || words.length < 8 || seenWords.has(words.join(' '))) return false;
  seenWords.add(words.join(' '));
  return true;
});
let next = 0;
const sentence = () => sentences[next++ % sentences.length];
const encoder = await wordVectors();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Starts the CLI; resolves once `ready(event)` holds for a JSON line on stdout. */
function startCli(args) {
  const child = spawn(process.execPath, [BIN, ...args, '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events = [];
  let buf = '';
  child.stdout.on('data', (c) => {
    buf += c.toString();
    let i = buf.indexOf('\n');
    while (i >= 0) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (line.startsWith('{')) events.push(JSON.parse(line));
      i = buf.indexOf('\n');
    }
  });
  let err = '';
  child.stderr.on('data', (c) => {
    err += c.toString();
  });
  const exited = new Promise((r) => child.on('close', r));
  return {
    child,
    events,
    exited,
    err: () => err,
    async until(pred, ms = 120_000) {
      const deadline = Date.now() + ms;
      while (!events.some(pred)) {
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error(`vecfill ${args[0]}: no such event (${err.slice(-500)})`);
        await sleep(20);
      }
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** `pid` and its descendants (bin/vecfill.js supervises a worker process). */
function tree(pid) {
  const pids = [pid];
  for (let i = 0; i < pids.length; i++) {
    for (const task of readdirSync(`/proc/${pids[i]}/task`)) {
      const children = `/proc/${pids[i]}/task/${task}/children`;
      if (existsSync(children))
        pids.push(...readFileSync(children, 'utf8').split(' ').filter(Boolean).map(Number));
    }
  }
  return pids;
}

/** CPU seconds (user + system) and RSS of a process and its descendants, from /proc. */
function usage(pid) {
  let cpu = 0;
  let rss = 0;
  for (const p of tree(pid)) {
    const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    cpu += (Number(fields[11]) + Number(fields[12])) / TICK;
    rss += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))[1]) * 1024;
  }
  return { cpu, rss };
}

function table(n) {
  const path = join(work, `table-${n}-${Date.now()}.db`);
  const db = openDatabase(path);
  db.exec(
    'CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL, rev INTEGER NOT NULL DEFAULT 1)',
  );
  const ins = db.prepare('INSERT INTO notes (id, body) VALUES (?, ?)');
  db.transaction(() => {
    for (let i = 1; i <= n; i++) ins.run(i, sentence());
  })();
  return { path, db };
}
const FILL_ARGS = (path) => [
  'fill',
  '--db',
  path,
  '--table',
  'notes',
  '--id',
  'id',
  '--content',
  'body',
  '--revision',
  'rev',
];

/** Polls `search` every 10 ms until `doc` is found for `text`; returns ms since `t0`. */
async function searchable(store, text, doc, t0) {
  for (;;) {
    const hits = await search(store, text, { encoderFor: () => encoder.encode, limit: 10 });
    const best = hits[0]?.score ?? 0;
    // In the top 3, or tied with the best (another row may hold the same words).
    if (hits.some((h, i) => h.doc === doc && (i < 3 || h.score >= best - 1e-6)))
      return performance.now() - t0;
    if (performance.now() - t0 > 30_000)
      throw new Error(`edit of ${doc} not searchable after 30 s`);
    await sleep(10);
  }
}

const rows = [];
const row = (name, value, target) => {
  rows.push({ name, value, target });
  console.log(`${name.padEnd(52)} ${String(value).padEnd(28)} ${target}`);
};
console.log(`continuous sync benchmark${quick ? ' (quick)' : ''}: ${work}`);

// 1. Edit -> searchable, SQLite table.
{
  const { path, db } = table(2000);
  const f = startCli([...FILL_ARGS(path), '--follow']);
  await f.until((e) => e.event === 'caught-up');
  const reader = openDatabase(path);
  const store = SqliteStore.open(reader, {
    docsTable: 'notes',
    idColumn: 'id',
    contentColumn: 'body',
    revisionColumn: 'rev',
    vectorsPrefix: 'vecfill',
  });
  const upd = db.prepare('UPDATE notes SET body = ?, rev = rev + 1 WHERE id = ?');
  const lat = [];
  for (let i = 0; i < EDITS; i++) {
    const id = 1 + ((i * 37) % 2000);
    const text = sentence();
    const t0 = performance.now();
    upd.run(text, id);
    lat.push(await searchable(store, text, id, t0));
    await sleep(200);
  }
  row(
    `edit -> searchable, SQLite table (${EDITS} updates)`,
    `p50 ${pct(lat, 50).toFixed(0)} ms, p95 ${pct(lat, 95).toFixed(0)} ms`,
    'p95 <= 1000 ms',
  );

  // 2. Idle cost of the same follower: nothing changes for IDLE_S.
  await sleep(1000);
  const before = usage(f.child.pid);
  await sleep(IDLE_S * 1000);
  const after = usage(f.child.pid);
  const share = ((after.cpu - before.cpu) / IDLE_S) * 100;
  row(`idle CPU of a follower over ${IDLE_S} s`, `${share.toFixed(2)} % of a core`, '<= 1 %');

  // 3. RSS over steady edits (one update every 200 ms).
  const start = usage(f.child.pid).rss;
  const until = Date.now() + STEADY_S * 1000;
  let edits = 0;
  while (Date.now() < until) {
    upd.run(sentence(), 1 + (edits % 2000));
    edits++;
    await sleep(200);
  }
  await sleep(500);
  const end = usage(f.child.pid).rss;
  const mib = (b) => (b / 2 ** 20).toFixed(1);
  row(
    `RSS over ${STEADY_S} s of steady edits (${edits} updates)`,
    `start ${mib(start)} MiB, end ${mib(end)} MiB`,
    'flat (10 min asked; shortened)',
  );
  await f.stop();
  reader.close();
  db.close();
}

// 4. Edit -> searchable, watched folder.
{
  const dir = join(work, 'notes');
  mkdirSync(dir);
  for (let i = 0; i < 500; i++) writeFileSync(join(dir, `note-${i}.md`), `${sentence()}\n`);
  const path = join(work, 'watch.db');
  const w = startCli(['watch', dir, '--db', path]);
  await w.until((e) => e.event === 'caught-up');
  const reader = openDatabase(path);
  const store = SqliteStore.open(reader, {
    docsTable: 'documents',
    idColumn: 'path',
    contentColumn: 'content',
    revisionColumn: 'hash',
    vectorsPrefix: 'vecfill',
  });
  const lat = [];
  for (let i = 0; i < EDITS; i++) {
    const name = `note-${(i * 7) % 500}.md`;
    const text = sentence();
    const t0 = performance.now();
    writeFileSync(join(dir, name), `${text}\n`);
    lat.push(await searchable(store, text, name, t0));
    await sleep(200);
  }
  row(
    `edit -> searchable, watched folder (${EDITS} writes)`,
    `p50 ${pct(lat, 50).toFixed(0)} ms, p95 ${pct(lat, 95).toFixed(0)} ms`,
    'p95 <= 1000 ms',
  );
  await w.stop();
  reader.close();
}

// 5. Throughput: the same backlog, one-shot fill vs a follower's first pass.
{
  const a = table(BACKLOG);
  a.db.close();
  const oneShot = spawn(process.execPath, [BIN, ...FILL_ARGS(a.path), '--json'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  oneShot.stdout.on('data', (c) => {
    out += c.toString();
  });
  await new Promise((r) => oneShot.on('close', r));
  const shot = JSON.parse(out).generations[0];
  const b = table(BACKLOG);
  b.db.close();
  const f = startCli([...FILL_ARGS(b.path), '--follow']);
  await f.until((e) => e.event === 'caught-up');
  const pass = f.events.find((e) => e.event === 'filled');
  await f.stop();
  const rate = (n, s) => n / s;
  const r1 = rate(shot.documents, shot.seconds);
  const r2 = rate(pass.documents, pass.seconds);
  row(`throughput, ${BACKLOG} documents: one-shot fill`, `${r1.toFixed(0)} docs/s`, 'baseline');
  row(
    `throughput, ${BACKLOG} documents: fill --follow`,
    `${r2.toFixed(0)} docs/s (${(r2 / r1).toFixed(2)}x)`,
    '>= 0.8x',
  );
}

rmSync(work, { recursive: true, force: true });
