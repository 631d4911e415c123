import {
  type ChunkVector,
  DimensionMismatchError,
  DuplicateKeyError,
  MissingDocumentError,
  type Revision,
  type SaveItem,
  StaleError,
} from '../core/index.js';
import type { Slots } from './dialect.js';
import type { SqlNames } from './names.js';

/** Refuses a save without a revision when the store tracks revisions (a caller bug, not a stale row). */
export function requireRevision(
  revisionColumn: string | undefined,
  doc: unknown,
  revision: Revision | undefined,
): void {
  if (revisionColumn && revision === undefined) {
    throw new TypeError(
      `store tracks revisions (${revisionColumn}); pass the revision read by pendingForGeneration when saving document ${String(doc)}`,
    );
  }
}

/** What one save found when it looked the document's row up (and, on Postgres, locked it). */
export interface SaveLookup {
  /** The row exists. */
  found: boolean;
  /** More than one row has this key (the key column is not unique). */
  duplicate?: boolean;
  /** With revisions: the row's revision is still the one scanned. */
  same?: boolean;
}

/**
 * The save preconditions, in their one order, checked before anything is
 * written, so a refused save has written nothing: the row exists, its key is
 * unique, its revision is the one scanned (with revisions), and every vector
 * has the generation's dimensions.
 */
export function checkSave(ctx: {
  gen: string;
  doc: unknown;
  revision: Revision | undefined;
  revisionColumn: string | undefined;
  dimensions: number;
  vectors: readonly ChunkVector[];
  lookup: SaveLookup;
  docsTable: string;
  idColumn: string;
}): void {
  const { lookup, doc } = ctx;
  if (!lookup.found) throw new MissingDocumentError(doc, ctx.gen);
  if (lookup.duplicate) throw new DuplicateKeyError(ctx.docsTable, ctx.idColumn, doc);
  if (ctx.revisionColumn && !lookup.same) {
    throw new StaleError(
      doc,
      ctx.gen,
      `the row's ${ctx.revisionColumn} is no longer ${String(ctx.revision)}`,
    );
  }
  checkDimensions(ctx.dimensions, doc, ctx.vectors);
}

/** Every vector has the generation's dimensions. */
export function checkDimensions(
  dimensions: number,
  doc: unknown,
  vectors: readonly ChunkVector[],
): void {
  for (const cv of vectors) {
    if (cv.vector.length !== dimensions) {
      throw new DimensionMismatchError(
        dimensions,
        cv.vector.length,
        `document ${String(doc)} chunk ${cv.chunkIndex}`,
      );
    }
  }
}

/** What a save item stamps: the skip reason only for a stamp without vectors, skipped chunks only with vectors. */
export function stampValues(item: SaveItem<unknown>): {
  chunks: number;
  reason: string | null;
  skipped: number;
} {
  const n = item.vectors.length;
  return {
    chunks: n,
    reason: n === 0 ? (item.skipReason ?? null) : null,
    skipped: n > 0 ? (item.skippedChunks ?? 0) : 0,
  };
}

/**
 * The stamp upsert. It copies the row's revision in SQL (so the stamp holds
 * exactly what the freshness predicate compares). Slots `gen, chunks,
 * reason, skipped, doc`.
 */
export function stampSql(names: SqlNames, p: Slots): string {
  const n = names;
  return `INSERT INTO ${n.stamps} (gen, doc, revision, chunks, reason, skipped_chunks)
         SELECT ${p.slot('gen')}, d.${n.id}, ${n.revision ? n.revision('d') : 'NULL'}, ${p.slot('chunks')}, ${p.slot('reason')}, ${p.slot('skipped')} FROM ${n.docs} d WHERE d.${n.id} = ${p.slot('doc')}
         ON CONFLICT (gen, doc) DO UPDATE SET revision = excluded.revision, chunks = excluded.chunks, reason = excluded.reason, skipped_chunks = excluded.skipped_chunks`;
}

/** An invalidated document's stamps of every other generation. Slots `doc, gen`. */
export function dropOtherStampsSql(names: SqlNames, p: Slots): string {
  return `DELETE FROM ${names.stamps} WHERE doc = ${p.slot('doc')} AND gen <> ${p.slot('gen')}`;
}

/** Writes the generation key into the invalidation column. Slots `key, doc`. */
export function setEmbedGenSql(names: SqlNames & { embedGen: string }, p: Slots): string {
  return `UPDATE ${names.docs} SET ${names.embedGen} = ${p.slot('key')} WHERE ${names.id} = ${p.slot('doc')}`;
}

/** A document's chunk rows in one generation. Slots `gen, doc`. */
export function deleteChunksSql(names: SqlNames, p: Slots): string {
  return `DELETE FROM ${names.chunks} WHERE gen = ${p.slot('gen')} AND doc = ${p.slot('doc')}`;
}
