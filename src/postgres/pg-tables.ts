import { LifecycleError } from '../core/index.js';
import type { PgClient, PgQueryable } from './pg-client.js';
import { lockStore, type PgContext, runSql } from './pg-context.js';
import { revisionPg, type ValidPgSchema } from './pg-schema.js';
import type { PgvectorInfo } from './pg-types.js';

/**
 * Types whose text output no session setting changes: their `::text` form is
 * the stamp. Every other type is stamped through its binary send function
 * (`timestamptz_send`, `float8send`, …) as hex, because TimeZone, DateStyle,
 * IntervalStyle, extra_float_digits, bytea_output or lc_monetary change their
 * text form from one session to the next.
 */
const STABLE_TEXT_TYPES = new Set([
  'int2',
  'int4',
  'int8',
  'numeric',
  'text',
  'varchar',
  'bpchar',
  'uuid',
  'bool',
  'oid',
  'name',
  'json',
  'jsonb',
  'citext',
]);

/** Marks a stamps table whose revisions are in the session-independent form. */
const REVISION_FORM = 'vecfill: revisions v2 (session-independent)';

/**
 * Checks that the documents table and its configured columns exist, and
 * returns the key column's SQL type and the schema with the revision's
 * session-independent form (see `revisionForm`).
 */
export async function inspectDocuments(
  client: PgClient,
  schema: ValidPgSchema,
): Promise<{ schema: ValidPgSchema; idType: string }> {
  const rel = schema.docs.replaceAll('"', '');
  const cols = await runSql(
    client,
    (p) =>
      `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a
       WHERE a.attrelid = to_regclass(${p.slot('docs')}) AND a.attnum > 0 AND NOT a.attisdropped`,
    { docs: schema.docs },
  );
  if (cols.length === 0) {
    throw new LifecycleError(
      `documents table ${rel} does not exist; create it first or fix schema.docsTable`,
    );
  }
  const byName = new Map(cols.map((c) => [String(c.name), String(c.type)]));
  for (const col of [schema.id, schema.content, schema.revision, schema.embedGen]) {
    if (col && !byName.has(col.replaceAll('"', ''))) {
      throw new LifecycleError(
        `table ${rel} has no column ${col}; columns are: ${[...byName.keys()].join(', ')}`,
      );
    }
  }
  const idType = byName.get(schema.id.replaceAll('"', ''))!;
  const revisionText = schema.revision
    ? await revisionForm(client, schema, schema.revision)
    : undefined;
  return { schema: revisionText ? Object.freeze({ ...schema, revisionText }) : schema, idType };
}

/**
 * Chooses how the revision column is stamped: its `::text` form when no
 * session setting changes it (integers, text, numeric, uuid, …; returns
 * undefined), otherwise the hex of its binary send form, so a search from a
 * session with another TimeZone or DateStyle sees exactly the coverage a
 * fill wrote.
 */
async function revisionForm(
  client: PgClient,
  schema: ValidPgSchema,
  column: string,
): Promise<((alias: string) => string) | undefined> {
  const [type] = await runSql(
    client,
    (p) =>
      `SELECT t.typname, t.typsend::regproc::text AS send FROM pg_attribute a
       JOIN pg_type d ON d.oid = a.atttypid
       JOIN pg_type t ON t.oid = CASE WHEN d.typtype = 'd' THEN d.typbasetype ELSE d.oid END
       WHERE a.attrelid = to_regclass(${p.slot('docs')}) AND a.attname = ${p.slot('column')}`,
    { docs: schema.docs, column: column.replaceAll('"', '') },
  );
  const name = String(type?.typname ?? 'text');
  const send = String(type?.send ?? '-');
  if (STABLE_TEXT_TYPES.has(name) || send === '-') return undefined;
  // The send function's name comes from the catalog, quoted as regproc prints it.
  return (alias: string) => `encode(${send}(${alias}.${column}), 'hex')`;
}

/** Creates the `vector` extension if it can and reads its version; refuses a database without it. */
export async function detectPgvector(client: PgClient): Promise<PgvectorInfo> {
  await client.query(`CREATE EXTENSION IF NOT EXISTS vector`).catch(() => {});
  const {
    rows: [ext],
  } = await client.query(`SELECT extversion FROM pg_extension WHERE extname = 'vector'`);
  if (!ext)
    throw new LifecycleError(
      'the pgvector extension is not installed in this database and vecfill could not create it; run CREATE EXTENSION vector as a privileged user',
    );
  const [major = 0, minor = 0] = String(ext.extversion).split('.').map(Number);
  return Object.freeze({
    version: String(ext.extversion),
    iterativeScan: major > 0 || minor >= 8,
  });
}

