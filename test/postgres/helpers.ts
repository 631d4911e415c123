import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import type { PgClient, PgFilter, PgKey, PgSchema } from '../../src/postgres/index.js';
import { PgStore } from '../../src/postgres/index.js';
import type { Harness } from '../conformance/suite.js';

let counter = 0;

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
