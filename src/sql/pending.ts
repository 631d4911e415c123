import type { Dialect, Slots } from './dialect.js';
import { coveredSql } from './freshness.js';
import type { SqlNames } from './names.js';

/**
 * The pending scan: documents the negated freshness predicate finds for a
 * generation, in key order, optionally skipping documents leased by another
 * worker and optionally continuing after a cursor. Slots: `gen`, `limit`,
 * with `after` the cursor, with `leased` `owner` and `now`.
 */
export function pendingSql(
  names: SqlNames,
  dialect: Dialect,
  p: Slots,
  opts: { after: boolean; leased: boolean },
): string {
  const n = names;
  const rev = n.revision ? `, ${n.revision('d')} AS revision` : '';
  const leased = opts.leased
    ? ` AND NOT EXISTS (SELECT 1 FROM ${n.leases} l WHERE l.gen = ${p.slot('gen')} AND l.doc = d.${n.id} AND l.owner <> ${p.slot('owner')} AND l.expires >= ${p.slot('now')})`
    : '';
  const after = opts.after ? ` AND d.${n.id} > ${p.slot('after')}` : '';
  return `SELECT d.${n.id} AS doc, d.${n.content} AS content${rev}
       FROM ${n.docs} d LEFT JOIN ${n.stamps} s ON s.gen = ${p.slot('gen')} AND s.doc = d.${n.id}
       WHERE NOT ${coveredSql(n, dialect)}${leased}${after}
       ORDER BY d.${n.id} LIMIT ${p.slot('limit')}`;
}

/**
 * Each generation's scan cursor: a page continues after the previous page's
 * last document and wraps around once, since documents before the cursor
 * may have been edited or added since.
 */
export class ScanCursor<K> {
  readonly #after = new Map<number, K>();

  /** Where the next page of `gen` starts (undefined: from the head). */
  after(gen: number): K | undefined {
    return this.#after.get(gen);
  }

  /**
   * The page: the rows after the cursor, then head rows not already in it,
   * up to `limit`; the cursor moves to its last document (or back to the
   * head when the page is empty). `head` is read only when the rows after
   * the cursor fall short (pass a function).
   */
  merge<R extends { doc: K }>(gen: number, afterRows: R[], head: () => R[], limit: number): R[] {
    const rows = afterRows.slice(0, limit);
    if (rows.length < limit) {
      const seen = new Set(rows.map((r) => r.doc));
      for (const r of head()) {
        if (rows.length >= limit) break;
        if (!seen.has(r.doc)) rows.push(r);
      }
    }
    const last = rows.at(-1);
    if (last === undefined) this.#after.delete(gen);
    else this.#after.set(gen, last.doc);
    return rows;
  }

  /** Forgets `gen`'s position (reclaimed). */
  forget(gen: number): void {
    this.#after.delete(gen);
  }
}

/** The lease-taking upsert: a lease is taken only if free, expired, or already ours. Slots `gen, doc, owner, expires, now`. */
export function takeLeaseSql(names: SqlNames, p: Slots): string {
  const l = names.leases;
  return `INSERT INTO ${l} (gen, doc, owner, expires) VALUES (${p.slot('gen')}, ${p.slot('doc')}, ${p.slot('owner')}, ${p.slot('expires')})
             ON CONFLICT (gen, doc) DO UPDATE SET owner = excluded.owner, expires = excluded.expires
             WHERE ${l}.owner = excluded.owner OR ${l}.expires < ${p.slot('now')}`;
}

/** Drops expired leases. Slot `now`. */
export function expireLeasesSql(names: SqlNames, p: Slots): string {
  return `DELETE FROM ${names.leases} WHERE expires < ${p.slot('now')}`;
}

/** Drops every lease of one owner. Slot `owner`. */
export function dropLeasesOfSql(names: SqlNames, p: Slots): string {
  return `DELETE FROM ${names.leases} WHERE owner = ${p.slot('owner')}`;
}

/** The owners holding leases, other than `owner`. Slot `owner`. */
export function leaseOwnersSql(names: SqlNames, p: Slots): string {
  return `SELECT DISTINCT owner FROM ${names.leases} WHERE owner <> ${p.slot('owner')}`;
}

/** Drops the lease on one document of one generation (saved). Slots `gen, doc`. */
export function unleaseSql(names: SqlNames, p: Slots): string {
  return `DELETE FROM ${names.leases} WHERE gen = ${p.slot('gen')} AND doc = ${p.slot('doc')}`;
}
