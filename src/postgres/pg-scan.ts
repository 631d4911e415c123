import type { Pending, Revision } from '../core/index.js';
import { expireLeasesSql, POSTGRES, pendingSql, takeLeaseSql } from '../sql/index.js';
import type { PgQueryable } from './pg-client.js';
import { type GenRow, liveGenRow, type PgContext } from './pg-context.js';
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
  if (leaseMs === undefined) return scan(ctx, ctx.client, g, limit);
  return ctx.tx(async (tx) => {
    const now = Date.now();
    // One leaser at a time per generation, so two workers never lease the same rows.
    await ctx.sql((p) => `SELECT pg_advisory_xact_lock(${p.slot('gen')})`, { gen: g.id }, tx);
    await ctx.sql((p) => expireLeasesSql(ctx.t, p), { now }, tx);
    const rows = await scan(ctx, tx, g, limit, now);
    const expires = now + leaseMs;
    for (const r of rows) {
      await ctx.sql(
        (p) => takeLeaseSql(ctx.t, p),
        { gen: g.id, doc: r.doc, owner: ctx.owner, expires, now },
        tx,
      );
    }
    return rows;
  });
}

/**
 * One page of the pending scan (the shared `pendingSql` and `ScanCursor`):
 * the rows after the cursor, then, if that page falls short, from the start
 * of the key order. `now` given, rows another worker leases are passed over.
 */
async function scan(
  ctx: PgContext,
  via: PgQueryable,
  g: GenRow,
  limit: number,
  now?: number,
): Promise<Pending<PgKey>[]> {
  const leased = now !== undefined;
  const values = { gen: g.id, limit, ...(leased ? { owner: ctx.owner, now } : {}) };
  const page = (after: PgKey | undefined) =>
    ctx
      .sql(
        (p) => pendingSql(ctx.t, POSTGRES, p, { after: after !== undefined, leased }),
        after === undefined ? values : { ...values, after },
        via,
      )
      .then((rows) => rows as unknown as Pending<PgKey>[]);
  const after = ctx.cursor.after(g.id);
  const afterRows = after === undefined ? [] : await page(after);
  // The head is read only when the rows after the cursor fall short.
  const head = afterRows.length < limit ? await page(undefined) : [];
  const rows = ctx.cursor.merge(g.id, afterRows, () => head, limit);
  return rows.map((r) => {
    const p: Pending<PgKey> = { doc: r.doc, content: r.content == null ? '' : String(r.content) };
    if (ctx.schema.revision) p.revision = (r.revision ?? null) as Revision;
    return p;
  });
}
