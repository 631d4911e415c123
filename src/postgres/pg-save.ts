import {
  type ChunkVector,
  DimensionMismatchError,
  MissingDocumentError,
  type Revision,
  type SaveItem,
  type SaveOptions,
  StaleError,
} from '../core/index.js';
import type { PgQueryable } from './pg-client.js';
import { allGenRows, type GenRow, liveGenRow, type PgContext } from './pg-context.js';
import { revisionPg } from './pg-schema.js';
import type { PgKey } from './pg-types.js';
import { vectorLiteral } from './pg-vector.js';

/**
 * Replaces one document's vectors for `gen` and stamps it, in one
 * transaction; refused (nothing written) when the row is gone or its
 * revision changed since the scan.
 */
export async function saveVectors(
  ctx: PgContext,
  gen: string,
  doc: PgKey,
  revision: Revision | undefined,
  vectors: ChunkVector[],
  options: SaveOptions = {},
): Promise<void> {
  await ctx.tx(async (tx) => {
    const g = await liveGenRow(ctx, gen, tx);
    const item: SaveItem<PgKey> = { doc, revision, vectors };
    if (options.skipReason !== undefined) item.skipReason = options.skipReason;
    if (options.skippedChunks !== undefined) item.skippedChunks = options.skippedChunks;
    await saveOne(ctx, tx, g, item);
  });
}

/**
 * Saves many documents in one transaction; a stale or missing item writes
 * nothing and the others go on. The rows are locked and their revisions
 * checked in one statement, then chunks, vectors and stamps are written
 * with one multi-row statement each (the conditional-stamp rule holds:
 * every row stays locked from its check to its stamp).
 */
export async function saveMany(
  ctx: PgContext,
  gen: string,
  items: readonly SaveItem<PgKey>[],
): Promise<(Error | null)[]> {
  return ctx.tx(async (tx) => {
    const g = await liveGenRow(ctx, gen, tx);
    if (items.length > 1 && new Set(items.map((i) => String(i.doc))).size === items.length)
      return saveBulk(ctx, tx, g, items);
    const out: (Error | null)[] = [];
    for (const item of items) {
      try {
        await saveOne(ctx, tx, g, item);
        out.push(null);
      } catch (e) {
        if (e instanceof StaleError || e instanceof MissingDocumentError) out.push(e);
        else throw e;
      }
    }
    return out;
  });
}

