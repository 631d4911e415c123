import { checkSkippedShare } from '../core/activation.js';
import {
  type ActivateOptions,
  fingerprint,
  type Generation,
  type GenerationInfo,
  type GenerationOptions,
  type GenerationState,
  LifecycleError,
  UncoveredError,
  validateGeneration,
} from '../core/index.js';
import { checkReopen, refuseRetireActive, uncoveredNext } from '../core/lifecycle.js';
import {
  checkExistingGeneration,
  checkGenerationKey,
  checkReclaimable,
  generationInfo,
  liveGenerationsSql,
  POSTGRES,
  reclaimSql,
  retireOthersSql,
  setStateSql,
  slots,
  stateConflict,
} from '../sql/index.js';
import type { PgQueryable } from './pg-client.js';
import {
  allGenRows,
  type GenRow,
  genRow,
  liveGenRow,
  lockStore,
  type PgContext,
} from './pg-context.js';
import { coverage, skipReasons } from './pg-coverage.js';
import { createVectorTable, indexStatus } from './pg-hnsw.js';

/**
 * Creates `gen` in `state` with its vector table, or finds it; refuses a
 * known key with another fingerprint or dimension. A reclaimed generation
 * is brought back empty.
 */
export async function ensureGeneration(
  ctx: PgContext,
  gen: string,
  generation: Generation,
  state: 'building' | 'active',
  options: GenerationOptions = {},
): Promise<GenerationInfo<string>> {
  checkGenerationKey(gen);
  const unsupported = Object.keys(options ?? {});
  if (unsupported.length > 0)
    throw new TypeError(
      `the PostgreSQL store has no generation options (got ${unsupported.join(', ')}); pgvector's HNSW index is built the same way for every generation`,
    );
  validateGeneration(generation);
  const fp = fingerprint(generation);
  const t = ctx.t;
  const row = await ctx.tx(async (tx) => {
    // Two sessions ensuring the same new generation: the second waits, then finds it.
    await lockStore(ctx, tx);
    const [existing] = (await ctx.sql(
      (p) => `SELECT * FROM ${t.gens} WHERE key = ${p.slot('key')} FOR UPDATE`,
      { key: gen },
      tx,
    )) as unknown as GenRow[];
    if (existing) {
      checkExistingGeneration(existing, gen, generation, fp);
      if (!existing.reclaimed) return existing;
      await setState(ctx, tx, gen, state);
      await ctx.sql(
        (p) => `UPDATE ${t.gens} SET reclaimed = false WHERE id = ${p.slot('gen')}`,
        { gen: existing.id },
        tx,
      );
      await createVectorTable(ctx, tx, existing.id, existing.dimensions, state);
      return genRow(ctx, gen, tx);
    }
    let created: GenRow | undefined;
    try {
      [created] = (await ctx.sql(
        (p) =>
          `INSERT INTO ${t.gens} (key, generation, fingerprint, dimensions, state) VALUES (${p.slot('key')}, ${p.slot('generation')}, ${p.slot('fp')}, ${p.slot('dimensions')}, ${p.slot('state')}) RETURNING *`,
        {
          key: gen,
          generation: JSON.stringify(generation),
          fp,
          dimensions: generation.dimensions,
          state,
        },
        tx,
      )) as unknown as GenRow[];
    } catch (e) {
      throw POSTGRES.isUniqueViolation(e) ? stateConflict(gen, state) : e;
    }
    await createVectorTable(ctx, tx, created!.id, generation.dimensions, state);
    return created!;
  });
  return generationInfo(row);
}

async function setState(
  ctx: PgContext,
  tx: PgQueryable,
  key: string,
  state: GenerationState,
): Promise<void> {
  try {
    await ctx.sql((p) => setStateSql(ctx.t, p), { state, key }, tx);
  } catch (e) {
    // The one-active / one-building unique indexes, said as the rule they keep.
    throw POSTGRES.isUniqueViolation(e) ? stateConflict(key, state) : e;
  }
}

