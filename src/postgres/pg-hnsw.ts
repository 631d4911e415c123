import type { Slots } from '../sql/index.js';
import type { PgPoolLike, PgQueryable } from './pg-client.js';
import { type GenRow, genRow, liveGenRow, type PgContext } from './pg-context.js';
import type { PgBuildIndexOptions, PgIndexProgress, PgIndexStatus } from './pg-types.js';

/** `maintenance_work_mem` a build gets by default: enough for the whole graph, within these bounds (MB). */
const BUILD_MEMORY_MB = { min: 64, max: 2048 } as const;

/** How often a waiting builder retries the build lock, and a build's progress is read (ms). */
const LOCK_POLL_MS = 200;
const PROGRESS_POLL_MS = 500;

/** The DDL of a generation's HNSW index (cosine), optionally `CONCURRENTLY`. */
function createIndexSql(ctx: PgContext, id: number, concurrently: boolean): string {
  return `CREATE INDEX${concurrently ? ' CONCURRENTLY' : ''} IF NOT EXISTS ${ctx.t.hnswName(id)} ON ${ctx.t.vec(id)} USING hnsw (embedding vector_cosine_ops)`;
}

/**
 * Creates a generation's vector table. Only an active generation gets its
 * HNSW index now; a building one fills without it (inserting into an HNSW
 * graph row by row is ~9x slower than building it once after the load) and
 * gets it from `buildIndex` when its backlog reaches zero or at `activate`.
 */
export async function createVectorTable(
  ctx: PgContext,
  tx: PgQueryable,
  id: number,
  dims: number,
  state: string,
): Promise<void> {
  await ctx.q(
    `CREATE TABLE IF NOT EXISTS ${ctx.t.vec(id)} (id bigint PRIMARY KEY, embedding vector(${Math.floor(dims)}) NOT NULL)`,
    [],
    tx,
  );
  if (state === 'active') await ctx.q(createIndexSql(ctx, id, false), [], tx);
}

/** Whether `gen`'s HNSW index exists, is valid, and its size. */
export async function indexStatus(
  ctx: PgContext,
  gen: string,
  via?: PgQueryable,
): Promise<PgIndexStatus> {
  const g = await genRow(ctx, gen, via);
  const [row] = await ctx.sql(
    (p) =>
      `SELECT i.indisvalid AND i.indisready AS valid, pg_relation_size(i.indexrelid)::float8 AS bytes
       FROM pg_index i WHERE i.indexrelid = to_regclass(${p.slot('index')})`,
    { index: ctx.t.hnsw(g.id) },
    via,
  );
  if (!row) return { present: false, valid: false, bytes: 0 };
  return { present: true, valid: Boolean(row.valid), bytes: Number(row.bytes) };
}

/**
 * Builds `gen`'s HNSW index in one pass if it is missing, or drops and
 * rebuilds it if a killed build left it invalid. See `PgStore.buildIndex`.
 */
export async function buildIndex(
  ctx: PgContext,
  gen: string,
  opts: PgBuildIndexOptions,
): Promise<{ built: boolean }> {
  const g = await liveGenRow(ctx, gen);
  if ('transaction' in ctx.client) return buildInTransaction(ctx, g, opts);
  const pool =
    'totalCount' in ctx.client && typeof (ctx.client as PgPoolLike).connect === 'function'
      ? (ctx.client as PgPoolLike)
      : undefined;
  const conn: PgQueryable & { release?: () => void } = pool ? await pool.connect() : ctx.client;
  try {
    return await withBuildLock(ctx, conn, g, () => buildConcurrently(ctx, conn, g, opts, !!pool));
  } finally {
    conn.release?.();
  }
}

/** PGlite has one session: a transaction makes the check and the build one step. */
function buildInTransaction(
  ctx: PgContext,
  g: GenRow,
  opts: PgBuildIndexOptions,
): Promise<{ built: boolean }> {
  return ctx.tx(async (tx) => {
    const status = await indexStatus(ctx, g.key, tx);
    if (status.valid) return { built: false };
    if (status.present) await ctx.q(`DROP INDEX IF EXISTS ${ctx.t.hnsw(g.id)}`, [], tx);
    await ctx.q(createIndexSql(ctx, g.id, false), [], tx);
    opts.onProgress?.({ generation: g.key, phase: 'done', done: 0, total: 0 });
    return { built: true };
  });
}

