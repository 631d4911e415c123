import { MissingDocumentError, type SaveItem, StaleError } from '../core/index.js';
import {
  checkSave,
  dropOtherStampsSql,
  requireRevision,
  type Slots,
  stampValues,
} from '../sql/index.js';
import type { PgQueryable } from './pg-client.js';
import { allGenRows, type GenRow, liveGenRow, type PgContext, type Row } from './pg-context.js';
import { canCopy, copyVectors } from './pg-copy.js';
import type { PgKey } from './pg-types.js';
import { vectorLiteral } from './pg-vector.js';

/**
 * Replaces one document's vectors for `gen` and stamps it, in one
 * transaction; refused (nothing written) when the row is gone or its
 * revision changed since the scan.
 */
export async function saveOne(ctx: PgContext, gen: string, item: SaveItem<PgKey>): Promise<void> {
  await ctx.tx(async (tx) => {
    const [refused] = await saveItems(ctx, tx, await liveGenRow(ctx, gen, tx), [item]);
    if (refused) throw refused;
  });
}

/**
 * Saves many documents in one transaction; a stale or missing item writes
 * nothing and the others go on. Distinct documents are saved together
 * (`saveItems`); a batch naming one document twice is saved item by item,
 * in order, so the last save wins as it would one call at a time.
 */
export async function saveMany(
  ctx: PgContext,
  gen: string,
  items: readonly SaveItem<PgKey>[],
): Promise<(Error | null)[]> {
  return ctx.tx(async (tx) => {
    const g = await liveGenRow(ctx, gen, tx);
    if (items.length === 0) return [];
    if (new Set(items.map((i) => String(i.doc))).size === items.length)
      return saveItems(ctx, tx, g, items);
    const out: (Error | null)[] = [];
    for (const item of items) out.push(...(await saveItems(ctx, tx, g, [item])));
    return out;
  });
}

/**
 * The save of distinct documents, inside a transaction, in a fixed number
 * of statements however many documents: the rows are locked in key order
 * (two workers never deadlock) and checked by the shared preconditions
 * (`checkSave`) before anything is written, so a refused item writes
 * nothing; then chunks, vectors and stamps are written with one multi-row
 * statement each. Every row stays locked from its check to its stamp, so
 * nothing is stamped whose revision changed. Returns each item's refusal
 * (`MissingDocumentError`, `StaleError`) or null; throws `DuplicateKeyError`
 * (the transaction rolls back) when two rows share an item's key.
 */
async function saveItems(
  ctx: PgContext,
  tx: PgQueryable,
  g: GenRow,
  items: readonly SaveItem<PgKey>[],
): Promise<(Error | null)[]> {
  const { schema: s, t } = ctx;
  for (const item of items) requireRevision(s.base.revisionColumn, item.doc, item.revision);
  const { rows, duplicates } = await lockRows(ctx, tx, items);
  const out: (Error | null)[] = [];
  const ok: { item: SaveItem<PgKey>; key: unknown; invalidated: boolean }[] = [];
  const refused: unknown[] = [];
  for (const item of items) {
    const row = rows.get(String(item.doc));
    const want =
      item.revision === null || item.revision === undefined ? null : String(item.revision);
    try {
      checkSave({
        gen: g.key,
        doc: item.doc,
        revision: item.revision,
        revisionColumn: s.base.revisionColumn,
        dimensions: g.dimensions,
        vectors: item.vectors,
        lookup: {
          found: row !== undefined,
          duplicate: duplicates.has(String(item.doc)),
          same: (row?.rev ?? null) === want,
        },
        docsTable: s.base.docsTable.join('.'),
        idColumn: s.base.idColumn,
      });
    } catch (e) {
      if (!(e instanceof StaleError || e instanceof MissingDocumentError)) throw e;
      out.push(e);
      refused.push(item.doc);
      continue;
    }
    out.push(null);
    ok.push({ item, key: row!.id, invalidated: Boolean(row!.invalidated) });
  }
  // Hand refused documents back at once: another worker may embed their new content.
  if (refused.length > 0 && s.leaseMs !== undefined)
    await ctx.sql(
      (p) =>
        `DELETE FROM ${t.leases} WHERE gen = ${p.slot('gen')} AND doc = ANY(${p.slot('docs')}::${ctx.idType}[]) AND owner = ${p.slot('owner')}`,
      { gen: g.id, docs: refused, owner: ctx.owner },
      tx,
    );
  if (ok.length === 0) return out;
  const keys = ok.map((o) => o.key);
  for (const o of ok) if (o.invalidated) await voidOtherGenerations(ctx, tx, g, o.key);
  await dropChunks(ctx, tx, g, keys);
  await writeVectors(ctx, tx, g, ok);
  if (s.embedGen)
    await ctx.sql(
      (p) =>
        `UPDATE ${s.docs} SET ${s.embedGen} = ${p.slot('key')} WHERE ${s.id} = ANY(${p.slot('docs')}::${ctx.idType}[])`,
      { key: g.key, docs: keys },
      tx,
    );
  await writeStamps(ctx, tx, g, ok);
  if (s.leaseMs !== undefined)
    await ctx.sql(
      (p) =>
        `DELETE FROM ${t.leases} WHERE gen = ${p.slot('gen')} AND doc = ANY(${p.slot('docs')}::${ctx.idType}[])`,
      { gen: g.id, docs: keys },
      tx,
    );
  return out;
}

