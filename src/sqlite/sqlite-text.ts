import { type Hit, type QueryOptions, VecfillError } from '../core/index.js';
import { fuseHybrid } from '../core/merge.js';
import { checkQuery, filterClause } from '../sql/index.js';
import { ftsMatch, ftsTerms } from './full-text.js';
import {
  type GenRow,
  keyOf,
  type SqliteContext,
  type SqliteFilter,
  type SqliteKey,
} from './sqlite-context.js';
import { textDocsSql } from './sqlite-sql.js';

/** How the full-text index tokenizes: Unicode words, accents folded (café = cafe). */
const TOKENIZE = `tokenize = 'unicode61 remove_diacritics 2'`;

/**
 * Creates the full-text index: a contentless FTS5 table. It keeps only the
 * index (terms, positions, document lengths for BM25), not a copy of the
 * text — the documents table already holds it, and search shows passages
 * from there — so the text is stored once (an FTS5 table with content kept
 * a second full copy: 26.3 MiB next to 26.6 MiB of documents on a folder of
 * 1,000 READMEs). `contentless_delete` lets a document's row be replaced
 * and removed. A table made by an older version, with content, is rebuilt
 * contentless once, from the rows it holds, in one transaction.
 */
export function createTextIndex(c: SqliteContext): void {
  const { t } = c;
  const contentless = `fts5(body, content = '', contentless_delete = 1, ${TOKENIZE})`;
  const sql = c.db
    .prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?")
    .pluck()
    .get(t.fts) as string | undefined;
  if (sql !== undefined && !/content\s*=\s*''/.test(sql)) {
    c.db
      .transaction(() => {
        c.db.exec(`
          CREATE VIRTUAL TABLE ${t.fts}_next USING ${contentless};
          INSERT INTO ${t.fts}_next (rowid, body) SELECT rowid, body FROM ${t.fts};
          DROP TABLE IF EXISTS ${t.fts}_vocab;
          DROP TABLE ${t.fts};
          ALTER TABLE ${t.fts}_next RENAME TO ${t.fts};
        `);
      })
      .immediate();
  }
  c.db.exec(`
    CREATE VIRTUAL TABLE IF NOT EXISTS ${t.fts} USING ${contentless};
    CREATE VIRTUAL TABLE IF NOT EXISTS ${t.fts}_vocab USING fts5vocab(${t.fts}, 'row');
  `);
}

/**
 * Replaces the document's full-text row with its current content. One row
 * per document, shared by every generation: it is removed only with the
 * document (`deleteVectors`, `prune`), never by one generation's decision.
 */
export function indexText(c: SqliteContext, key: SqliteKey): void {
  const { t, n } = c;
  c.stmt('keyIns', () => `INSERT INTO ${t.keys} (doc) VALUES (?) ON CONFLICT (doc) DO NOTHING`).run(
    key,
  );
  const id = c
    .stmt('keyId', () => `SELECT id FROM ${t.keys} WHERE doc = ?`)
    .pluck()
    .get(key) as number;
  c.stmt('ftsDel', () => `DELETE FROM ${t.fts} WHERE rowid = ?`).run(id);
  // Written from the documents table inside the save's transaction: the
  // text indexed is the verified content, never a caller's copy of it.
  c.stmt(
    'ftsIns',
    () =>
      `INSERT INTO ${t.fts} (rowid, body) SELECT ?, d.${n.content} FROM ${t.docs} d WHERE d.${n.id} = ?`,
  ).run(id, key);
}

/** Removes a document's full-text row (the document is gone). */
export function forgetText(c: SqliteContext, doc: SqliteKey): void {
  const { t } = c;
  const id = c
    .stmt('keyId', () => `SELECT id FROM ${t.keys} WHERE doc = ?`)
    .pluck()
    .get(doc) as number | undefined;
  if (id === undefined) return;
  c.stmt('ftsDel', () => `DELETE FROM ${t.fts} WHERE rowid = ?`).run(id);
  c.stmt('keyDel', () => `DELETE FROM ${t.keys} WHERE id = ?`).run(id);
}

