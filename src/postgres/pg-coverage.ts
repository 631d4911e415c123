import type { Coverage, SkipReason } from '../core/index.js';
import type { PgQueryable } from './pg-client.js';
import { allGenRows, genRow, liveGenRow, type PgContext } from './pg-context.js';
import { indexStatus } from './pg-hnsw.js';
import { dropChunks } from './pg-save.js';
import { coveredPg } from './pg-schema.js';
import type { PgGenerationStats, PgKey } from './pg-types.js';

/** Embedded, skipped and pending documents of `gen`, by the one freshness predicate. */
export async function coverage(ctx: PgContext, gen: string, via?: PgQueryable): Promise<Coverage> {
  const g = await genRow(ctx, gen, via);
  const s = ctx.schema;
  const covered = coveredPg(s);
  const [row] = await ctx.q(
    `SELECT count(*)::int AS total,
       count(*) FILTER (WHERE ${covered} AND s.chunks > 0)::int AS embedded,
       count(*) FILTER (WHERE ${covered} AND s.chunks = 0)::int AS skipped
     FROM ${s.docs} d LEFT JOIN ${ctx.t.stamps} s ON s.gen = $1 AND s.doc = d.${s.id}`,
    [g.id],
    via,
  );
  const total = Number(row!.total);
  if (g.reclaimed) return { embedded: 0, skipped: 0, backlog: total };
  const embedded = Number(row!.embedded);
  const skipped = Number(row!.skipped);
  return { embedded, skipped, backlog: total - embedded - skipped };
}

/** Why `gen`'s current skip stamps were saved, most frequent reason first (blank documents are not listed). */
export async function skipReasons(
  ctx: PgContext,
  gen: string,
  via?: PgQueryable,
): Promise<SkipReason[]> {
  const g = await genRow(ctx, gen, via);
  if (g.reclaimed) return [];
  const s = ctx.schema;
  const rows = await ctx.q(
    `SELECT s.reason AS reason, count(*)::int AS documents
     FROM ${s.docs} d JOIN ${ctx.t.stamps} s ON s.gen = $1 AND s.doc = d.${s.id}
     WHERE ${coveredPg(s)} AND s.chunks = 0 AND s.reason IS NOT NULL
     GROUP BY s.reason ORDER BY documents DESC, s.reason`,
    [g.id],
    via,
  );
  return rows.map((r) => ({ reason: String(r.reason), documents: Number(r.documents) }));
}

/** Forgets `gen`'s skip stamps so the next fill tries them again; returns how many became pending. */
export async function resetSkipped(ctx: PgContext, gen: string): Promise<number> {
  const g = await liveGenRow(ctx, gen);
  const rows = await ctx.q(
    `DELETE FROM ${ctx.t.stamps} WHERE gen = $1 AND chunks = 0 RETURNING 1`,
    [g.id],
  );
  return rows.length;
}

/** Chunk count, vector bytes and index of a generation. */
export async function stats(ctx: PgContext, gen: string): Promise<PgGenerationStats> {
  const g = await genRow(ctx, gen);
  const s = ctx.schema;
  const [row] = await ctx.q(`SELECT count(*)::int AS n FROM ${ctx.t.chunks} WHERE gen = $1`, [
    g.id,
  ]);
  const [skipped] = await ctx.q(
    `SELECT coalesce(sum(s.skipped_chunks), 0)::int AS n FROM ${s.docs} d
     JOIN ${ctx.t.stamps} s ON s.gen = $1 AND s.doc = d.${s.id}
     WHERE ${coveredPg(s)}`,
    [g.id],
  );
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
    for (const g of await allGenRows(ctx, tx)) await dropChunks(ctx, tx, g, doc);
    await ctx.q(`DELETE FROM ${ctx.t.stamps} WHERE doc = $1`, [doc], tx);
  });
}

/** Drops vectors of documents whose rows were deleted outside vecfill. Returns how many documents. */
export async function prune(ctx: PgContext): Promise<number> {
  const { schema: s, t } = ctx;
  const gone = await ctx.q(
    `SELECT DISTINCT c.doc FROM ${t.chunks} c WHERE NOT EXISTS (SELECT 1 FROM ${s.docs} d WHERE d.${s.id} = c.doc)
     UNION SELECT DISTINCT st.doc FROM ${t.stamps} st WHERE NOT EXISTS (SELECT 1 FROM ${s.docs} d WHERE d.${s.id} = st.doc)`,
  );
  for (const r of gone) await deleteVectors(ctx, r.doc as PgKey);
  return gone.length;
}