/**
 * Locks the items' rows (`FOR UPDATE`, in key order) and reads what the
 * checks need, by key; `duplicates` holds the keys more than one row has
 * (a key column that is not unique: their saves are refused).
 */
async function lockRows(
  ctx: PgContext,
  tx: PgQueryable,
  items: readonly SaveItem<PgKey>[],
): Promise<{ rows: Map<string, Row>; duplicates: Set<string> }> {
  const { schema: s, t } = ctx;
  const locked = await ctx.sql(
    (p) =>
      `SELECT d.${s.id} AS id${t.revision ? `, ${t.revision('d')} AS rev` : ''}${
        s.embedGen ? `, d.${s.embedGen} IS NULL AS invalidated` : ''
      } FROM ${s.docs} d WHERE d.${s.id} = ANY(${p.slot('docs')}::${ctx.idType}[]) ORDER BY d.${s.id} FOR UPDATE`,
    { docs: items.map((i) => i.doc) },
    tx,
  );
  const rows = new Map<string, Row>();
  const duplicates = new Set<string>();
  for (const r of locked) {
    const key = String(r.id);
    if (rows.has(key)) duplicates.add(key);
    rows.set(key, r);
  }
  return { rows, duplicates };
}

/**
 * Inserts the chunk rows and their vectors. Chunk ids are taken from the
 * sequence first, so each vector row gets its chunk's id; the vectors go in
 * by binary COPY where the client can (`pg-copy.ts`), else by one
 * multi-row INSERT of their text form.
 */
