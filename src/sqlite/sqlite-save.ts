import { MissingDocumentError, type SaveItem, StaleError } from '../core/index.js';
import {
  checkSave,
  deleteChunksSql,
  dropOtherStampsSql,
  orphanDocsSql,
  requireRevision,
  SQLITE,
  setEmbedGenSql,
  slots,
  stampSql,
  stampValues,
  unleaseSql,
} from '../sql/index.js';
import { storedIndex } from './index/stored-index.js';
import type { GenRow, SqliteContext, SqliteKey, SqliteValue } from './sqlite-context.js';
import { docRowSql, pruneProbeSql } from './sqlite-sql.js';
import { forgetText, indexText, moveText } from './sqlite-text.js';

/** Stamps the incremental prune looks at per save transaction, plus per saved document. */
const PRUNE_PER_SAVE = 256;
const PRUNE_PER_DOC = 16;

/** `SqliteStore.saveVectors`: one document, in its own write transaction. */
export function saveOne(c: SqliteContext, g: GenRow, item: SaveItem<SqliteKey>): void {
  c.db
    .transaction(() => {
      save(c, g, item);
      pruneSome(c, g, PRUNE_PER_SAVE + PRUNE_PER_DOC);
    })
    .immediate();
}

/**
 * `SqliteStore.saveMany`: many documents in one write transaction. A stale
 * or missing item is refused before it writes anything (so it needs no
 * savepoint) and the others go on.
 */
export function saveMany(
  c: SqliteContext,
  g: GenRow,
  items: readonly SaveItem<SqliteKey>[],
): (Error | null)[] {
  const all = c.db.transaction(() => {
    const pending: PendingVectors = new Map();
    const outcomes = items.map((item) => {
      try {
        save(c, g, item, pending);
        return null;
      } catch (e) {
        if (e instanceof StaleError || e instanceof MissingDocumentError) return e;
        throw e;
      }
    });
    // Every saved vector written at once (multi-row statements; a binary
    // generation's center read once), before the prune looks at anything.
    storedIndex(c, g).insert([...pending.values()]);
    pruneSome(c, g, PRUNE_PER_SAVE + PRUNE_PER_DOC * items.length);
    return outcomes;
  });
  return all.immediate();
}

/**
 * What a save does, inside the caller's transaction: checks the
 * preconditions (one lookup: the row exists, its key is unique, its
 * revision is the one scanned, every vector has the generation's
 * dimensions) before writing anything; then replaces the document's chunks
 * and vectors, voids the other generations when the caller invalidated the
 * document, stamps it (copying the row's revision in SQL), indexes its text
 * and gives its lease back.
 */
function save(
  c: SqliteContext,
  g: GenRow,
  item: SaveItem<SqliteKey>,
  pending?: PendingVectors,
): void {
  const s = c.schema;
  const { doc, revision, vectors } = item;
  requireRevision(s.revisionColumn, doc, revision);
  const rows = c.keyStmt('docRow', () => docRowSql(c)).all({ doc, revision }) as {
    id: SqliteKey;
    embed_gen?: SqliteValue;
    same?: number | bigint;
  }[];
  const row = rows[0];
  checkSave({
    gen: g.key,
    doc,
    revision,
    revisionColumn: s.revisionColumn,
    dimensions: g.dimensions,
    vectors,
    lookup: { found: row !== undefined, duplicate: rows.length > 1, same: Boolean(row?.same) },
    docsTable: s.docsTable,
    idColumn: s.idColumn,
  });
  const key = row!.id;
  dropChunks(c, g, key, pending);
  const insChunk = c.stmt(
    'insChunk',
    () => `INSERT INTO ${c.t.chunks} (gen, doc, chunk_index, start, "end") VALUES (?, ?, ?, ?, ?)`,
  );
  const written = vectors.map(
    (cv) =>
      [
        BigInt(insChunk.run(g.id, key, cv.chunkIndex, cv.start, cv.end).lastInsertRowid),
        cv.vector,
      ] as const,
  );
  if (pending) for (const r of written) pending.set(Number(r[0]), r);
  else storedIndex(c, g).insert(written);
  if (c.n.embedGen) {
    if (row!.embed_gen === null) {
      // The caller invalidated this document: every other generation's
      // stamp is void too, not just the one being saved now.
      for (const other of c.allGens()) if (other.id !== g.id) dropChunks(c, other, key);
      c.stmt('dropOtherStamps', () => dropOtherStampsSql(c.n, slots(SQLITE))).run({
        doc: key,
        gen: g.id,
      });
    }
    const embedGen = c.n.embedGen;
    c.stmt('setEmbedGen', () => setEmbedGenSql({ ...c.n, embedGen }, slots(SQLITE))).run({
      key: g.key,
      doc: key,
    });
  }
  c.stmt('stamp', () => stampSql(c.n, slots(SQLITE))).run({
    gen: g.id,
    doc: key,
    ...stampValues(item),
  });
  // Full text belongs to the document, not to this generation: a stamp-skip
  // (no vectors) still indexes it, since another generation may rely on it.
  if (s.fullText) indexText(c, key);
  if (s.leaseMs !== undefined)
    c.stmt('unlease', () => unleaseSql(c.n, slots(SQLITE))).run({ gen: g.id, doc: key });
}

