import type { Coverage } from '../core/index.js';
import type { Dialect, Slots } from './dialect.js';
import { coveredSql } from './freshness.js';
import type { SqlNames } from './names.js';

/** Every document against its stamp of one generation. Slot `gen`. */
function stampedDocs(names: SqlNames, p: Slots, join: 'LEFT JOIN' | 'JOIN'): string {
  return `FROM ${names.docs} d ${join} ${names.stamps} s ON s.gen = ${p.slot('gen')} AND s.doc = d.${names.id}`;
}

/** Counts `total, embedded, skipped` (integers in both dialects) by the freshness predicate. Slot `gen`. */
export function coverageSql(names: SqlNames, dialect: Dialect, p: Slots): string {
  const covered = coveredSql(names, dialect);
  return `SELECT CAST(count(*) AS INTEGER) AS total,
           CAST(coalesce(sum(CASE WHEN ${covered} AND s.chunks > 0 THEN 1 ELSE 0 END), 0) AS INTEGER) AS embedded,
           CAST(coalesce(sum(CASE WHEN ${covered} AND s.chunks = 0 THEN 1 ELSE 0 END), 0) AS INTEGER) AS skipped
         ${stampedDocs(names, p, 'LEFT JOIN')}`;
}

/** The coverage a `coverageSql` row says; a reclaimed generation covers nothing. */
export function coverageOf(
  row: { total: unknown; embedded: unknown; skipped: unknown },
  reclaimed: boolean,
): Coverage {
  const total = Number(row.total);
  if (reclaimed) return { embedded: 0, skipped: 0, backlog: total };
  const embedded = Number(row.embedded);
  const skipped = Number(row.skipped);
  return { embedded, skipped, backlog: total - embedded - skipped };
}

/** Current skip stamps by reason (`reason, documents`), most frequent first. Slot `gen`. */
export function skipReasonsSql(names: SqlNames, dialect: Dialect, p: Slots): string {
  return `SELECT s.reason AS reason, CAST(count(*) AS INTEGER) AS documents
         ${stampedDocs(names, p, 'JOIN')}
         WHERE ${coveredSql(names, dialect)} AND s.chunks = 0 AND s.reason IS NOT NULL
         GROUP BY s.reason ORDER BY documents DESC, s.reason`;
}

/** Chunks the encoder rejected in current stamps (one column). Slot `gen`. */
export function skippedChunksSql(names: SqlNames, dialect: Dialect, p: Slots): string {
  return `SELECT CAST(coalesce(sum(s.skipped_chunks), 0) AS INTEGER) AS n
         ${stampedDocs(names, p, 'JOIN')}
         WHERE ${coveredSql(names, dialect)}`;
}

/** Forgets one generation's skip stamps so the next fill retries them. Slot `gen`. */
export function resetSkippedSql(names: SqlNames, p: Slots): string {
  return `DELETE FROM ${names.stamps} WHERE gen = ${p.slot('gen')} AND chunks = 0`;
}

/** Documents with stamps or chunks whose rows are gone (deleted outside vecfill); one column `doc`. */
export function orphanDocsSql(names: SqlNames): string {
  const gone = (alias: string) =>
    `NOT EXISTS (SELECT 1 FROM ${names.docs} d WHERE d.${names.id} = ${alias}.doc)`;
  return `SELECT DISTINCT st.doc AS doc FROM ${names.stamps} st WHERE ${gone('st')}
         UNION SELECT DISTINCT c.doc AS doc FROM ${names.chunks} c WHERE ${gone('c')}`;
}

/** Chunks of one generation (one column). Slot `gen`. */
export function chunkCountSql(names: SqlNames, p: Slots): string {
  return `SELECT CAST(count(*) AS INTEGER) AS n FROM ${names.chunks} WHERE gen = ${p.slot('gen')}`;
}
