import type { Hit, QueryOptions } from '../core/index.js';
import { fuseHybrid } from '../core/merge.js';
import { checkQuery, coveredSql, filterClause, POSTGRES } from '../sql/index.js';
import type { PgQueryable } from './pg-client.js';
import { type GenRow, liveGenRow, type PgContext } from './pg-context.js';
import type { PgFilter, PgKey } from './pg-types.js';

/**
 * The full-text side alone, for a query the generation's encoder cannot
 * embed (a word its vocabulary lacks, an identifier) or cannot reach:
 * documents ranked by Postgres full-text search, only from existing rows
 * with a current stamp of `gen`, scored as hybrid search scores a
 * full-text-only match.
 */
export async function queryFullText(
  ctx: PgContext,
  gen: string,
  text: string,
  limit: number,
  opts: Omit<QueryOptions<PgFilter>, 'text' | 'hybrid'> = {},
): Promise<Hit<PgKey>[]> {
  const g = await liveGenRow(ctx, gen);
  checkQuery({ gen, dimensions: g.dimensions, limit, signal: opts.signal });
  return ctx.tx(
    async (tx) => fuseHybrid([], await textDocs(ctx, tx, g, text, limit, opts.filter), limit),
    { readOnly: true },
  );
}

/**
 * Up to `want` documents matching `text`, best first, fresh for `g` and
 * embedded (skipped documents have no vectors to fuse with). The documents'
 * `tsvector` is computed in the query with the schema's text search
 * configuration.
 */
export async function textDocs(
  ctx: PgContext,
  tx: PgQueryable,
  g: GenRow,
  text: string,
  want: number,
  filter: PgFilter | undefined,
): Promise<PgKey[]> {
  // PostgreSQL text cannot hold NUL; a query containing one searches as if it were a space.
  const words = text.replaceAll('\0', ' ');
  if (!words.trim()) return [];
  const { schema: s, t } = ctx;
  const tsvector = `to_tsvector('${s.tsConfig}', d.${t.content})`;
  const rows = await ctx.sql(
    (p) => {
      const tsquery = `plainto_tsquery('${s.tsConfig}', ${p.slot('words')})`;
      return `SELECT d.${t.id} AS doc FROM ${t.docs} d
       JOIN ${t.stamps} s ON s.gen = ${p.slot('gen')} AND s.doc = d.${t.id}
       WHERE ${tsvector} @@ ${tsquery} AND ${coveredSql(t, POSTGRES)} AND s.chunks > 0${filterClause(filter)}
       ORDER BY ts_rank(${tsvector}, ${tsquery}) DESC
       LIMIT ${p.slot('want')}`;
    },
    { gen: g.id, words, want },
    tx,
    filter?.params,
  );
  return rows.map((r) => r.doc as PgKey);
}
