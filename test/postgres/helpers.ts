import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import pg from 'pg';
import type { PgClient, PgFilter, PgKey, PgQueryable, PgSchema } from '../../src/postgres/index.js';
import { PgStore } from '../../src/postgres/index.js';
import type { Harness } from '../conformance/suite.js';

let counter = 0;

/**
 * A PostgreSQL server to test against (`VECFILL_TEST_PG_URL`, e.g. from
 * `../shared/scripts/pg-test-server.sh start`). Unset, every Postgres test
 * runs on PGlite instead, so `npm test` works on any machine.
 */
export const TEST_PG_URL = process.env.VECFILL_TEST_PG_URL || undefined;

/** The engine the Postgres tests run on, for test names: "PostgreSQL 15.10 server (pgvector 0.8.6)" or "PGlite". */
export const ENGINE: string = TEST_PG_URL ? await describeServer(TEST_PG_URL) : 'PGlite';

/**
 * Further servers (`VECFILL_TEST_PG_EXTRA_URLS`, comma-separated), e.g. one
 * with an older pgvector from `scripts/pg-pgvector-server.sh`: the
 * conformance suite and the index-search tests run on each of them too.
 */
export const EXTRA_PG_URLS: string[] = (process.env.VECFILL_TEST_PG_EXTRA_URLS ?? '')
  .split(',')
  .map((u) => u.trim())
  .filter(Boolean);

/** "PostgreSQL 15.10 server (pgvector 0.7.4)" for a server URL. */
export async function describeServer(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(
      `SELECT current_setting('server_version') AS server,
         (SELECT extversion FROM pg_extension WHERE extname = 'vector') AS vector`,
    );
    const ext = rows[0].vector ?? (await availableVector(client));
    return `PostgreSQL ${String(rows[0].server).split(' ')[0]} server (pgvector ${ext})`;
  } finally {
    await client.end();
  }
}

async function availableVector(client: pg.Client): Promise<string> {
  const { rows } = await client.query(
    `SELECT default_version AS v FROM pg_available_extensions WHERE name = 'vector'`,
  );
  return String(rows[0]?.v ?? 'missing');
}

/** An engine the tests use: a client for the library and a URL for node-postgres and the CLI. */
export interface TestEngine {
  /** What `PgStore` is given: a node-postgres Pool on a server, PGlite itself otherwise. */
  client: PgClient & { query: PgClient['query'] };
  /** A URL to the same database (a server, or PGlite's socket server: one session at a time). */
  url: string;
  /** A real server: several sessions at once, row locks between them. */
  server: boolean;
  close(): Promise<void>;
}

/**
 * Starts the engine for one test file: a Pool on a fresh database of the
 * test server (dropped by `close`), or PGlite with its socket server.
 */
export async function startEngine(
  opts: { password?: string; serverUrl?: string } = {},
): Promise<TestEngine> {
  const serverUrl = opts.serverUrl ?? TEST_PG_URL;
  if (serverUrl) {
    const { url, drop } = await createTestDatabase(opts.password, serverUrl);
    const pool = new pg.Pool({ connectionString: url, max: 8 });
    // Dropping the database ends its sessions; an idle client closing late is not an error.
    pool.on('error', () => {});
    return {
      client: pool,
      url,
      server: true,
      close: async () => {
        await pool.end();
        await drop();
      },
    };
  }
  const db = await startPglite();
  const { socket, port } = await startSocketServer(db, 4);
  const auth = opts.password ? `postgres:${opts.password}` : 'postgres';
  return {
    client: db,
    url: `postgres://${auth}@127.0.0.1:${port}/postgres`,
    server: false,
    close: async () => {
      await socket.stop();
      await db.close();
    },
  };
}

/**
 * A fresh database on the test server with pgvector, and a way to drop it.
 * `password` only decorates the URL (the test server trusts every login).
 */