/**
 * Runs `fn` holding the generation's build lock, so two workers finishing
 * the same generation build it once. A session-level lock, taken by
 * polling: a session blocked in a statement would hold a snapshot that
 * `CREATE INDEX CONCURRENTLY` waits for, while it waits for the lock.
 */
async function withBuildLock<T>(
  ctx: PgContext,
  conn: PgQueryable,
  g: GenRow,
  fn: () => Promise<T>,
): Promise<T> {
  const key = { kind: 'vecfill-index', table: ctx.t.vec(g.id) };
  const lockArgs = (p: Slots) => `hashtext(${p.slot('kind')}), hashtext(${p.slot('table')})`;
  for (;;) {
    const [r] = await ctx.sql(
      (p) => `SELECT pg_try_advisory_lock(${lockArgs(p)}) AS ok`,
      key,
      conn,
    );
    if (r?.ok) break;
    await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
  }
  try {
    return await fn();
  } finally {
    await ctx.sql((p) => `SELECT pg_advisory_unlock(${lockArgs(p)})`, key, conn).catch(() => {});
  }
}

/**
 * The server build: `CREATE INDEX CONCURRENTLY` (searches and fills go on),
 * an invalid leftover dropped first, with `maintenance_work_mem` and
 * `max_parallel_maintenance_workers` raised for the build and reset after.
 */
async function buildConcurrently(
  ctx: PgContext,
  conn: PgQueryable,
  g: GenRow,
  opts: PgBuildIndexOptions,
  pooled: boolean,
): Promise<{ built: boolean }> {
  const t = ctx.t;
  const status = await indexStatus(ctx, g.key, conn);
  if (status.valid) return { built: false };
  if (status.present) await ctx.q(`DROP INDEX CONCURRENTLY IF EXISTS ${t.hnsw(g.id)}`, [], conn);
  const [size] = await ctx.q(`SELECT count(*)::float8 AS n FROM ${t.vec(g.id)}`, [], conn);
  const rows = Number(size?.n ?? 0);
  const memory = opts.maintenanceWorkMem ?? `${defaultBuildMemoryMb(rows, g.dimensions)}MB`;
  if (!/^\d+\s*(kB|MB|GB)?$/.test(memory))
    throw new RangeError(`maintenanceWorkMem must look like '512MB' or '1GB', got ${memory}`);
  const workers = Math.max(0, Math.floor(opts.parallelWorkers ?? 2));
  await ctx.q(`SET maintenance_work_mem = '${memory}'`, [], conn);
  await ctx.q(`SET max_parallel_maintenance_workers = ${workers}`, [], conn);
  // Progress is read on another connection: this one is busy building.
  const stop = opts.onProgress && pooled ? pollProgress(ctx, g, opts.onProgress) : undefined;
  try {
    await ctx.q(createIndexSql(ctx, g.id, true), [], conn);
  } finally {
    stop?.();
    await ctx.q('RESET maintenance_work_mem', [], conn).catch(() => {});
    await ctx.q('RESET max_parallel_maintenance_workers', [], conn).catch(() => {});
  }
  opts.onProgress?.({ generation: g.key, phase: 'done', done: rows, total: rows });
  return { built: true };
}

/** Enough memory to build the graph of `rows` vectors in memory (pgvector's own estimate, with headroom). */
function defaultBuildMemoryMb(rows: number, dimensions: number): number {
  const mb = (rows * (dimensions * 4 + 300) * 1.5) / 2 ** 20;
  return Math.ceil(Math.min(BUILD_MEMORY_MB.max, Math.max(BUILD_MEMORY_MB.min, mb)));
}

/** Reports `pg_stat_progress_create_index` for `g`'s table about twice a second; returns the stop function. */
function pollProgress(
  ctx: PgContext,
  g: GenRow,
  onProgress: (progress: PgIndexProgress) => void,
): () => void {
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    ctx
      .sql(
        (p) =>
          `SELECT phase, coalesce(nullif(tuples_total, 0), blocks_total)::float8 AS total,
             (CASE WHEN tuples_total > 0 THEN tuples_done ELSE blocks_done END)::float8 AS done
           FROM pg_stat_progress_create_index WHERE relid = to_regclass(${p.slot('table')})`,
        { table: ctx.t.vec(g.id) },
      )
      .then(([p]) => {
        if (p)
          onProgress({
            generation: g.key,
            phase: String(p.phase),
            done: Number(p.done),
            total: Number(p.total),
          });
      })
      .catch(() => {})
      .finally(() => {
        busy = false;
      });
  }, PROGRESS_POLL_MS);
  return () => clearInterval(timer);
}
