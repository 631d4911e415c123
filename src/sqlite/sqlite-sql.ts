import { coveredSql, SQLITE, type SqlNames } from '../sql/index.js';
import type { Tables } from './sqlite-context.js';

/**
 * The SQLite store's own SQL text (what is not shared with Postgres): pure
 * functions of the validated names, so tests can EXPLAIN exactly what the
 * store runs. `where` is the caller's filter as `' AND (…)'` (or `''`),
 * over the documents table aliased `d`, with its `?` parameters bound first.
 */
export interface SearchNames {
  t: Tables;
  n: SqlNames;
}

/**
 * Joins nearest chunks (`knnSource` yields `id, distance`) back to live,
 * freshly stamped rows: the KNN runs once, materialized, before the joins.
 * Parameters: `knnSource`'s, then the filter's, then `@gen`, `@limit`.
 */
export function joinSql({ t, n }: SearchNames, knnSource: string, where: string): string {
  return `WITH knn AS MATERIALIZED (
        ${knnSource}
      )
      SELECT c.doc AS doc, c.chunk_index AS chunkIndex, c.start AS start, c."end" AS "end", knn.distance AS distance
      FROM knn
      JOIN ${t.chunks} c ON c.id = knn.id
      JOIN ${t.docs} d ON d.${n.id} = c.doc
      LEFT JOIN ${t.stamps} s ON s.gen = @gen AND s.doc = d.${n.id}
      WHERE ${coveredSql(n, SQLITE)}${where}
      ORDER BY knn.distance
      LIMIT @limit`;
}

/** The search plan over a float generation's vec0 table: sqlite-vec's KNN (`@query`, `@k`), then the joins. */
export function knnSql(names: SearchNames, gen: number, where: string): string {
  return joinSql(
    names,
    `SELECT rowid AS id, distance FROM ${names.t.vec(gen)} WHERE embedding MATCH @query AND k = @k`,
    where,
  );
}

/**
 * The join back for ranked candidates: of the chunk ids `@ids` (a JSON
 * array, best first), those of live, freshly stamped rows passing the
 * filter, each with its place in the array (`rank`, 0-based). The caller
 * puts the distances back and orders and cuts the rows: plain ids and no
 * ORDER BY cost about half of joining `[id, distance]` pairs and sorting
 * them in SQL (20 candidates: ~140 → ~70 µs of CPU).
 */
export function rerankSql({ t, n }: SearchNames, where: string): string {
  return `SELECT j.key AS rank, c.doc AS doc, c.chunk_index AS chunkIndex, c.start AS start, c."end" AS "end"
      FROM json_each(@ids) j
      CROSS JOIN ${t.chunks} c ON c.id = j.value
      JOIN ${t.docs} d ON d.${n.id} = c.doc
      LEFT JOIN ${t.stamps} s ON s.gen = @gen AND s.doc = d.${n.id}
      WHERE ${coveredSql(n, SQLITE)}${where}`;
}

/**
 * Exact nearest chunks: every live, fresh, matching chunk scored against
 * `@query`, best first. Driven from the documents table, in this order
 * (CROSS JOIN fixes it): the filter and the freshness predicate prune rows
 * before any vector is read, and each vector is fetched by its id.
 */
export function exactSql(
  { t, n }: SearchNames,
  floats: { table: string; id: string; column: string },
  where: string,
): string {
  return `SELECT c.doc AS doc, c.chunk_index AS chunkIndex, c.start AS start, c."end" AS "end",
        vec_distance_cosine(v.${floats.column}, @query) AS distance
      FROM ${t.docs} d
      CROSS JOIN ${t.stamps} s ON s.gen = @gen AND s.doc = d.${n.id}
      CROSS JOIN ${t.chunks} c ON c.gen = @gen AND c.doc = d.${n.id}
      CROSS JOIN ${floats.table} v ON v.${floats.id} = c.id
      WHERE ${coveredSql(n, SQLITE)}${where}
      ORDER BY distance
      LIMIT @limit`;
}

