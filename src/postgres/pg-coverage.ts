import type { Coverage, SkipReason } from '../core/index.js';
import {
  chunkCountSql,
  coverageOf,
  coverageSql,
  orphanDocsSql,
  POSTGRES,
  resetSkippedSql,
  skippedChunksSql,
  skipReasonsSql,
} from '../sql/index.js';
import type { PgQueryable } from './pg-client.js';
import { allGenRows, genRow, liveGenRow, type PgContext } from './pg-context.js';
import { indexStatus } from './pg-hnsw.js';
import { dropChunks } from './pg-save.js';
import type { PgGenerationStats, PgKey } from './pg-types.js';

/** Embedded, skipped and pending documents of `gen`, by the one freshness predicate (`coverageSql`). */
export async function coverage(ctx: PgContext, gen: string, via?: PgQueryable): Promise<Coverage> {
  const g = await genRow(ctx, gen, via);
  const [row] = await ctx.sql((p) => coverageSql(ctx.t, POSTGRES, p), { gen: g.id }, via);
  return coverageOf(row as Parameters<typeof coverageOf>[0], g.reclaimed);
}

/** Why `gen`'s current skip stamps were saved, most frequent reason first (blank documents are not listed). */
export async function skipReasons(
  ctx: PgContext,
  gen: string,
  via?: PgQueryable,
): Promise<SkipReason[]> {
  const g = await genRow(ctx, gen, via);
  if (g.reclaimed) return [];
  const rows = await ctx.sql((p) => skipReasonsSql(ctx.t, POSTGRES, p), { gen: g.id }, via);
  return rows.map((r) => ({ reason: String(r.reason), documents: Number(r.documents) }));
}

/** Forgets `gen`'s skip stamps so the next fill tries them again; returns how many became pending. */
export async function resetSkipped(ctx: PgContext, gen: string): Promise<number> {
  const g = await liveGenRow(ctx, gen);
  const rows = await ctx.sql((p) => `${resetSkippedSql(ctx.t, p)} RETURNING 1`, { gen: g.id });
  return rows.length;
}

/** Chunk count, vector bytes and HNSW index of a generation. */
export async function stats(ctx: PgContext, gen: string): Promise<PgGenerationStats> {
  const g = await genRow(ctx, gen);
  const [row] = await ctx.sql((p) => chunkCountSql(ctx.t, p), { gen: g.id });
  const [skipped] = await ctx.sql((p) => skippedChunksSql(ctx.t, POSTGRES, p), { gen: g.id });
  const chunks = Number(row?.n ?? 0);
  const ix = g.reclaimed ? { present: false, valid: false, bytes: 0 } : await indexStatus(ctx, gen);
  return {
    chunks,
    vectorBytes: chunks * Number(g.dimensions) * 4,
    skippedChunks: g.reclaimed ? 0 : Number(skipped?.n ?? 0),
    index: g.reclaimed
      ? 'none'
      : ix.valid
        ? 'hnsw'
        : ix.present
          ? 'hnsw (building, or invalid: rebuilt at activate)'
          : 'none (deferred: built when filled)',
    indexBytes: ix.bytes,
  };
}

/** Drops a document's vectors and stamps in every generation. */
export async function deleteVectors(ctx: PgContext, doc: PgKey): Promise<void> {
  await ctx.tx(async (tx) => {
    for (const g of await allGenRows(ctx, tx)) await dropChunks(ctx, tx, g, [doc]);
    await ctx.sql((p) => `DELETE FROM ${ctx.t.stamps} WHERE doc = ${p.slot('doc')}`, { doc }, tx);
  });
}

/** Drops vectors of documents whose rows were deleted outside vecfill. Returns how many documents. */
export async function prune(ctx: PgContext): Promise<number> {
  const gone = await ctx.q(orphanDocsSql(ctx.t));
  for (const r of gone) await deleteVectors(ctx, r.doc as PgKey);
  return gone.length;
}