async function writeVectors(
  ctx: PgContext,
  tx: PgQueryable,
  g: GenRow,
  ok: readonly { item: SaveItem<PgKey>; key: unknown }[],
): Promise<void> {
  const t = ctx.t;
  const docs: unknown[] = [];
  const index: number[] = [];
  const start: number[] = [];
  const end: number[] = [];
  const vectors: Float32Array[] = [];
  for (const o of ok) {
    for (const cv of o.item.vectors) {
      docs.push(o.key);
      index.push(cv.chunkIndex);
      start.push(cv.start);
      end.push(cv.end);
      vectors.push(cv.vector);
    }
  }
  if (vectors.length === 0) return;
  const ids = (
    await ctx.sql(
      (p) =>
        `SELECT nextval(pg_get_serial_sequence(${p.slot('table')}, 'id'))::text AS id FROM generate_series(1, ${p.slot('n')})`,
      { table: t.chunks, n: vectors.length },
      tx,
    )
  ).map((r) => String(r.id));
  await ctx.sql(
    (p) =>
      `INSERT INTO ${t.chunks} (id, gen, doc, chunk_index, start_off, end_off)
       SELECT u.id, ${p.slot('gen')}, u.doc, u.ci, u.so, u.eo
       FROM unnest(${p.slot('ids')}::bigint[], ${p.slot('docs')}::${ctx.idType}[], ${p.slot('index')}::int[], ${p.slot('start')}::int[], ${p.slot('end')}::int[]) AS u(id, doc, ci, so, eo)`,
    { gen: g.id, ids, docs, index, start, end },
    tx,
  );
  if (ctx.copyIn && canCopy(tx)) return copyVectors(tx, t.vec(g.id), ids, vectors);
  await ctx.sql(
    (p) =>
      `INSERT INTO ${t.vec(g.id)} (id, embedding) SELECT u.id, u.e::vector FROM unnest(${p.slot('ids')}::bigint[], ${p.slot('vectors')}::text[]) AS u(id, e)`,
    { ids, vectors: vectors.map(vectorLiteral) },
    tx,
  );
}

/** Stamps the saved documents with the row's revision, copied in SQL (`stampValues` says what each stamps). */
async function writeStamps(
  ctx: PgContext,
  tx: PgQueryable,
  g: GenRow,
  ok: readonly { item: SaveItem<PgKey>; key: unknown }[],
): Promise<void> {
  const { schema: s, t } = ctx;
  const stamps = ok.map((o) => stampValues(o.item));
  await ctx.sql(
    (p) =>
      `INSERT INTO ${t.stamps} (gen, doc, revision, chunks, reason, skipped_chunks)
       SELECT ${p.slot('gen')}, d.${s.id}, ${t.revision ? t.revision('d') : 'NULL'}, u.n, u.reason, u.skipped
       FROM unnest(${p.slot('docs')}::${ctx.idType}[], ${p.slot('chunks')}::int[], ${p.slot('reasons')}::text[], ${p.slot('skipped')}::int[]) AS u(doc, n, reason, skipped)
       JOIN ${s.docs} d ON d.${s.id} = u.doc
       ON CONFLICT (gen, doc) DO UPDATE SET revision = excluded.revision, chunks = excluded.chunks, reason = excluded.reason, skipped_chunks = excluded.skipped_chunks`,
    {
      gen: g.id,
      docs: ok.map((o) => o.key),
      chunks: stamps.map((x) => x.chunks),
      reasons: stamps.map((x) => x.reason),
      skipped: stamps.map((x) => x.skipped),
    },
    tx,
  );
}

/** Deletes the documents' chunk rows of `g` and, unless reclaimed, their vectors. */
export async function dropChunks(
  ctx: PgContext,
  tx: PgQueryable,
  g: GenRow,
  keys: readonly unknown[],
): Promise<void> {
  const t = ctx.t;
  const values = { gen: g.id, docs: keys };
  const ofDocs = (p: Slots) =>
    `${t.chunks} WHERE gen = ${p.slot('gen')} AND doc = ANY(${p.slot('docs')}::${ctx.idType}[])`;
  if (!g.reclaimed)
    await ctx.sql(
      (p) => `DELETE FROM ${t.vec(g.id)} WHERE id IN (SELECT id FROM ${ofDocs(p)})`,
      values,
      tx,
    );
  await ctx.sql((p) => `DELETE FROM ${ofDocs(p)}`, values, tx);
}

/** The caller invalidated the document (`embedGenColumn` NULL): every other generation's vectors and stamps are void. */
async function voidOtherGenerations(
  ctx: PgContext,
  tx: PgQueryable,
  g: GenRow,
  key: unknown,
): Promise<void> {
  for (const other of await allGenRows(ctx, tx, g.id)) await dropChunks(ctx, tx, other, [key]);
  await ctx.sql((p) => dropOtherStampsSql(ctx.t, p), { doc: key, gen: g.id }, tx);
}
