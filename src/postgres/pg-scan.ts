import type { Pending, Revision } from '../core/index.js';
import type { PgQueryable } from './pg-client.js';
import { type GenRow, liveGenRow, type PgContext } from './pg-context.js';
import { coveredPg, revisionPg } from './pg-schema.js';
import type { PgKey } from './pg-types.js';

/**
 * The next `limit` pending documents of `gen`, in key order from where the
 * last scan stopped. With `leaseMs`, the rows are leased to this process in
 * the same transaction, and rows another live lease holds are passed over.
 */
export async function pending(
  ctx: PgContext,
  gen: string,
  limit: number,
): Promise<Pending<PgKey>[]> {
  const g = await liveGenRow(ctx, gen);
  const leaseMs = ctx.schema.leaseMs;
  if (leaseMs === undefined) return scan(ctx, ctx.client, g, limit, false);
  return ctx.tx(async (tx) => {
    const now = Date.now();
    const t = ctx.t;
    // One leaser at a time per generation, so two workers never lease the same rows.
    await ctx.q('SELECT pg_advisory_xact_lock($1)', [g.id], tx);
    await ctx.q(`DELETE FROM ${t.leases} WHERE expires < $1`, [now], tx);
    const rows = await scan(ctx, tx, g, limit, true, now);
    for (const r of rows) {
      await ctx.q(
        `INSERT INTO ${t.leases} (gen, doc, owner, expires) VALUES ($1, $2, $3, $4)
         ON CONFLICT (gen, doc) DO UPDATE SET owner = excluded.owner, expires = excluded.expires`,
        [g.id, r.doc, ctx.owner, now + leaseMs],
        tx,
      );
    }
    return rows;
  });
}

/**
 * One page of the pending scan: first the rows after the cursor, then, if
 * that page falls short, from the start of the key order (a row edited
 * behind the cursor is found on the next lap without a full rescan).
 */
async function scan(
  ctx: PgContext,
  via: PgQueryable,
  g: GenRow,
  limit: number,
  leased: boolean,
  now = 0,
): Promise<Pending<PgKey>[]> {
  const { schema: s, t } = ctx;
  const rev = s.revision ? `, ${revisionPg(s)} AS revision` : '';
  const params: unknown[] = [g.id];
  let leaseSql = '';
  if (leased) {
    params.push(ctx.owner, now);
    leaseSql = ` AND NOT EXISTS (SELECT 1 FROM ${t.leases} l WHERE l.gen = $1 AND l.doc = d.${s.id} AND l.owner <> $2 AND l.expires >= $3)`;
  }
  const sql = (after: boolean) =>
    `SELECT d.${s.id} AS doc, d.${s.content} AS content${rev}
     FROM ${s.docs} d LEFT JOIN ${t.stamps} s ON s.gen = $1 AND s.doc = d.${s.id}
     WHERE NOT ${coveredPg(s)}${leaseSql}${after ? ` AND d.${s.id} > $${params.length + 1}` : ''}
     ORDER BY d.${s.id} LIMIT $${params.length + (after ? 2 : 1)}`;
  const after = ctx.cursor.get(g.id);
  let rows: Pending<PgKey>[] = [];
  if (after !== undefined)
    rows = (await ctx.q(sql(true), [...params, after, limit], via)) as unknown as Pending<PgKey>[];
  if (rows.length < limit) {
    const head = (await ctx.q(sql(false), [...params, limit], via)) as unknown as Pending<PgKey>[];
    const seen = new Set(rows.map((r) => r.doc));
    for (const r of head) {
      if (rows.length >= limit) break;
      if (!seen.has(r.doc)) rows.push(r);
    }
  }
  const last = rows.at(-1);
  if (last === undefined) ctx.cursor.delete(g.id);
  else ctx.cursor.set(g.id, last.doc);
  return rows.map((r) => {
    const p: Pending<PgKey> = { doc: r.doc, content: r.content == null ? '' : String(r.content) };
    if (s.revision) p.revision = (r.revision ?? null) as Revision;
    return p;
  });
}