/**
 * Creates the store's tables if missing and upgrades older ones. Two
 * processes opening the same store at once: one creates, the other waits
 * and finds it.
 */
export async function createStoreTables(ctx: PgContext): Promise<void> {
  await ctx.tx(async (tx) => {
    await lockStore(ctx, tx);
    const stampsExisted =
      (await ctx.sql((p) => `SELECT to_regclass(${p.slot('t')}) AS r`, { t: ctx.t.stamps }, tx))[0]
        ?.r != null;
    for (const sql of storeTablesSql(ctx)) await ctx.q(sql, [], tx);
    await upgradeStamps(ctx, stampsExisted, tx);
  });
}

/** The store's tables and their indexes (idempotent DDL; the vector tables are made per generation). */
function storeTablesSql({ schema: s, t, idType }: PgContext): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${t.gens} (
      id serial PRIMARY KEY, key text NOT NULL UNIQUE, generation text NOT NULL, fingerprint text NOT NULL,
      dimensions integer NOT NULL CHECK (dimensions > 0),
      state text NOT NULL CHECK (state IN ('building', 'active', 'retired')),
      reclaimed boolean NOT NULL DEFAULT false, created_at timestamptz NOT NULL DEFAULT now())`,
    `CREATE UNIQUE INDEX IF NOT EXISTS ${s.indexName('one_active')} ON ${t.gens} (state) WHERE state = 'active'`,
    `CREATE UNIQUE INDEX IF NOT EXISTS ${s.indexName('one_building')} ON ${t.gens} (state) WHERE state = 'building'`,
    `CREATE TABLE IF NOT EXISTS ${t.chunks} (
      id bigserial PRIMARY KEY, gen integer NOT NULL, doc ${idType} NOT NULL,
      chunk_index integer NOT NULL, start_off integer NOT NULL, end_off integer NOT NULL)`,
    `CREATE INDEX IF NOT EXISTS ${s.indexName('chunks_doc')} ON ${t.chunks} (gen, doc)`,
    `CREATE TABLE IF NOT EXISTS ${t.stamps} (
      gen integer NOT NULL, doc ${idType} NOT NULL, revision text, chunks integer NOT NULL, PRIMARY KEY (gen, doc))`,
    // Why a document was skipped (NULL for embedded and blank documents); older stores lack it.
    `ALTER TABLE ${t.stamps} ADD COLUMN IF NOT EXISTS reason text`,
    // Chunks the encoder rejected in a document saved with its other chunks.
    `ALTER TABLE ${t.stamps} ADD COLUMN IF NOT EXISTS skipped_chunks integer NOT NULL DEFAULT 0`,
    `CREATE INDEX IF NOT EXISTS ${s.indexName('stamps_doc')} ON ${t.stamps} (doc)`,
    `CREATE TABLE IF NOT EXISTS ${t.leases} (
      gen integer NOT NULL, doc ${idType} NOT NULL, owner text NOT NULL, expires double precision NOT NULL,
      PRIMARY KEY (gen, doc))`,
  ];
}

/**
 * Stamps written before revisions were session-independent hold the
 * revision's text in the writing session's settings. Once per stamps table
 * (marked by a comment on its revision column), the stamps that are current
 * as this session reads them are rewritten in the new form; the rest are
 * pending anyway.
 */
async function upgradeStamps(ctx: PgContext, existed: boolean, tx: PgQueryable): Promise<void> {
  const { schema: s, t } = ctx;
  if (existed) {
    const [mark] = await ctx.sql(
      (p) =>
        `SELECT col_description(to_regclass(${p.slot('t')}), a.attnum) AS c FROM pg_attribute a
         WHERE a.attrelid = to_regclass(${p.slot('t')}) AND a.attname = 'revision'`,
      { t: t.stamps },
      tx,
    );
    if (mark?.c === REVISION_FORM) return;
    if (s.revision && s.revisionText) {
      await ctx.q(
        `UPDATE ${t.stamps} st SET revision = ${revisionPg(s)} FROM ${s.docs} d
         WHERE d.${s.id} = st.doc AND st.revision = d.${s.revision}::text`,
        [],
        tx,
      );
    }
  }
  await ctx.q(`COMMENT ON COLUMN ${t.stamps}.revision IS '${REVISION_FORM}'`, [], tx);
}
