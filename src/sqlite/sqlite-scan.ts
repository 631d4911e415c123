import { hostname } from 'node:os';
import type { Pending } from '../core/index.js';
import {
  dropLeasesOfSql,
  expireLeasesSql,
  leaseOwnersSql,
  pendingSql,
  SQLITE,
  slots,
  takeLeaseSql,
} from '../sql/index.js';
import { type GenRow, keyOf, type SqliteContext, type SqliteKey } from './sqlite-context.js';

/**
 * `SqliteStore.pendingForGeneration`: documents not covered by `g`, in id
 * order, continuing after the previous page (wrapping once). With
 * `leaseMs` (several workers), the scan is a read that skips documents
 * leased by someone else, so the application's writers never wait for it;
 * then one short write transaction takes the leases, each only if it is
 * free, expired or already ours, so two workers never lease the same
 * document.
 */
export function pending(c: SqliteContext, g: GenRow, limit: number): Pending<SqliteKey>[] {
  const leaseMs = c.schema.leaseMs;
  if (leaseMs === undefined) return scan(c, g, limit);
  const now = Date.now();
  freeDeadLeases(c, now);
  const take = c.stmt('lease', () => takeLeaseSql(c.n, slots(SQLITE)));
  const owner = c.owner;
  // The scan runs in the same write transaction as the lease: read first and
  // lease after, and another worker could lease every row read in between —
  // the page came back empty and that fill ended with thousands pending.
  const run = c.db.transaction(() =>
    scan(c, g, limit, now).filter(
      (r) => take.run({ gen: g.id, doc: r.doc, owner, expires: now + leaseMs, now }).changes > 0,
    ),
  );
  return run.immediate();
}

/** When `freeDeadLeases` last looked, per connection. */
const checkedAt = new WeakMap<SqliteContext, number>();

/**
 * Frees the leases of fillers that are gone: expired ones, and those of a
 * process on this machine that no longer runs (killed, or stopped with a
 * second Ctrl-C), so a rerun takes over their documents at once instead
 * of after the lease time. Checked at most once a second.
 */
function freeDeadLeases(c: SqliteContext, now: number): void {
  if (now - (checkedAt.get(c) ?? 0) < 1000) return;
  checkedAt.set(c, now);
  const owners = c
    .stmt('leaseOwners', () => leaseOwnersSql(c.n, slots(SQLITE)))
    .pluck()
    .all({ owner: c.owner }) as string[];
  const dead = owners.filter((o) => {
    const [host, pid] = o.split('/');
    return host === hostname() && !processRuns(Number(pid));
  });
  c.db
    .transaction(() => {
      c.stmt('leaseExpire', () => expireLeasesSql(c.n, slots(SQLITE))).run({ now });
      const drop = c.stmt('leaseDrop', () => dropLeasesOfSql(c.n, slots(SQLITE)));
      for (const owner of dead) drop.run({ owner });
    })
    .immediate();
}

/** `SqliteStore.releaseLeases`: gives back every lease this store holds. */
export function releaseLeases(c: SqliteContext): number {
  if (c.schema.leaseMs === undefined) return 0;
  return c.stmt('leaseDrop', () => dropLeasesOfSql(c.n, slots(SQLITE))).run({ owner: c.owner })
    .changes;
}

/** The pending scan: the negated freshness predicate, from the cursor on, wrapping once. */
function scan(c: SqliteContext, g: GenRow, limit: number, leasedAt?: number): Pending<SqliteKey>[] {
  const leased = leasedAt !== undefined;
  const values = { gen: g.id, limit, owner: c.owner, now: leasedAt ?? 0 };
  const page = (after: boolean, extra: object = {}) =>
    normalize(
      c
        .keyStmt(`pending${after ? 'After' : 'Head'}${leased ? 'Leased' : ''}`, () =>
          pendingSql(c.n, SQLITE, slots(SQLITE), { after, leased }),
        )
        .all({ ...values, ...extra }) as Pending<SqliteKey>[],
    );
  const after = c.cursor.after(g.id);
  const rows = c.cursor.merge(
    g.id,
    after === undefined ? [] : page(true, { after }),
    () => page(false),
    limit,
  );
  for (const r of rows) r.content = textOf(r.content);
  return rows;
}

/** A page of pending rows with keys and revisions as the store hands them out (`keyOf`). */
function normalize(page: Pending<SqliteKey>[]): Pending<SqliteKey>[] {
  for (const r of page) {
    r.doc = keyOf(r.doc);
    if (r.revision !== undefined) r.revision = keyOf(r.revision);
  }
  return page;
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (Buffer.isBuffer(content)) return content.toString('utf8');
  return String(content);
}

/** Whether process `pid` runs on this machine (a process of another user counts). */
function processRuns(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
