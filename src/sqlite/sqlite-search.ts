import type { Hit, QueryOptions } from '../core/index.js';
import { fuseHybrid } from '../core/merge.js';
import { checkQuery, filterClause } from '../sql/index.js';
import type { Candidate, GenerationIndex } from './index/generation-index.js';
import { storedIndex } from './index/stored-index.js';
import {
  f32,
  type GenRow,
  keyOf,
  type SqliteContext,
  type SqliteFilter,
  type SqliteKey,
  type SqliteValue,
} from './sqlite-context.js';
import { amongSql, exactSql, filterShareSql, keepSql, knnSql, rerankSql } from './sqlite-sql.js';
import { textDocs } from './sqlite-text.js';

/** A chunk hit as read with safe integers: every integer column is a bigint. */
interface ChunkRow {
  doc: SqliteKey;
  chunkIndex: number | bigint;
  start: number | bigint;
  end: number | bigint;
  distance: number | bigint;
}

/** sqlite-vec refuses a KNN `k` above this. */
const VEC_MAX_K = 4096;
/** A filter keeping at most this share of the documents is answered by scoring the matching rows exactly. */
const FILTER_SCAN_SHARE = 0.1;
/**
 * The same for a generation scanned in memory: a full scan costs a few
 * milliseconds whatever k is, so a window sized by the selectivity is
 * cheaper than listing the matching chunks in SQL until the filter keeps
 * very few rows.
 */
const MEMORY_FILTER_SHARE = 0.02;

/** `SqliteStore.queryGeneration`: chunk hits, best first, fused with full text when asked. */
export function queryGeneration(
  c: SqliteContext,
  gen: string,
  query: Float32Array,
  limit: number,
  opts: QueryOptions<SqliteFilter>,
): Hit<SqliteKey>[] {
  const g = c.liveGen(gen);
  checkQuery({ gen, dimensions: g.dimensions, query, limit, signal: opts.signal });
  return readOnly(c, () => {
    const rows = vectorRows(c, g, query, limit, opts.filter);
    const hits: Hit<SqliteKey>[] = rows.map((r) => ({
      doc: keyOf(r.doc),
      chunkIndex: Number(r.chunkIndex),
      score: 1 - Number(r.distance),
      start: Number(r.start),
      end: Number(r.end),
    }));
    if (!opts.hybrid || opts.text === undefined || !c.schema.fullText) return hits;
    return fuseHybrid(hits, textDocs(c, g, opts.text, limit * 2, opts.filter), limit);
  });
}

/**
 * Runs a search with `PRAGMA query_only` on: the filter is the caller's
 * SQL, trusted like any other, and a search must never write, whatever it
 * contains. The call is synchronous, so no other work on this connection
 * runs while the pragma is on; it is restored afterwards.
 */
export function readOnly<T>(c: SqliteContext, fn: () => T): T {
  const was = c.db.pragma('query_only', { simple: true }) as number;
  if (was) return fn();
  c.db.pragma('query_only = ON');
  try {
    return fn();
  } finally {
    c.db.pragma('query_only = OFF');
  }
}

/**
 * The nearest fresh chunks. The candidates come from the generation's
 * in-memory index, or from sqlite-vec; when stale, deleted or filtered-out
 * rows take up slots, the window widens until `limit` eligible hits are
 * found or the index is exhausted; a selective filter is answered by
 * scoring just the matching rows.
 */
