import type { Backend } from './backends.js';
import { CliError, EXIT } from './errors.js';
import { redactConnectionString } from './redact.js';
import { schemaOf } from './settings.js';

/** A PostgreSQL database with pgvector, reached with the `pg` package (loaded only for a postgres:// URL). */
export async function postgresBackend(url: string): Promise<Backend> {
  let pg: typeof import('pg');
  try {
    pg = (await import('pg')).default as unknown as typeof import('pg');
  } catch {
    throw new CliError('postgres:// URLs need the `pg` package: npm install pg', EXIT.usage);
  }
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  const run = async (sql: string, params: readonly unknown[]) =>
    (await pool.query(sql, [...params])).rows as Record<string, unknown>[];
  try {
    await run('SELECT 1', []);
  } catch (e) {
    await pool.end().catch(() => {});
    throw new CliError(
      `cannot connect to ${redactConnectionString(url)}: ${(e as Error).message}`,
      EXIT.notFound,
    );
  }
  const { PgStore } = await import('../postgres/index.js');
  /** `schema.table` or `table` (in the current schema) as the two values information_schema is asked with. */
  const split = (name: string | undefined) => {
    const parts = name?.split('.') ?? [];
    return parts.length > 1 ? [parts.at(-1), parts[0]] : [parts[0], null];
  };
  return {
    kind: 'postgres',
    // Settings SQL is written with `?` placeholders, numbered here.
    query: (sql, params) => {
      let n = 0;
      return run(
        sql.replace(/\?/g, () => `$${++n}`),
        params,
      );
    },
    openStore: async (cfg, opts = {}) => ({
      kind: 'postgres',
      store: await PgStore.open(pool, schemaOf(cfg, opts)),
    }),
    columns: async (table) =>
      (
        await run(
          `SELECT column_name AS name FROM information_schema.columns
            WHERE table_name = $1 AND table_schema = COALESCE($2, current_schema())`,
          split(table),
        )
      ).map((r) => String(r.name)),
    tables: async (schema) =>
      (
        await run(
          'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = COALESCE($1, current_schema())',
          [schema ?? null],
        )
      ).map((r) => String(r.name)),
    dropTable: async (quoted) => {
      await run(`DROP TABLE IF EXISTS ${quoted} CASCADE`, []);
    },
    sizeBytes: async () =>
      Number((await run('SELECT pg_database_size(current_database()) AS n', []))[0]?.n ?? 0),
    close: () => pool.end(),
  };
}
