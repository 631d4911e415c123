import { fuseHybrid, type Hit, type QueryOptions } from '../core/index.js';
import { PgBinds } from './pg-binds.js';
import type { PgQueryable } from './pg-client.js';
import { type GenRow, liveGenRow, type PgContext } from './pg-context.js';
import { coveredPg } from './pg-schema.js';
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
  if (!Number.isSafeInteger(limit) || limit < 1)
    throw new RangeError(`limit must be a positive integer, got ${limit}`);
  opts.signal?.throwIfAborted();
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
  const b = new PgBinds(filter);
  const gen = b.add(g.id);
  const tsquery = `plainto_tsquery('${s.tsConfig}', ${b.add(words)})`;
  const tsvector = `to_tsvector('${s.tsConfig}', d.${s.content})`;
  const rows = await ctx.q(
    `SELECT d.${s.id} AS doc FROM ${s.docs} d
     JOIN ${t.stamps} s ON s.gen = ${gen} AND s.doc = d.${s.id}
     WHERE ${tsvector} @@ ${tsquery} AND ${coveredPg(s)} AND s.chunks > 0${b.where}
     ORDER BY ts_rank(${tsvector}, ${tsquery}) DESC
     LIMIT ${b.add(want)}`,
    b.values,
    tx,
  );
  return rows.map((r) => r.doc as PgKey);
}