function vectorRows(
  c: SqliteContext,
  g: GenRow,
  query: Float32Array,
  limit: number,
  filter: SqliteFilter | undefined,
): ChunkRow[] {
  const fp = filter?.params ?? [];
  const where = filterClause(filter);
  const stored = storedIndex(c, g);
  const over = stored.oversample;
  const index = c.scans.fresh(g, stored.source());
  // An in-memory index has no window limit; sqlite-vec's KNN has VEC_MAX_K.
  const maxK = index ? Number.MAX_SAFE_INTEGER : VEC_MAX_K;
  let k = Math.min(maxK, Math.max(limit * over, 16));
  const key = (name: string) => ({ name, gen: g.id, filter: where });
  const exact = () =>
    c
      .keyStmt(key('exact'), () => exactSql(c, stored.floats, where))
      .all(...fp, { query: f32(query), gen: g.id, limit }) as ChunkRow[];
  if (filter && index?.candidatesWhere) {
    // From memory: one scan, then the rows in score order through the
    // filter in SQL until enough pass; a filter that keeps very few rows
    // is answered by listing them.
    return (
      filteredRows(c, g, index, query, where, fp, limit) ??
      memoryRows(c, g, index, query, where, fp, limit, k)
    );
  }
  if (filter) {
    // Size the search by the filter's selectivity. A KNN reads every
    // vector whatever k is, so when few rows match, scoring just those
    // rows is cheaper than widening the window round after round
    // (measured at 100k × 384: 1 % of rows, 13 ms vs 381 ms; 10 %, 58 ms
    // vs 161 ms).
    const share = filterShare(c, where, fp);
    if (share === 0) return [];
    if (index && share <= MEMORY_FILTER_SHARE)
      return memoryRows(c, g, index, query, where, fp, limit, k);
    if (!index && share <= FILTER_SCAN_SHARE) return exact();
    k = Math.min(maxK, Math.max(k, Math.ceil((limit * over) / share)));
  }
  // A binary generation has no KNN table: over the memory cap it is scanned exactly.
  if (!index && stored.knn === 'exact') return exact();
  for (;;) {
    let rows: ChunkRow[];
    let exhausted: boolean;
    if (index || stored.knn === 'candidates') {
      const ranked = index ? index.candidates(query, k) : stored.candidates(query, k);
      exhausted = ranked.length < k;
      rows = c
        .keyStmt(key('rerank'), () => rerankSql(c, where))
        .all(...fp, { ranked: JSON.stringify(ranked), gen: g.id, limit }) as ChunkRow[];
    } else {
      rows = c
        .keyStmt(key('knn'), () => knnSql(c, g.id, where))
        .all(...fp, { query: f32(query), k, gen: g.id, limit }) as ChunkRow[];
      exhausted = rows.length < limit && k >= c.chunkCount(g);
    }
    if (rows.length >= limit || exhausted) return rows;
    // The KNN window cannot grow past sqlite-vec's limit: finish with an
    // exact scan over the float vectors, still filtered by the same
    // freshness predicate.
    if (k >= VEC_MAX_K) return exact();
    k = Math.min(maxK, k * 4);
  }
}

/**
 * A filtered search from memory (`GenerationIndex.candidatesWhere`): the
 * chunks in score order are checked against the filter and the freshness
 * predicate in SQL, a window at a time; null when the filter keeps so few
 * rows that listing them is cheaper.
 */
function filteredRows(
  c: SqliteContext,
  g: GenRow,
  index: GenerationIndex,
  query: Float32Array,
  where: string,
  fp: readonly SqliteValue[],
  limit: number,
): ChunkRow[] | null {
  const key = (name: string) => ({ name, gen: g.id, filter: where });
  const check = c.stmt(key('keep'), () => keepSql(c, where)).pluck();
  const keep = (ids: readonly number[]) =>
    new Set(check.all(...fp, { ids: JSON.stringify(ids), gen: g.id }) as number[]);
  // Checking a row costs a few microseconds; listing the matching rows
  // costs a pass over the documents table.
  const budget = Math.max(1024, index.size / 32);
  // The rows found already passed the filter and the freshness predicate,
  // so `limit` of them is enough unless a write lands in between.
  return widen(c, g, where, fp, limit, limit, (k) =>
    index.candidatesWhere!(query, k, keep, budget),
  );
}

/**
 * Ranked candidates joined back to fresh, matching rows, the window `k`
 * widening four-fold while rows are missing and candidates remain; null
 * when `ranked` gives up.
 */
function widen(
  c: SqliteContext,
  g: GenRow,
  where: string,
  fp: readonly SqliteValue[],
  limit: number,
  k: number,
  ranked: (k: number) => Candidate[] | null,
): ChunkRow[] | null {
  const rerank = c.keyStmt({ name: 'rerank', gen: g.id, filter: where }, () => rerankSql(c, where));
  for (;;) {
    const found = ranked(k);
    if (!found) return null;
    const rows = rerank.all(...fp, {
      ranked: JSON.stringify(found),
      gen: g.id,
      limit,
    }) as ChunkRow[];
    if (rows.length >= limit || found.length < k) return rows;
    k *= 4;
  }
}

/**
 * A filtered search over few rows, from memory: the chunks of the fresh,
 * matching documents (found in SQL, no vector read), scored by the index.
 */
function memoryRows(
  c: SqliteContext,
  g: GenRow,
  index: GenerationIndex,
  query: Float32Array,
  where: string,
  fp: readonly SqliteValue[],
  limit: number,
  k: number,
): ChunkRow[] {
  const key = (name: string) => ({ name, gen: g.id, filter: where });
  const among = c
    .stmt(key('among'), () => amongSql(c, where))
    .pluck()
    .all(...fp, { gen: g.id }) as number[];
  return widen(c, g, where, fp, limit, k, (n) => index.candidates(query, n, among)) ?? [];
}

/** The share of the documents table a filter keeps (0 to 1). */
function filterShare(c: SqliteContext, where: string, fp: readonly SqliteValue[]): number {
  const row = c
    .stmt({ name: 'share', filter: where }, () => filterShareSql(c, where))
    .get(...fp) as {
    kept: number;
    total: number;
  };
  return row.total === 0 ? 0 : row.kept / row.total;
}