/** The chunk ids of the fresh, matching documents of `@gen` (a filtered search scored in memory). */
export function amongSql({ t, n }: SearchNames, where: string): string {
  return `SELECT c.id FROM ${t.docs} d
        CROSS JOIN ${t.stamps} s ON s.gen = @gen AND s.doc = d.${n.id}
        CROSS JOIN ${t.chunks} c ON c.gen = @gen AND c.doc = d.${n.id}
        WHERE ${coveredSql(n, SQLITE)}${where}`;
}

/**
 * Which of the chunk ids `@ids` (a JSON array) belong to fresh documents of
 * `@gen` that pass the filter: the check of a filtered search from memory.
 */
export function keepSql({ t, n }: SearchNames, where: string): string {
  return `SELECT c.id FROM json_each(@ids) j
        CROSS JOIN ${t.chunks} c ON c.id = j.value
        CROSS JOIN ${t.docs} d ON d.${n.id} = c.doc
        LEFT JOIN ${t.stamps} s ON s.gen = @gen AND s.doc = d.${n.id}
        WHERE ${coveredSql(n, SQLITE)}${where}`;
}

/** How many documents a filter keeps (`kept`) of how many (`total`). */
export function filterShareSql({ t }: SearchNames, where: string): string {
  return `SELECT (SELECT count(*) FROM ${t.docs} d WHERE 1${where}) AS kept, (SELECT count(*) FROM ${t.docs}) AS total`;
}

/**
 * Full-text matches (`@match`) ranked first (materialized, `@window` of
 * them), then only those joined back, in that order (CROSS JOIN fixes
 * SQLite's join order: left alone, it may scan every stamp of the
 * generation first), keeping fresh, embedded, matching documents.
 */
export function textDocsSql({ t, n }: SearchNames, where: string): string {
  return `WITH m AS MATERIALIZED (
           SELECT rowid AS id, rank FROM ${t.fts} WHERE ${t.fts} MATCH @match ORDER BY rank LIMIT @window
         )
         SELECT k.doc FROM m
         CROSS JOIN ${t.keys} k ON k.id = m.id
         CROSS JOIN ${t.docs} d ON d.${n.id} = k.doc
         CROSS JOIN ${t.stamps} s ON s.gen = @gen AND s.doc = d.${n.id}
         WHERE ${coveredSql(n, SQLITE)} AND s.chunks > 0${where}
         ORDER BY m.rank
         LIMIT @limit`;
}

/**
 * A save's one lookup of its document (`@doc`): does the row exist, is its
 * key unique (`LIMIT 2`), is its revision the one scanned (`@revision`,
 * NULL-safe), and its invalidation column.
 */
export function docRowSql({ t, n }: SearchNames): string {
  return `SELECT d.${n.id} AS id${n.embedGen ? `, d.${n.embedGen} AS embed_gen` : ''}${
    n.revision ? `, ${SQLITE.same(n.revision('d'), '@revision')} AS same` : ''
  } FROM ${t.docs} d WHERE d.${n.id} = @doc LIMIT 2`;
}

/**
 * The incremental prune's look at the next `@budget` stamps of `@gen`
 * (after `@after`): the documents among them whose row is gone (`seen`
 * null), then one last row with the window's last document and its size
 * (`seen`). Only that much comes back to JavaScript, not a row per stamp.
 */
export function pruneProbeSql({ t, n }: SearchNames, after: boolean): string {
  return `WITH w AS MATERIALIZED (
         SELECT st.doc AS doc FROM ${t.stamps} st
         WHERE st.gen = @gen${after ? ' AND st.doc > @after' : ''} ORDER BY st.doc LIMIT @budget
       )
       SELECT doc, NULL AS seen FROM w WHERE NOT EXISTS (SELECT 1 FROM ${t.docs} d WHERE d.${n.id} = w.doc)
       UNION ALL
       SELECT (SELECT doc FROM w ORDER BY doc DESC LIMIT 1), (SELECT count(*) FROM w)`;
}
