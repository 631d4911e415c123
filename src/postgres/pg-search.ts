import type { Hit, QueryOptions } from '../core/index.js';
import { fuseHybrid } from '../core/merge.js';
import {
  checkQuery,
  chunkCountSql,
  coveredSql,
  filterClause,
  POSTGRES,
  type Slots,
} from '../sql/index.js';
import type { PgQueryable } from './pg-client.js';
import { type GenRow, liveGenRow, type PgContext, type PgTables, type Row } from './pg-context.js';
import { textDocs } from './pg-full-text.js';
import type { PgFilter, PgKey } from './pg-types.js';
import { vectorLiteral } from './pg-vector.js';

/** Below this many matching documents a filtered search scans their vectors exactly. */
const FILTER_EXACT_ROWS = 2000;

/** The widest window a search without iterative scans (pgvector < 0.8) asks the HNSW index for (its `ef_search` limit). */
const MAX_EF_SEARCH = 1000;

/**
 * The narrowest `ef_search` a search uses. pgvector's default, 40, found
 * 92–95 % of the true top 10 on an index built in one pass over 100k
 * clustered vectors × 384; 80 and up found 99.6 % for about 1 ms more at
 * p50 (bench/README.md, issue 21).
 */
const MIN_EF_SEARCH = 100;

/**
 * How a search window reads a generation's vectors: `ann` through the HNSW
 * index, `exact` by scanning them all, `restricted` by scanning only the
 * vectors of the documents a selective filter keeps.
 */
export type KnnMode = 'ann' | 'exact' | 'restricted';

/**
 * One search window as SQL: the `window` nearest vectors (materialized first,
 * so the KNN is not re-run per row), then joined to the chunks, the rows and
 * their stamps, keeping only fresh rows (the one freshness predicate) that
 * pass the caller's filter, best `limit`. Slots `query, gen, window, limit`.
 */
export function searchSql(
  t: PgTables,
  genId: number,
  mode: KnnMode,
  p: Slots,
  filter: PgFilter | undefined,
): string {
  const where = filterClause(filter);
  const q = `${p.slot('query')}::vector`;
  const vec = t.vec(genId);
  // The exact forms add 0 to the distance so the planner cannot use the (approximate) index.
  const knn =
    mode === 'restricted'
      ? `SELECT v.id, (v.embedding <=> ${q}) + 0 AS distance FROM ${t.docs} d
         JOIN ${t.chunks} c ON c.doc = d.${t.id} AND c.gen = ${p.slot('gen')} JOIN ${vec} v ON v.id = c.id
         WHERE TRUE${where} ORDER BY 2 LIMIT ${p.slot('window')}`
      : mode === 'exact'
        ? `SELECT v.id, (v.embedding <=> ${q}) + 0 AS distance FROM ${vec} v ORDER BY 2 LIMIT ${p.slot('window')}`
        : `SELECT v.id, v.embedding <=> ${q} AS distance FROM ${vec} v ORDER BY v.embedding <=> ${q} LIMIT ${p.slot('window')}`;
  return `WITH knn AS MATERIALIZED (${knn})
    SELECT c.doc AS doc, c.chunk_index AS chunk_index, c.start_off AS start_off, c.end_off AS end_off, knn.distance AS distance
    FROM knn JOIN ${t.chunks} c ON c.id = knn.id
    JOIN ${t.docs} d ON d.${t.id} = c.doc
    LEFT JOIN ${t.stamps} s ON s.gen = ${p.slot('gen')} AND s.doc = d.${t.id}
    WHERE ${coveredSql(t, POSTGRES)}${where}
    ORDER BY knn.distance LIMIT ${p.slot('limit')}`;
}

/**
 * Chunk hits, best first, only from existing rows with a current stamp. The
 * HNSW KNN runs first (materialized) with iterative scans enabled; when
 * stale, deleted or filtered rows take up slots the window widens, and an
 * exact scan finishes when the window would cover the whole generation.
 */
export async function queryGeneration(
  ctx: PgContext,
  gen: string,
  query: Float32Array,
  limit: number,
  opts: QueryOptions<PgFilter> = {},
): Promise<Hit<PgKey>[]> {
  const g = await liveGenRow(ctx, gen);
  checkQuery({ gen, dimensions: g.dimensions, query, limit, signal: opts.signal });
  // One READ ONLY transaction, rolled back: a caller's filter can neither
  // write (setval, lo_unlink) nor leave a changed setting on the connection.
  return ctx.tx(
    async (tx) => {
      const rows = await nearestRows(ctx, tx, g, vectorLiteral(query), limit, opts.filter);
      const hits: Hit<PgKey>[] = rows.map((r) => ({
        doc: r.doc as PgKey,
        chunkIndex: Number(r.chunk_index),
        score: 1 - Number(r.distance),
        start: Number(r.start_off),
        end: Number(r.end_off),
      }));
      if (!opts.hybrid || opts.text === undefined) return hits;
      return fuseHybrid(hits, await textDocs(ctx, tx, g, opts.text, limit * 2, opts.filter), limit);
    },
    { readOnly: true },
  );
}

/** The best `limit` fresh chunk rows, widening the window until they are found or it covers the generation. */
async function nearestRows(
  ctx: PgContext,
  tx: PgQueryable,
  g: GenRow,
  query: string,
  limit: number,
  filter: PgFilter | undefined,
): Promise<Row[]> {
  const iterative = ctx.pgvector.iterativeScan;
  // The generation's size is counted only when the first window falls short.
  let total = Number.POSITIVE_INFINITY;
  // A selective filter (fewer than FILTER_EXACT_ROWS matching documents) is answered
  // by an exact scan of just those documents' vectors: an index scan would have to
  // pass ~1/selectivity candidates before ten rows match.
  let restricted = false;
  if (filter) {
    const [m] = await ctx.sql(
      () =>
        `SELECT count(*)::int AS n FROM (SELECT 1 FROM ${ctx.t.docs} d WHERE TRUE${filterClause(filter)} LIMIT ${FILTER_EXACT_ROWS}) x`,
      {},
      tx,
      filter.params,
    );
    restricted = Number(m?.n ?? 0) < FILTER_EXACT_ROWS;
  }
  let k = Math.max(limit * 2, 20);
  for (;;) {
    // Without iterative scans an HNSW scan yields at most ef_search rows, so a wider window is an exact scan.
    const exact = restricted || k >= total || (!iterative && k > MAX_EF_SEARCH);
    if (!exact) {
      // One round trip for both settings (transaction-local, like SET LOCAL).
      await ctx.sql(
        (p) =>
          `SELECT set_config('hnsw.ef_search', ${p.slot('ef')}, true)${iterative ? `, set_config('hnsw.iterative_scan', 'relaxed_order', true)` : ''}`,
        { ef: String(Math.min(MAX_EF_SEARCH, Math.max(MIN_EF_SEARCH, k))) },
        tx,
      );
    }
    const mode: KnnMode = restricted ? 'restricted' : exact ? 'exact' : 'ann';
    const window = restricted ? 2_147_483_647 : exact ? Math.max(total, 1) : k;
    const rows = await ctx.sql(
      (p) => searchSql(ctx.t, g.id, mode, p, filter),
      { query, gen: g.id, window, limit },
      tx,
      filter?.params,
    );
    if (rows.length >= limit || exact) return rows;
    if (total === Number.POSITIVE_INFINITY) {
      const [count] = await ctx.sql((p) => chunkCountSql(ctx.t, p), { gen: g.id }, tx);
      total = Number(count?.n ?? 0);
    }
    k *= 4;
  }
}