/**
 * Vectors of one `saveMany` not written yet, by chunk id: they are written
 * together at the end of its transaction.
 */
type PendingVectors = Map<number, readonly [id: bigint, vector: Float32Array]>;

/** Removes a document's chunks of `g` and their vectors (written, or still `pending`). */
function dropChunks(c: SqliteContext, g: GenRow, key: SqliteKey, pending?: PendingVectors): void {
  const ids = c
    .stmt('chunkIds', () => `SELECT id FROM ${c.t.chunks} WHERE gen = ? AND doc = ?`)
    .pluck()
    .all(g.id, key) as number[];
  if (ids.length === 0) return;
  if (pending) for (const id of ids) pending.delete(id);
  if (!g.reclaimed) storedIndex(c, g).remove(ids);
  c.stmt('delChunks', () => deleteChunksSql(c.n, slots(SQLITE))).run({ gen: g.id, doc: key });
}

/** `SqliteStore.deleteVectors` inside the caller's transaction: every generation's vectors, the stamps and the full text. */
export function forget(c: SqliteContext, doc: SqliteKey): void {
  for (const g of c.allGens()) dropChunks(c, g, doc);
  c.stmt('dropStamps', () => `DELETE FROM ${c.t.stamps} WHERE doc = ?`).run(doc);
  if (c.schema.fullText) forgetText(c, doc);
}

/** `SqliteStore.moveVectors`: a document's vectors, stamps and full text moved to another key. */
export function moveVectors(c: SqliteContext, from: SqliteKey, to: SqliteKey): void {
  const t = c.t;
  const run = c.db.transaction(() => {
    for (const g of c.allGens()) dropChunks(c, g, to);
    c.stmt('dropStamps', () => `DELETE FROM ${t.stamps} WHERE doc = ?`).run(to);
    c.stmt('moveChunks', () => `UPDATE ${t.chunks} SET doc = ? WHERE doc = ?`).run(to, from);
    c.stmt('moveStamps', () => `UPDATE ${t.stamps} SET doc = ? WHERE doc = ?`).run(to, from);
    if (c.schema.leaseMs !== undefined)
      c.stmt('dropLeases2', () => `DELETE FROM ${t.leases} WHERE doc = ? OR doc = ?`).run(from, to);
    if (c.schema.fullText) moveText(c, from, to);
  });
  run.immediate();
}

/**
 * Incremental prune, run by every save inside its transaction: looks at
 * the next `budget` stamps of `g` (in key order, from where the previous
 * look stopped; the position is kept in the database, so fills that are
 * interrupted again and again still get through every stamp) and forgets
 * the documents whose rows are gone. Orphans of rows deleted outside
 * vecfill are so freed as fills go, not only when one completes (`prune`).
 */
function pruneSome(c: SqliteContext, g: GenRow, budget: number): void {
  const after = c
    .keyStmt('pruneAfterOf', () => `SELECT prune_after FROM ${c.t.gens} WHERE id = ?`)
    .pluck()
    .get(g.id) as SqliteKey | null;
  const rows = (
    after === null
      ? c.keyStmt('pruneHead', () => pruneProbeSql(c, false)).all({ gen: g.id, budget })
      : c.keyStmt('pruneNext', () => pruneProbeSql(c, true)).all({ gen: g.id, after, budget })
  ) as { doc: SqliteKey | null; seen: number | bigint | null }[];
  let last = rows[0]!;
  for (const r of rows) {
    if (r.seen === null) forget(c, r.doc!);
    else last = r;
  }
  c.stmt('pruneAt', () => `UPDATE ${c.t.gens} SET prune_after = ? WHERE id = ?`).run(
    Number(last.seen) < budget ? null : last.doc,
    g.id,
  );
}

/** `SqliteStore.prune`: forgets every document whose row is gone. Returns how many. */
export function prune(c: SqliteContext): number {
  const gone = c
    .keyStmt('orphans', () => orphanDocsSql(c.n))
    .pluck()
    .all() as SqliteKey[];
  for (const doc of gone) c.db.transaction(() => forget(c, doc)).immediate();
  return gone.length;
}
