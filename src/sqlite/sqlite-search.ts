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
  // Only the caller's filter is SQL the store did not write: without one,
  // the search runs the store's own reads and needs no guard (three pragma
  // statements, ~20 µs).
  const guard = opts.filter ? readOnly : <T>(_: SqliteContext, fn: () => T) => fn();
  return guard(c, () => {
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

/** One search of one generation: what every step of it needs. */
interface Search {
  c: SqliteContext;
  g: GenRow;
  query: Float32Array;
  limit: number;
  /** The caller's filter as `' AND (…)'`, or `''`. */
  where: string;
  /** Its parameters, bound before the store's named values. */
  fp: readonly SqliteValue[];
}

/** The cache key of a statement of this search (its generation and filter text). */
function stmtKey(s: Search, name: string) {
  return { name, gen: s.g.id, filter: s.where };
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
  const s: Search = { c, g, query, limit, where: filterClause(filter), fp: filter?.params ?? [] };
  const stored = storedIndex(c, g);
  const over = stored.oversample;
  const index = c.scans.fresh(g, stored.source());
  // An in-memory index has no window limit; sqlite-vec's KNN has VEC_MAX_K.
  const maxK = index ? Number.MAX_SAFE_INTEGER : VEC_MAX_K;
  let k = Math.min(maxK, Math.max(limit * over, 16));
  const exact = () =>
    c
      .keyStmt(stmtKey(s, 'exact'), () => exactSql(c, stored.floats, s.where))
      .all(...s.fp, { query: f32(query), gen: g.id, limit }) as ChunkRow[];
  if (filter && index?.candidatesWhere) {
    // From memory: one scan, then the rows in score order through the
    // filter in SQL until enough pass; a filter that keeps very few rows
    // is answered by listing them.
    return filteredRows(s, index) ?? memoryRows(s, index, k);
  }
  if (filter) {
    // Size the search by the filter's selectivity. A KNN reads every
    // vector whatever k is, so when few rows match, scoring just those
    // rows is cheaper than widening the window round after round
    // (measured at 100k × 384: 1 % of rows, 13 ms vs 381 ms; 10 %, 58 ms
    // vs 161 ms).
    const share = filterShare(s);
    if (share === 0) return [];
    if (index && share <= MEMORY_FILTER_SHARE) return memoryRows(s, index, k);
    if (!index && share <= FILTER_SCAN_SHARE) return exact();
    k = Math.min(maxK, Math.max(k, Math.ceil((limit * over) / share)));
  }
  // A binary generation has no KNN table: over the memory cap it is scanned exactly.
  if (!index && stored.knn === 'exact') return exact();
  if (index || stored.knn === 'candidates') {
    // Candidates ranked in memory (or by sqlite-vec over int8 codes), joined
    // back; past sqlite-vec's window the exact scan finishes, as below.
    const ranked = (n: number) =>
      index ? index.candidates(query, n) : stored.candidates(query, n);
    const rows = widen(s, k, ranked, { cap: VEC_MAX_K, maxK });
    return rows ?? exact();
  }
  for (;;) {
    const rows = c
      .keyStmt(stmtKey(s, 'knn'), () => knnSql(c, g.id, s.where))
      .all(...s.fp, { query: f32(query), k, gen: g.id, limit }) as ChunkRow[];
    if (rows.length >= limit || k >= c.chunkCount(g)) return rows;
    // The KNN window cannot grow past sqlite-vec's limit: finish with an
    // exact scan over the float vectors, still filtered by the same
    // freshness predicate.
    if (k >= VEC_MAX_K) return exact();
    k = Math.min(VEC_MAX_K, k * 4);
  }
}

/**
 * A filtered search from memory (`GenerationIndex.candidatesWhere`): the
 * chunks in score order are checked against the filter and the freshness
 * predicate in SQL, a window at a time; null when the filter keeps so few
 * rows that listing them is cheaper.
 */
function filteredRows(s: Search, index: GenerationIndex): ChunkRow[] | null {
  const check = s.c.stmt(stmtKey(s, 'keep'), () => keepSql(s.c, s.where)).pluck();
  const keep = (ids: readonly number[]) =>
    new Set(check.all(...s.fp, { ids: JSON.stringify(ids), gen: s.g.id }) as number[]);
  // Checking a row costs a few microseconds; listing the matching rows
  // costs a pass over the documents table.
  const budget = Math.max(1024, index.size / 32);
  // The rows found already passed the filter and the freshness predicate,
  // so `limit` of them is enough unless a write lands in between.
  return widen(s, s.limit, (k) => index.candidatesWhere!(s.query, k, keep, budget));
}

/**
 * Ranked candidates joined back to fresh, matching rows, the window `k`
 * widening four-fold (up to `maxK`) while rows are missing and candidates
 * remain. Null when `ranked` gives up (returns null), or when a window of
 * `cap` or more still fell short.
 */
function widen(
  s: Search,
  k: number,
  ranked: (k: number) => readonly Candidate[] | null,
  limits: { cap: number; maxK: number } = { cap: Infinity, maxK: Infinity },
): ChunkRow[] | null {
  const rerank = s.c.keyStmt(stmtKey(s, 'rerank'), () => rerankSql(s.c, s.where));
  for (;;) {
    const found = ranked(k);
    if (!found) return null;
    const values = { ids: JSON.stringify(found.map(([id]) => id)), gen: s.g.id };
    const joined = rerank.all(...s.fp, values) as (ChunkRow & { rank: bigint })[];
    for (const r of joined) r.distance = found[Number(r.rank)]![1];
    const rows = joined
      .sort((a, b) => Number(a.distance) - Number(b.distance) || Number(a.rank - b.rank))
      .slice(0, s.limit);
    if (rows.length >= s.limit || found.length < k) return rows;
    if (k >= limits.cap) return null;
    k = Math.min(limits.maxK, k * 4);
  }
}

/**
 * A filtered search over few rows, from memory: the chunks of the fresh,
 * matching documents (found in SQL, no vector read), scored by the index.
 */
function memoryRows(s: Search, index: GenerationIndex, k: number): ChunkRow[] {
  const among = s.c
    .stmt(stmtKey(s, 'among'), () => amongSql(s.c, s.where))
    .pluck()
    .all(...s.fp, { gen: s.g.id }) as number[];
  return widen(s, k, (n) => index.candidates(s.query, n, among)) ?? [];
}

/** The share of the documents table a filter keeps (0 to 1). */
function filterShare(s: Search): number {
  const row = s.c
    .stmt({ name: 'share', filter: s.where }, () => filterShareSql(s.c, s.where))
    .get(...s.fp) as { kept: number; total: number };
  return row.total === 0 ? 0 : row.kept / row.total;
}
