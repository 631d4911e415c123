import { floats, quantize } from '../quantize.js';
import { f32, type GenRow, type SqliteContext } from '../sqlite-context.js';

/** Codes `recenter` rewrites per write transaction (a few milliseconds each). */
const RECENTER_BATCH = 5000;

/**
 * Re-centers a binary generation's codes on the mean of its vectors (see
 * `SqliteStore.recenter`): the mean is computed page by page, the new
 * center is published in one short transaction, and the stored codes are
 * rewritten in transactions of `RECENTER_BATCH` rows, each followed by a
 * pause half as long as it held the lock, so a waiting writer gets its
 * turn. Returns the number of codes rewritten (0 for other generations).
 */
export function recenter(c: SqliteContext, g: GenRow): number {
  if (g.quantization !== 'binary') return 0;
  const t = c.t;
  // Pages by id (keyset), each read on its own: memory stays one page.
  const page = c
    .stmt(
      { name: 'recenterPage', gen: g.id },
      () => `SELECT id, v FROM ${t.full(g.id)} WHERE id > ? ORDER BY id LIMIT ?`,
    )
    .raw();
  const sum = new Float64Array(g.dimensions);
  let n = 0;
  for (let after = -1; ; ) {
    const rows = page.all(after, RECENTER_BATCH) as [number, Buffer][];
    for (const [, blob] of rows) {
      const v = floats(blob);
      for (let i = 0; i < sum.length; i++) sum[i]! += v[i]!;
    }
    n += rows.length;
    if (rows.length < RECENTER_BATCH) break;
    after = rows.at(-1)![0];
  }
  if (n === 0) return 0;
  const center = Float32Array.from(sum, (x) => x / n);
  const blob = f32(center);
  // Publishing resets the change log (every reader reloads); trim it
  // first in short steps so the publishing transaction stays short.
  c.scans.log.trimInSteps(g.id);
  c.db
    .transaction(() => {
      c.stmt('setCentre', () => `UPDATE ${t.gens} SET centre = ? WHERE id = ?`).run(blob, g.id);
      bumpWrites(c, g);
      c.scans.log.reset(g.id);
    })
    .immediate();
  // Codes rewritten inside SQLite when sqlite-vec can (its sign bits are
  // ours: bit i of byte i / 8 set when v[i] − center[i] > 0, i.e. v[i] >
  // center[i]; it needs a multiple of 8 dimensions): one statement per
  // batch instead of a read and an UPDATE per row through JavaScript.
  const inSql = g.dimensions % 8 === 0;
  const update = c.stmt(
    { name: 'recenterCode', gen: g.id },
    () => `UPDATE ${t.vec(g.id)} SET embedding = ? WHERE id = ?`,
  );
  const range = c
    .stmt(
      { name: 'recenterRange', gen: g.id },
      () =>
        `SELECT count(*), max(id) FROM (SELECT id FROM ${t.vec(g.id)} WHERE id > ? ORDER BY id LIMIT ?)`,
    )
    .raw();
  const rewrite = c.stmt(
    { name: 'recenterCodes', gen: g.id },
    () =>
      `UPDATE ${t.vec(g.id)} AS c SET embedding = vec_quantize_binary(vec_sub(f.v, @center))
       FROM ${t.full(g.id)} AS f WHERE f.id = c.id AND c.id > @after AND c.id <= @upto`,
  );
  const current = c.stmt('centreOf', () => `SELECT centre FROM ${t.gens} WHERE id = ?`).pluck();
  let after = -1;
  let rewritten = 0;
  const batch = c.db.transaction((): number => {
    // Another recenter published another center: it rewrites every code.
    const now = current.get(g.id) as Buffer | null;
    if (!now?.equals(blob)) return -1;
    let done: number;
    if (inSql) {
      const [count, upto] = range.get(after, RECENTER_BATCH) as [number, number | null];
      if (count > 0) rewrite.run({ center: blob, after, upto });
      done = count;
      if (upto !== null) after = upto;
    } else {
      const rows = page.all(after, RECENTER_BATCH) as [number, Buffer][];
      for (const [id, v] of rows) update.run(quantize('binary', floats(v), center), id);
      done = rows.length;
      if (done > 0) after = rows.at(-1)![0];
    }
    if (done > 0) bumpWrites(c, g);
    return done;
  });
  for (;;) {
    const started = performance.now();
    const done = batch.immediate();
    if (done < 0) break;
    rewritten += done;
    if (done < RECENTER_BATCH) break;
    // SQLite's lock has no queue: a waiting writer polls on a backoff, and
    // back-to-back batches would starve it. Leave the lock free for half
    // as long as each batch held it.
    sleepSync(Math.max(2, (performance.now() - started) / 2));
  }
  return rewritten;
}
function bumpWrites(c: SqliteContext, g: GenRow): void {
  c.stmt('bumpWrites', () => `UPDATE ${c.t.gens} SET writes = writes + 1 WHERE id = ?`).run(g.id);
}

/** Blocks the thread for `ms` milliseconds (the store's API is synchronous). */
function sleepSync(ms: number): void {
  Atomics.wait(SLEEPER, 0, 0, ms);
}
const SLEEPER = new Int32Array(new SharedArrayBuffer(4));