export async function createTestDatabase(
  password?: string,
  serverUrl = TEST_PG_URL,
): Promise<{ url: string; drop(): Promise<void> }> {
  if (!serverUrl) throw new Error('createTestDatabase needs VECFILL_TEST_PG_URL');
  const name = `vf_test_${process.pid}_${++counter}_${Date.now() % 100_000}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  if (password) u.password = password;
  const url = u.toString();
  const setup = new pg.Client({ connectionString: url });
  await setup.connect();
  await setup.query('CREATE EXTENSION IF NOT EXISTS vector');
  await setup.end();
  return {
    url,
    drop: async () => {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/**
 * PGlite's wire-protocol server on a port the system picks (port 0), so two
 * test files, or two runs on one machine, never race for a port.
 */
export async function startSocketServer(
  db: PGlite,
  maxConnections = 1,
): Promise<{ socket: PGLiteSocketServer; port: number }> {
  const socket = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1', maxConnections });
  await socket.start();
  const port = Number(socket.getServerConn().split(':').at(-1));
  if (!Number.isSafeInteger(port) || port <= 0)
    throw new Error(`PGlite socket server reports no port: ${socket.getServerConn()}`);
  return { socket, port };
}

/** A real Postgres engine with pgvector: PGlite (PostgreSQL in WebAssembly). */
export async function startPglite(): Promise<PGlite> {
  const db = new PGlite({ extensions: { vector } });
  await db.query('CREATE EXTENSION IF NOT EXISTS vector');
  return db;
}

/**
 * The conformance harness over `client`: each harness gets its own Postgres
 * schema, so tests share one engine but never each other's tables.
 */
export async function pgHarness(
  client: PgClient,
  opts: { leaseMs?: number } = {},
): Promise<Harness<PgKey, PgFilter> & { schema: PgSchema; pgStore: PgStore }> {
  const ns = `t${process.pid}_${++counter}`;
  await client.query(`CREATE SCHEMA ${ns}`);
  await client.query(
    `CREATE TABLE ${ns}.docs (id integer PRIMARY KEY, content text NOT NULL, revision integer NOT NULL DEFAULT 1, embed_gen text, category text)`,
  );
  const schema: PgSchema = {
    docsTable: `${ns}.docs`,
    idColumn: 'id',
    contentColumn: 'content',
    revisionColumn: 'revision',
    embedGenColumn: 'embed_gen',
    vectorsPrefix: `${ns}.vf`,
    ...(opts.leaseMs ? { leaseMs: opts.leaseMs } : {}),
  };
  const store = await PgStore.open(client, schema);
  const harness: Harness<PgKey, PgFilter> = {
    store,
    insert: async (id, content, category) => {
      await client.query(`INSERT INTO ${ns}.docs (id, content, category) VALUES ($1, $2, $3)`, [
        id,
        content,
        category ?? null,
      ]);
    },
    update: async (id, content) => {
      await client.query(
        `UPDATE ${ns}.docs SET content = $1, revision = revision + 1 WHERE id = $2`,
        [content, id],
      );
    },
    remove: async (id) => {
      await client.query(`DELETE FROM ${ns}.docs WHERE id = $1`, [id]);
    },
    invalidate: async (id) => {
      await client.query(`UPDATE ${ns}.docs SET embed_gen = NULL WHERE id = $1`, [id]);
    },
    filterCategory: (category) => ({ where: 'd.category = $1', params: [category] }),
    key: (id) => id,
    vectorRows: async (gen) => {
      const { rows } = await client.query(`SELECT id FROM ${ns}.vf_generations WHERE key = $1`, [
        gen,
      ]);
      const id = rows[0]?.id as number | undefined;
      if (id === undefined) return 0;
      const chunks = Number(
        (await client.query(`SELECT count(*)::int AS n FROM ${ns}.vf_chunks WHERE gen = $1`, [id]))
          .rows[0]!.n,
      );
      const exists = (await client.query(`SELECT to_regclass($1) AS r`, [`${ns}.vf_vec_${id}`]))
        .rows[0]!.r;
      const vectors = exists
        ? Number(
            (await client.query(`SELECT count(*)::int AS n FROM ${ns}.vf_vec_${id}`)).rows[0]!.n,
          )
        : 0;
      if (chunks !== vectors)
        throw new Error(`chunk rows (${chunks}) and vectors (${vectors}) disagree`);
      return chunks;
    },
    close: async () => {
      await client.query(`DROP SCHEMA ${ns} CASCADE`);
    },
  };
  return { ...harness, schema, pgStore: store };
}

type PgTestHarness = Awaited<ReturnType<typeof pgHarness>>;

/** Runs `fn` with a fresh harness on `client` and drops its schema afterwards, whatever `fn` does. */
export async function withHarness(
  client: PgClient,
  fn: (h: PgTestHarness) => Promise<void>,
): Promise<void> {
  const h = await pgHarness(client);
  try {
    await fn(h);
  } finally {
    await h.close();
  }
}

/**
 * The engines a cross-version test runs on: the test engine, then every
 * server of VECFILL_TEST_PG_EXTRA_URLS (e.g. pgvector 0.7.4), named by
 * their versions.
 */
export async function testEngines(): Promise<{ name: string; url?: string }[]> {
  return [
    { name: ENGINE },
    ...(await Promise.all(
      EXTRA_PG_URLS.map(async (url) => ({ name: await describeServer(url), url })),
    )),
  ];
}

/**
 * One session for a client wrapper (a plain object with `query`, whose
 * transactions are BEGIN … COMMIT on it): a dedicated connection on a
 * server, PGlite itself otherwise.
 */
export async function oneSession(
  engine: TestEngine,
): Promise<{ session: PgQueryable; end(): Promise<void> }> {
  if (!engine.server) return { session: engine.client, end: async () => {} };
  const c = new pg.Client({ connectionString: engine.url });
  await c.connect();
  return { session: c, end: () => c.end() };
}
