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
 * a time).
 */
export async function inTransaction<T>(
  client: PgClient,
  lock: { tail: Promise<unknown> },
  fn: (tx: PgQueryable) => Promise<T>,
): Promise<T> {
  if ('transaction' in client && typeof client.transaction === 'function') {
    return (client as PgTransactional).transaction(fn);
  }
  if ('totalCount' in client && typeof (client as PgPoolLike).connect === 'function') {
    const conn = await (client as PgPoolLike).connect();
    try {
      return await run(conn, fn);
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
    return await run(client, fn);
  } finally {
    release();
  }
}

async function run<T>(conn: PgQueryable, fn: (tx: PgQueryable) => Promise<T>): Promise<T> {
  await conn.query('BEGIN');
  try {
    const out = await fn(conn);
    await conn.query('COMMIT');
    return out;
  } catch (e) {
    await conn.query('ROLLBACK').catch(() => {});
    throw e;
  }
}