export async function generations(ctx: PgContext): Promise<GenerationInfo<string>[]> {
  return (await allGenRows(ctx)).map(generationInfo);
}

export async function liveGenerations(ctx: PgContext): Promise<string[]> {
  const rows = await ctx.q(liveGenerationsSql(ctx.t));
  return rows.map((r) => String(r.key));
}

/**
 * Makes `gen` the active generation and retires the other live ones, in one
 * transaction that re-checks the backlog under an exclusive lock. Its HNSW
 * index is built first (`buildIndex`) when it is missing or invalid, so an
 * active generation always has its index; a build that fails refuses
 * activation.
 */
export async function activate(
  ctx: PgContext,
  gen: string,
  options: ActivateOptions,
  buildIndex: () => Promise<unknown>,
): Promise<void> {
  const before = await liveGenRow(ctx, gen);
  const { backlog } = await coverage(ctx, gen);
  if (backlog > 0) throw new UncoveredError(gen, backlog, uncoveredNext(before.state));
  if (!(await indexStatus(ctx, gen)).valid) {
    try {
      await buildIndex();
    } catch (e) {
      throw new LifecycleError(
        `generation ${JSON.stringify(gen)} was not activated: its HNSW index could not be built (${(e as Error).message}); fix the cause (often maintenance_work_mem or disk space) and activate again`,
      );
    }
  }
  await ctx.tx(async (tx) => {
    const g = await liveGenRow(ctx, gen, tx);
    await ctx.q(`LOCK TABLE ${ctx.t.gens} IN EXCLUSIVE MODE`, [], tx);
    const { backlog, embedded } = await coverage(ctx, gen, tx);
    if (backlog > 0) throw new UncoveredError(gen, backlog, uncoveredNext(g.state));
    checkSkippedShare(gen, embedded, await skipReasons(ctx, gen, tx), options);
    await ctx.sql((p) => retireOthersSql(ctx.t, p), { gen: g.id }, tx);
    await setState(ctx, tx, gen, 'active');
  });
}

/** Moves `gen` to `state` under the generations table's exclusive lock, after `check` approves its row. */
async function changeState(
  ctx: PgContext,
  gen: string,
  state: GenerationState,
  check: (g: GenRow) => void,
): Promise<void> {
  await genRow(ctx, gen);
  await ctx.tx(async (tx) => {
    await ctx.q(`LOCK TABLE ${ctx.t.gens} IN EXCLUSIVE MODE`, [], tx);
    check(await genRow(ctx, gen, tx));
    await setState(ctx, tx, gen, state);
  });
}

/** Takes `gen` out of search; the active one only with `force`. */
export function retire(ctx: PgContext, gen: string, opts: { force?: boolean }): Promise<void> {
  return changeState(ctx, gen, 'retired', (g) => {
    if (g.state === 'active' && !opts.force) throw refuseRetireActive(gen);
  });
}

/** Brings a retired, unreclaimed generation back as `building`. */
export function reopen(ctx: PgContext, gen: string): Promise<void> {
  return changeState(ctx, gen, 'building', (g) => {
    checkReopen(gen, g.state, Boolean(g.reclaimed));
  });
}

/** Drops a retired generation's vectors, chunks and stamps; its row stays, marked reclaimed. */
export async function reclaim(ctx: PgContext, gen: string): Promise<void> {
  await ctx.tx(async (tx) => {
    const g = await genRow(ctx, gen, tx);
    checkReclaimable(gen, g.state);
    if (g.reclaimed) return;
    await ctx.q(`DROP TABLE IF EXISTS ${ctx.t.vec(g.id)}`, [], tx);
    const p = slots(POSTGRES);
    for (const sql of reclaimSql(ctx.t, POSTGRES, p)) await ctx.q(sql, p.args({ gen: g.id }), tx);
    ctx.cursor.forget(g.id);
  });
}
