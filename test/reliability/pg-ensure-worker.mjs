// Run by pg-concurrency.test.ts as a child process: opens a PgStore on its own
// connection and calls ensureGeneration at an agreed moment, printing the outcome.
import pg from 'pg';
import { PgStore } from '../../dist/postgres/index.js';

const opts = JSON.parse(process.argv[2]);
const pool = new pg.Pool({ connectionString: opts.url, max: 2 });
try {
  await pool.query('SELECT 1');
  await new Promise((r) => setTimeout(r, Math.max(0, opts.at - Date.now())));
  const store = await PgStore.open(pool, opts.schema);
  const info = await store.ensureGeneration(opts.key, { model: 'hash', dimensions: opts.dims });
  process.stdout.write(JSON.stringify({ ok: true, key: info.key, state: info.state }));
} catch (e) {
  process.stdout.write(
    JSON.stringify({ ok: false, error: String(e?.message ?? e), code: e?.code }),
  );
} finally {
  await pool.end();
}
