/**
 * The parts of a Postgres client vecfill uses. node-postgres `Pool` and
 * `Client` and PGlite all fit; no driver is imported here.
 */
export interface PgQueryable {
  query(text: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

/** A node-postgres `Pool`: transactions run on a dedicated client taken from it. */
export interface PgPoolLike extends PgQueryable {
  connect(): Promise<PgQueryable & { release(): void }>;
  totalCount: number;
}

/** PGlite: transactions run through its own `transaction(fn)`. */
export interface PgTransactional extends PgQueryable {
  transaction<T>(fn: (tx: PgQueryable) => Promise<T>): Promise<T>;
}

export type PgClient = PgQueryable | PgPoolLike | PgTransactional;

/**
 * Runs `fn` in a transaction on `client`: on a dedicated pooled client for a
 * Pool, through `transaction()` for PGlite, or with BEGIN/COMMIT on a single
 * client (serialized by `lock`, since one connection has one transaction at
 * a time). `readOnly` makes it a READ ONLY transaction that is rolled back at
 * the end (searches: a filter can neither write nor change the session).
 */
export async function inTransaction<T>(
  client: PgClient,
  lock: { tail: Promise<unknown> },
  fn: (tx: PgQueryable) => Promise<T>,
  opts: { readOnly?: boolean } = {},
): Promise<T> {
  if ('transaction' in client && typeof client.transaction === 'function') {
    return (client as PgTransactional).transaction(async (tx) => {
      if (!opts.readOnly) return fn(tx);
      await tx.query('SET TRANSACTION READ ONLY');
      const out = await fn(tx);
      await (tx as PgQueryable & { rollback?: () => Promise<void> }).rollback?.();
      return out;
    });
  }
  if ('totalCount' in client && typeof (client as PgPoolLike).connect === 'function') {
    const conn = await (client as PgPoolLike).connect();
    try {
      return await run(conn, fn, opts.readOnly);
    } finally {
      conn.release();
    }
  }
  const previous = lock.tail;
  let release!: () => void;
  lock.tail = new Promise<void>((r) => {
    release = r;
  });
  await previous.catch(() => {});
  try {
    return await run(client, fn, opts.readOnly);
  } finally {
    release();
  }
}

/**
 * A read-only transaction always ends with ROLLBACK: it wrote nothing, and a
 * `set_config(…, false)` inside it (from a caller's filter) is undone too, so
 * a pooled connection goes back with the settings it came with.
 */
async function run<T>(
  conn: PgQueryable,
  fn: (tx: PgQueryable) => Promise<T>,
  readOnly = false,
): Promise<T> {
  await conn.query(readOnly ? 'BEGIN READ ONLY' : 'BEGIN');
  try {
    const out = await fn(conn);
    await conn.query(readOnly ? 'ROLLBACK' : 'COMMIT');
    return out;
  } catch (e) {
    await conn.query('ROLLBACK').catch(() => {});
    throw e;
  }
}