/** `saveMany` for distinct documents: a fixed number of statements per batch. */
async function saveBulk(
  ctx: PgContext,
  tx: PgQueryable,
  g: GenRow,
  items: readonly SaveItem<PgKey>[],
): Promise<(Error | null)[]> {
  const s = ctx.schema;
  const t = ctx.t;
  const arr = `${ctx.idType}[]`;
  if (s.revision && items.some((i) => i.revision === undefined)) {
    const bad = items.find((i) => i.revision === undefined)!;
    throw new TypeError(
      `store tracks revisions; pass the revision read by pendingForGeneration when saving document ${String(bad.doc)}`,
    );
  }
  // Lock every row in key order (two workers never deadlock), and read what the checks need.
  const locked = await ctx.q(
    `SELECT d.${s.id} AS id${s.revision ? `, ${revisionPg(s)} AS rev` : ''}${
      s.embedGen ? `, d.${s.embedGen} IS NULL AS invalidated` : ''
    } FROM ${s.docs} d WHERE d.${s.id} = ANY($1::${arr}) ORDER BY d.${s.id} FOR UPDATE`,
    [items.map((i) => i.doc)],
    tx,
  );
  const rows = new Map(locked.map((r) => [String(r.id), r]));
  const out: (Error | null)[] = [];
  const ok: { item: SaveItem<PgKey>; key: unknown }[] = [];
  const refused: unknown[] = [];
  for (const item of items) {
    const row = rows.get(String(item.doc));
    const want =
      item.revision === null || item.revision === undefined ? null : String(item.revision);
    if (!row) {
      out.push(new MissingDocumentError(item.doc, g.key));
      refused.push(item.doc);
    } else if (s.revision && (row.rev ?? null) !== want) {
      out.push(
        new StaleError(item.doc, g.key, `the row's revision is no longer ${String(item.revision)}`),
      );
      refused.push(item.doc);
    } else {
      for (const cv of item.vectors) {
        if (cv.vector.length !== g.dimensions)
          throw new DimensionMismatchError(
            g.dimensions,
            cv.vector.length,
            `document ${String(item.doc)} chunk ${cv.index}`,
          );
      }
      out.push(null);
      ok.push({ item, key: row.id });
    }
  }
  if (refused.length > 0 && s.leaseMs !== undefined)
    await ctx.q(
      `DELETE FROM ${t.leases} WHERE gen = $1 AND doc = ANY($2::${arr}) AND owner = $3`,
      [g.id, refused, ctx.owner],
      tx,
    );
  if (ok.length === 0) return out;
  const keys = ok.map((o) => o.key);
  for (const o of ok) {
    if (s.embedGen && rows.get(String(o.item.doc))!.invalidated) {
      // The caller invalidated the document: every other generation's vectors are void too.
      await voidOtherGenerations(ctx, tx, g, o.key);
    }
  }
  await ctx.q(
    `DELETE FROM ${t.vec(g.id)} WHERE id IN (SELECT id FROM ${t.chunks} WHERE gen = $1 AND doc = ANY($2::${arr}))`,
    [g.id, keys],
    tx,
  );
  await ctx.q(`DELETE FROM ${t.chunks} WHERE gen = $1 AND doc = ANY($2::${arr})`, [g.id, keys], tx);
  const chunkDocs: unknown[] = [];
  const index: number[] = [];
  const start: number[] = [];
  const end: number[] = [];
  const vectors: string[] = [];
  for (const o of ok) {
    for (const cv of o.item.vectors) {
      chunkDocs.push(o.key);
      index.push(cv.index);
      start.push(cv.start);
      end.push(cv.end);
      vectors.push(vectorLiteral(cv.vector));
    }
  }
  if (vectors.length > 0) {
    // Chunk ids are taken from the sequence first, so each vector row gets its chunk's id.
    const ids = (
      await ctx.q(
        `SELECT nextval(pg_get_serial_sequence($1, 'id'))::text AS id FROM generate_series(1, $2)`,
        [t.chunks, vectors.length],
        tx,
      )
    ).map((r) => String(r.id));
    await ctx.q(
      `INSERT INTO ${t.chunks} (id, gen, doc, chunk_index, start_off, end_off)
       SELECT u.id, $1, u.doc, u.ci, u.so, u.eo
       FROM unnest($2::bigint[], $3::${arr}, $4::int[], $5::int[], $6::int[]) AS u(id, doc, ci, so, eo)`,
      [g.id, ids, chunkDocs, index, start, end],
      tx,
    );
    await ctx.q(
      `INSERT INTO ${t.vec(g.id)} (id, embedding) SELECT u.id, u.e::vector FROM unnest($1::bigint[], $2::text[]) AS u(id, e)`,
      [ids, vectors],
      tx,
    );
  }
  if (s.embedGen)
    await ctx.q(
      `UPDATE ${s.docs} SET ${s.embedGen} = $1 WHERE ${s.id} = ANY($2::${arr})`,
      [g.key, keys],
      tx,
    );
  await ctx.q(
    `INSERT INTO ${t.stamps} (gen, doc, revision, chunks, reason, skipped_chunks)
     SELECT $1, d.${s.id}, ${s.revision ? revisionPg(s) : 'NULL'}, u.n, u.reason, u.skipped
     FROM unnest($2::${arr}, $3::int[], $4::text[], $5::int[]) AS u(doc, n, reason, skipped)
     JOIN ${s.docs} d ON d.${s.id} = u.doc
     ON CONFLICT (gen, doc) DO UPDATE SET revision = excluded.revision, chunks = excluded.chunks, reason = excluded.reason, skipped_chunks = excluded.skipped_chunks`,
    [
      g.id,
      keys,
      ok.map((o) => o.item.vectors.length),
      ok.map((o) => (o.item.vectors.length === 0 ? (o.item.skipReason ?? null) : null)),
      ok.map((o) => (o.item.vectors.length > 0 ? (o.item.skippedChunks ?? 0) : 0)),
    ],
    tx,
  );
  if (s.leaseMs !== undefined)
    await ctx.q(
      `DELETE FROM ${t.leases} WHERE gen = $1 AND doc = ANY($2::${arr})`,
      [g.id, keys],
      tx,
    );
  return out;
}

