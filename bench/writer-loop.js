// The harness of the benchmarks that measure what vecfill costs an
// application writing to the same SQLite database (lease-writers.js,
// recenter.js): a writer child process doing one write after another as fast
// as it can, and the parent-side helpers that start children, wait for them
// to be ready and collect the JSON each prints.
import { spawn } from 'node:child_process';

/** How long a writer waits for the database lock before SQLITE_BUSY (the application's busy timeout). */
export const WRITER_BUSY_TIMEOUT_MS = 5000;

/**
 * The writer child: opens `path` with better-sqlite3 (5 s busy timeout),
 * prints `ready`, then runs `write(n)` (`n` = writes done so far) as fast as
 * it can until SIGTERM, and prints `{ ok, busy, worst, perSecond }`: writes
 * done, writes refused with SQLITE_BUSY / locked, the longest single write
 * in milliseconds, and writes per second.
 * `prepare(db)` returns the `write` function (prepare its statements there).
 */
export async function writerLoop(path, prepare) {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(path);
  db.pragma(`busy_timeout = ${WRITER_BUSY_TIMEOUT_MS}`);
  const write = prepare(db);
  let ok = 0;
  let busy = 0;
  let worst = 0;
  let stop = false;
  process.on('SIGTERM', () => {
    stop = true;
  });
  const started = performance.now();
  const tick = () => {
    if (stop) {
      const seconds = (performance.now() - started) / 1000;
      process.stdout.write(JSON.stringify({ ok, busy, worst, perSecond: ok / seconds }));
      process.exit(0);
    }
    const t = performance.now();
    try {
      write(ok);
      ok++;
    } catch (e) {
      if (/busy|locked/i.test(e.message)) busy++;
      else throw e;
    }
    worst = Math.max(worst, performance.now() - t);
    setImmediate(tick);
  };
  process.stdout.write('ready\n');
  tick();
}

/**
 * Runs `node <script> ...args` and resolves to the JSON it prints on stdout.
 * With `onReady`, calls it with the child once the child has printed
 * `ready` (the line is not part of the JSON).
 */
export function runChild(script, args, { env, onReady } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      ...(env ? { env: { ...process.env, ...env } } : {}),
    });
    let out = '';
    let ready = onReady;
    child.stdout.on('data', (c) => {
      out += c.toString();
      if (ready && out.includes('ready\n')) {
        ready(child);
        ready = undefined;
      }
    });
    child.on('error', reject);
    child.on('close', () => resolve(JSON.parse(out.replace(/^ready\n/, ''))));
  });
}

/**
 * Starts a writer child (`node <script> ...writerArgs`, which runs
 * `writerLoop`), waits until it writes (and `settleMs` more), runs
 * `work()`, then stops the writer. Resolves to `{ result, writer }`: what
 * `work` returned and what the writer measured.
 */
export async function writerDuring(script, writerArgs, work, { env, settleMs = 0 } = {}) {
  let writer;
  const done = runChild(script, writerArgs, {
    env,
    onReady: (w) => {
      writer = w;
    },
  });
  while (!writer) await new Promise((r) => setTimeout(r, 20));
  if (settleMs > 0) await new Promise((r) => setTimeout(r, settleMs));
  const result = await work();
  writer.kill('SIGTERM');
  return { result, writer: await done };
}
