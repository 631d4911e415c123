import type { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { runConformance } from '../conformance/suite.js';
import { pgHarness, startPglite } from './helpers.js';

let db: PGlite;
let server: PGLiteSocketServer;
let pool: pg.Pool;

beforeAll(async () => {
  db = await startPglite();
  const port = 20_000 + Math.floor(Math.random() * 30_000);
  server = new PGLiteSocketServer({ db, port, host: '127.0.0.1' });
  await server.start();
  // PGlite is one session: one wire connection at a time.
  pool = new pg.Pool({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres', max: 1 });
});

afterAll(async () => {
  await pool?.end();
  await server?.stop();
  await db?.close();
});

runConformance('PgStore on PGlite', () => pgHarness(db));
runConformance('PgStore over the wire (node-postgres -> pglite-socket)', () => pgHarness(pool));