/** Moves a document's full-text row to another key (any row `to` had is dropped). */
export function moveText(c: SqliteContext, from: SqliteKey, to: SqliteKey): void {
  forgetText(c, to);
  c.stmt('keyMove', () => `UPDATE ${c.t.keys} SET doc = ? WHERE doc = ?`).run(to, from);
}

/** `SqliteStore.queryFullText`: the full-text side alone, scored as hybrid search scores it. */
export function queryFullText(
  c: SqliteContext,
  gen: string,
  text: string,
  limit: number,
  opts: Omit<QueryOptions<SqliteFilter>, 'text' | 'hybrid'>,
): Hit<SqliteKey>[] {
  const g = c.liveGen(gen);
  checkQuery({ gen, dimensions: g.dimensions, limit, signal: opts.signal });
  if (!c.schema.fullText) {
    // No full-text side: a search must not mistake that for "no match".
    throw new VecfillError(
      'NO_FULL_TEXT',
      'this store was opened with fullText: false, so it has no full-text index to answer a query without a vector',
    );
  }
  return fuseHybrid([], textDocs(c, g, text, limit, opts.filter), limit);
}

/**
 * The full-text query for hybrid search: the query's rare words — those
 * found in at most 5 % of the indexed documents, the 8 rarest — joined
 * with OR. Common words carry little BM25 weight (FTS5's IDF falls to ~0
 * at half the documents) yet make FTS5 score every document containing
 * them: "the" in a natural-language query would score most of the table.
 * The vector side already covers what the text means; the text side is
 * there for rare, exact words (names, codes, jargon). When every word is
 * common, documents must contain all of them (AND), as Lucene's
 * common-terms query does, which keeps the scored set small.
 */
function textQuery(c: SqliteContext, text: string): string | null {
  const terms = ftsTerms(text);
  if (terms.length === 0) return null;
  const { t } = c;
  const total = c
    .stmt('ftsTotal', () => `SELECT count(*) FROM ${t.fts}_docsize`)
    .pluck()
    .get() as number;
  const df = c.stmt('ftsDf', () => `SELECT doc FROM ${t.fts}_vocab WHERE term = ?`).pluck();
  const withDf = terms.map((term) => ({ term, n: (df.get(term) as number | undefined) ?? 0 }));
  withDf.sort((a, b) => a.n - b.n);
  const rare = withDf.filter((x) => x.n * 20 <= total).slice(0, 8);
  if (rare.length > 0) return ftsMatch(rare.map((x) => x.term));
  return ftsMatch(
    withDf.slice(0, 8).map((x) => x.term),
    'AND',
  );
}

/** Up to `want` documents matching `text` in FTS5, best first, fresh for `g` (widening past stale rows). */
export function textDocs(
  c: SqliteContext,
  g: GenRow,
  text: string,
  want: number,
  filter: SqliteFilter | undefined,
): SqliteKey[] {
  const match = textQuery(c, text);
  if (match === null) return [];
  const where = filterClause(filter);
  const fp = filter?.params ?? [];
  // Widen like the vector window when stale, deleted or filtered-out rows take up places.
  const st = c.keyStmt({ name: 'fts', filter: where }, () => textDocsSql(c, where)).pluck();
  const matches = c
    .stmt('ftsCount', () => `SELECT count(*) FROM ${c.t.fts} WHERE ${c.t.fts} MATCH ?`)
    .pluck();
  let total: number | undefined;
  let found: SqliteKey[] = [];
  for (let window = want * 2; ; window *= 4) {
    found = (st.all(...fp, { match, window, gen: g.id, limit: want }) as SqliteKey[]).map(keyOf);
    if (found.length >= want) break;
    total ??= matches.get(match) as number;
    if (window >= total) break;
  }
  return found;
}
