import type { PGlite } from '@electric-sql/pglite';
import type { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { runConformance } from '../conformance/suite.js';
import {
  ENGINE,
  pgHarness,
  startEngine,
  startPglite,
  startSocketServer,
  TEST_PG_URL,
  type TestEngine,
} from './helpers.js';

if (TEST_PG_URL) {
  // A real server: a Pool whose transactions take their own connections.
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startEngine();
  });
  afterAll(async () => {
    await engine?.close();
  });
  runConformance(`PgStore on ${ENGINE} through a node-postgres Pool`, () =>
    pgHarness(engine.client),
  );
} else {
  let db: PGlite;
  let server: PGLiteSocketServer;
  let pool: pg.Pool;

  beforeAll(async () => {
    db = await startPglite();
    let port: number;
    ({ socket: server, port } = await startSocketServer(db));
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
}