/** Checks everything before writing, so a refused item has written nothing. Runs inside a transaction. */
export async function saveOne(
  ctx: PgContext,
  tx: PgQueryable,
  g: GenRow,
  item: SaveItem<PgKey>,
): Promise<void> {
  const s = ctx.schema;
  const t = ctx.t;
  const { doc, revision, vectors } = item;
  if (s.revision && revision === undefined) {
    throw new TypeError(
      `store tracks revisions; pass the revision read by pendingForGeneration when saving document ${String(doc)}`,
    );
  }
  // Lock the row: a concurrent writer waits, so no update is lost between the check and the stamp.
  const [row] = await ctx.q(
    `SELECT d.${s.id} AS id${s.revision ? `, ${revisionPg(s)} IS NOT DISTINCT FROM $2::text AS same` : ''}${
      s.embedGen ? `, d.${s.embedGen} IS NULL AS invalidated` : ''
    } FROM ${s.docs} d WHERE d.${s.id} = $1 FOR UPDATE`,
    s.revision ? [doc, revision === null ? null : String(revision)] : [doc],
    tx,
  );
  if (!row || (s.revision && !row.same)) {
    // Hand the document back at once: another worker may embed its new content.
    if (s.leaseMs !== undefined)
      await ctx.q(
        `DELETE FROM ${t.leases} WHERE gen = $1 AND doc = $2 AND owner = $3`,
        [g.id, doc, ctx.owner],
        tx,
      );
    if (!row) throw new MissingDocumentError(doc, g.key);
    throw new StaleError(doc, g.key, `the row's revision is no longer ${String(revision)}`);
  }
  for (const cv of vectors) {
    if (cv.vector.length !== g.dimensions) {
      throw new DimensionMismatchError(
        g.dimensions,
        cv.vector.length,
        `document ${String(doc)} chunk ${cv.index}`,
      );
    }
  }
  const key = row.id;
  if (s.embedGen && row.invalidated) {
    // The caller invalidated the document: every other generation's vectors are void too.
    await voidOtherGenerations(ctx, tx, g, key);
  }
  await dropChunks(ctx, tx, g, key);
  for (const cv of vectors) {
    const [c] = await ctx.q(
      `INSERT INTO ${t.chunks} (gen, doc, chunk_index, start_off, end_off) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
      [g.id, key, cv.index, cv.start, cv.end],
      tx,
    );
    await ctx.q(
      `INSERT INTO ${t.vec(g.id)} (id, embedding) VALUES ($1, $2::vector)`,
      [c!.id, vectorLiteral(cv.vector)],
      tx,
    );
  }
  if (s.embedGen)
    await ctx.q(`UPDATE ${s.docs} SET ${s.embedGen} = $1 WHERE ${s.id} = $2`, [g.key, key], tx);
  await ctx.q(
    `INSERT INTO ${t.stamps} (gen, doc, revision, chunks, reason, skipped_chunks)
     SELECT $1, d.${s.id}, ${s.revision ? revisionPg(s) : 'NULL'}, $2, $4, $5 FROM ${s.docs} d WHERE d.${s.id} = $3
     ON CONFLICT (gen, doc) DO UPDATE SET revision = excluded.revision, chunks = excluded.chunks, reason = excluded.reason, skipped_chunks = excluded.skipped_chunks`,
    [
      g.id,
      vectors.length,
      key,
      vectors.length === 0 ? (item.skipReason ?? null) : null,
      vectors.length > 0 ? (item.skippedChunks ?? 0) : 0,
    ],
    tx,
  );
  if (s.leaseMs !== undefined)
    await ctx.q(`DELETE FROM ${t.leases} WHERE gen = $1 AND doc = $2`, [g.id, key], tx);
}

export async function dropChunks(
  ctx: PgContext,
  tx: PgQueryable,
  g: GenRow,
  key: unknown,
): Promise<void> {
  const t = ctx.t;
  if (!g.reclaimed) {
    await ctx.q(
      `DELETE FROM ${t.vec(g.id)} WHERE id IN (SELECT id FROM ${t.chunks} WHERE gen = $1 AND doc = $2)`,
      [g.id, key],
      tx,
    );
  }
  await ctx.q(`DELETE FROM ${t.chunks} WHERE gen = $1 AND doc = $2`, [g.id, key], tx);
}

/** The caller invalidated the document (`embedGenColumn` NULL): every other generation's vectors and stamps are void. */
async function voidOtherGenerations(
  ctx: PgContext,
  tx: PgQueryable,
  g: GenRow,
  key: unknown,
): Promise<void> {
  for (const other of await allGenRows(ctx, tx, g.id)) await dropChunks(ctx, tx, other, key);
  await ctx.q(`DELETE FROM ${ctx.t.stamps} WHERE doc = $1 AND gen <> $2`, [key, g.id], tx);
}
