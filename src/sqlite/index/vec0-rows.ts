import type Database from 'better-sqlite3';
import type { StoredVector, VectorBatch } from './generation-index.js';

/**
 * Every vector of a float vec0 table, read from the table's own storage:
 * sqlite-vec 0.1 keeps vectors in chunks of `size` slots — a validity
 * bitmap, the slots' rowids (int64) and one BLOB of `size` vectors — so a
 * chunk is one row read instead of `size` virtual-table steps (measured
 * 6× faster than `SELECT rowid, embedding` over the vec0 table, which is
 * what loading a generation into memory costs). One batch per chunk, read
 * as the caller iterates: one chunk's BLOB (1.5 MB at 384 dimensions) is
 * held at a time, not the whole table, and the BLOBs are read in rowid
 * order straight off their B-tree (joined to the chunk table and sorted,
 * SQLite copied every BLOB into a temporary B-tree first: 0.3 s of CPU at
 * 100k × 384). The statement stays open while the caller iterates, so the
 * caller must not use the connection until it has finished.
 *
 * Returns null when the tables do not look like that (another sqlite-vec
 * version; checked before the first batch): the caller then reads through
 * the vec0 table.
 */
export function readVec0Chunks(
  db: Database.Database,
  table: string,
  dimensions: number,
): Iterable<VectorBatch> | null {
  let chunks: [number, number, Buffer, Buffer, number][];
  let blobs: Database.Statement;
  try {
    // Small: the bitmaps, the rowids and each BLOB's length (no overflow page read).
    chunks = db
      .prepare(
        `SELECT c.chunk_id, c.size, c.validity, c.rowids, length(v.vectors)
         FROM ${table}_chunks c JOIN ${table}_vector_chunks00 v ON v.rowid = c.chunk_id`,
      )
      .raw()
      .all() as [number, number, Buffer, Buffer, number][];
    blobs = db.prepare(`SELECT rowid, vectors FROM ${table}_vector_chunks00 ORDER BY rowid`).raw();
  } catch {
    return null;
  }
  const layout = new Map<number, { size: number; validity: Buffer; rowids: Buffer }>();
  for (const [id, size, validity, rowids, bytes] of chunks) {
    if (validity.length * 8 < size || rowids.length < size * 8 || bytes < size * dimensions * 4)
      return null;
    layout.set(id, { size, validity, rowids });
  }
  return (function* () {
    if (layout.size === 0) return;
    for (const [id, blob] of blobs.iterate() as IterableIterator<[number, Buffer]>) {
      const chunk = layout.get(id);
      if (!chunk) continue;
      const batch = chunkBatch(chunk.size, chunk.validity, chunk.rowids, blob, dimensions);
      if (batch) yield batch;
    }
  })();
}

/** The used slots of one vec0 chunk as a batch; null when none is used. */
function chunkBatch(
  size: number,
  validity: Buffer,
  rowids: Buffer,
  blob: Buffer,
  dimensions: number,
): VectorBatch | null {
  const all =
    blob.byteOffset % 4 === 0
      ? new Float32Array(blob.buffer, blob.byteOffset, size * dimensions)
      : new Float32Array(new Uint8Array(blob.subarray(0, size * dimensions * 4)).buffer);
  let used = 0;
  for (let i = 0; i < size; i++) if (slotUsed(validity, i)) used++;
  if (used === 0) return null;
  const ids = new Float64Array(used);
  // A full chunk is used as it is; one with holes is packed.
  const vectors = used === size ? all : new Float32Array(used * dimensions);
  let k = 0;
  for (let i = 0; i < size; i++) {
    if (!slotUsed(validity, i)) continue;
    ids[k] = slotRowid(rowids, i);
    if (vectors !== all)
      vectors.set(all.subarray(i * dimensions, (i + 1) * dimensions), k * dimensions);
    k++;
  }
  return { ids, vectors };
}

/** Whether slot `i` of a vec0 chunk holds a row (its validity bit). */
function slotUsed(validity: Buffer, i: number): boolean {
  return (validity[i >> 3]! & (1 << (i & 7))) !== 0;
}

/** The rowid in slot `i` of a vec0 chunk: an int64 read as two halves (no BigInt per row). */
function slotRowid(rowids: Buffer, i: number): number {
  return rowids.readUInt32LE(i * 8) + rowids.readInt32LE(i * 8 + 4) * 2 ** 32;
}

/**
 * Rows of separate float32 BLOBs (`[id, BLOB]`, e.g. a statement being
 * iterated), packed into batches of `per` rows as they come: no array of
 * every row, no object per row kept past its copy.
 */
export function* packBatches(
  rows: Iterable<readonly [number | bigint, Buffer]>,
  dimensions: number,
  per = 1024,
): Generator<VectorBatch> {
  const rowBytes = dimensions * 4;
  let ids = new Float64Array(per);
  let bytes = new Uint8Array(per * rowBytes);
  let n = 0;
  for (const [id, blob] of rows) {
    ids[n] = Number(id);
    bytes.set(blob.subarray(0, rowBytes), n * rowBytes);
    if (++n === per) {
      yield { ids, vectors: new Float32Array(bytes.buffer) };
      ids = new Float64Array(per);
      bytes = new Uint8Array(per * rowBytes);
      n = 0;
    }
  }
  if (n > 0)
    yield { ids: ids.subarray(0, n), vectors: new Float32Array(bytes.buffer, 0, n * dimensions) };
}

/** Rows of separate float32 BLOBs, packed into one batch. */
export function packRows(rows: readonly StoredVector[], dimensions: number): VectorBatch {
  const vectors = new Float32Array(rows.length * dimensions);
  const bytes = new Uint8Array(vectors.buffer);
  const ids = new Float64Array(rows.length);
  rows.forEach(([id, blob], i) => {
    ids[i] = id;
    bytes.set(blob.subarray(0, dimensions * 4), i * dimensions * 4);
  });
  return { ids, vectors };
}

/**
 * Wanted rows making up at least this share of a vec0 chunk are read from
 * the chunk's whole vector BLOB instead of one by one. A row read through
 * vec0 opens the chunk's BLOB and walks its overflow pages up to the row
 * (about 10 µs a row at 20k × 384 on this machine); reading a whole chunk
 * of 1,024 rows × 384 floats cost about as much as 120 such reads.
 */
const WHOLE_CHUNK_SHARE = 1 / 8;

const statements = new WeakMap<Database.Database, Map<string, Database.Statement>>();

function cached(db: Database.Database, sql: string): Database.Statement {
  let m = statements.get(db);
  if (!m) {
    m = new Map();
    statements.set(db, m);
  }
  let st = m.get(sql);
  if (!st) {
    st = db.prepare(sql);
    m.set(sql, st);
  }
  return st;
}

/** Per connection: the floats `readVec0Batch(…, reuse)` reads into. */
const scratch = new WeakMap<Database.Database, Float32Array>();
/** Floats of the largest reused buffer (16 MiB); a larger batch gets its own. */
const SCRATCH_FLOATS = 4 * 2 ** 20;

/**
 * `n` floats: with `reuse`, from a buffer kept per connection (a fresh
 * 1.5 MB array cost ~400 page faults, ~1.5 ms under load, several times
 * the copy into it), else new.
 */
function floatsFor(db: Database.Database, n: number, reuse: boolean): Float32Array {
  if (!reuse || n > SCRATCH_FLOATS) return new Float32Array(n);
  let buf = scratch.get(db);
  if (!buf || buf.length < n) {
    buf = new Float32Array(Math.min(SCRATCH_FLOATS, Math.max(n, 2 * (buf?.length ?? 0))));
    scratch.set(db, buf);
  }
  return buf.subarray(0, n);
}

/**
 * The stored vectors of chunk ids `ids` in a float vec0 table, read in bulk
 * into one batch (with `reuse`, into memory the next such call on the
 * connection overwrites): when the ids are dense (a batch of changes from
 * another process: rows written together sit in vec0's newest chunks),
 * their chunk positions from the slots of the chunks holding them
 * (`positionsOf`) and each chunk holding many of them read whole; the rest
 * (every id, when they are few or spread out, like a search's rescoring)
 * in one joined query.
 * Missing ids are left out. Returns null when the tables do not look like
 * sqlite-vec 0.1's.
 */
export function readVec0Batch(
  db: Database.Database,
  table: string,
  dimensions: number,
  ids: readonly number[],
  reuse = false,
): VectorBatch | null {
  if (ids.length === 0) return { ids: [], vectors: new Float32Array(0) };
  const rowBytes = dimensions * 4;
  let positions: [number, number | null, number | null][];
  let whole: number;
  try {
    const chunkSize =
      (cached(db, `SELECT size FROM ${table}_chunks LIMIT 1`).pluck().get() as
        | number
        | undefined) ?? 1024;
    whole = wholeChunkRows(chunkSize);
    positions = positionsOf(db, table, ids, whole, chunkSize);
  } catch {
    return null;
  }
  const byChunk = new Map<number, [number, number][]>();
  const single: number[] = [];
  for (const [id, chunk, offset] of positions) {
    if (chunk === null || offset === null) single.push(id);
    else {
      const list = byChunk.get(chunk);
      if (list) list.push([id, offset]);
      else byChunk.set(chunk, [[id, offset]]);
    }
  }
  const outIds = new Float64Array(positions.length);
  const vectors = floatsFor(db, positions.length * dimensions, reuse);
  const bytes = new Uint8Array(vectors.buffer, vectors.byteOffset, vectors.byteLength);
  let n = 0;
  for (const [chunk, list] of byChunk) {
    if (list.length < whole) {
      for (const [id] of list) single.push(id);
      continue;
    }
    const blob = cached(db, `SELECT vectors FROM ${table}_vector_chunks00 WHERE rowid = ?`)
      .pluck()
      .get(chunk) as Buffer | undefined;
    for (const [id, offset] of list) {
      if (!blob || blob.length < (offset + 1) * rowBytes) {
        single.push(id);
        continue;
      }
      outIds[n] = id;
      bytes.set(blob.subarray(offset * rowBytes, (offset + 1) * rowBytes), n++ * rowBytes);
    }
  }
  if (single.length > 0) {
    const rows = cached(
      db,
      `SELECT v.rowid, v.embedding FROM json_each(?) j CROSS JOIN ${table} v ON v.rowid = j.value`,
    )
      .raw()
      // In rowid order: rows of one chunk together (~8 % less CPU than in the order given).
      .all(JSON.stringify(single.sort((a, b) => a - b))) as [number | bigint, Buffer][];
    for (const [id, blob] of rows) {
      outIds[n] = Number(id);
      bytes.set(blob.subarray(0, rowBytes), n++ * rowBytes);
    }
  }
  return { ids: outIds.subarray(0, n), vectors: vectors.subarray(0, n * dimensions) };
}

/**
 * Ids spread over at most this many times their count (and, in chunks, over
 * at most this many times their count of slots) are dense: the rows another
 * process wrote together have consecutive chunk ids and sit together in
 * vec0's newest chunks, so their chunks are found and read whole.
 */
const RANGE_SPREAD = 4;

/**
 * `[id, chunk, offset]` for each of `ids`, or `[id, null, null]` (read it
 * by itself) when its chunk is not worth finding: ids too few to fill any
 * chunk's `whole` share, or spread too thin to share chunks (a search's
 * rescoring, where the lookup would cost more than the reads it saves).
 * Dense ids are found from the slots of the chunks holding their range
 * (the range's first and last chunk counted in SQL, then each chunk's
 * rowid list: 1,000 changed rows in 16 chunk rows, where listing their
 * 1,000 rowid-table rows cost 0.6–0.9 ms). Ids not found are missing.
 */
function positionsOf(
  db: Database.Database,
  table: string,
  ids: readonly number[],
  whole: number,
  chunkSize: number,
): [number, number | null, number | null][] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const id of ids) {
    lo = Math.min(lo, id);
    hi = Math.max(hi, id);
  }
  if (ids.length < whole || hi - lo >= RANGE_SPREAD * ids.length)
    return ids.map((id) => [id, null, null]);
  const wanted = new Set(ids);
  const [first, last] = cached(
    db,
    `SELECT min(chunk_id), max(chunk_id) FROM ${table}_rowids WHERE rowid BETWEEN ? AND ?`,
  )
    .raw()
    .get(lo, hi) as [number | null, number | null];
  if (first === null || last === null) return [];
  if ((last - first + 1) * chunkSize > RANGE_SPREAD * ids.length) {
    // The range's rows are spread over many chunks (not written together): list them.
    const rows = cached(
      db,
      `SELECT rowid, chunk_id, chunk_offset FROM ${table}_rowids WHERE rowid BETWEEN ? AND ?`,
    )
      .raw()
      .all(lo, hi) as [number, number | null, number | null][];
    return rows.filter(([id]) => wanted.has(id));
  }
  const chunks = cached(
    db,
    `SELECT chunk_id, size, validity, rowids FROM ${table}_chunks WHERE chunk_id BETWEEN ? AND ?`,
  )
    .raw()
    .all(first, last) as [number, number, Buffer, Buffer][];
  const out: [number, number, number][] = [];
  for (const [chunk, size, validity, rowids] of chunks) {
    const slots = Math.min(size, validity.length * 8, rowids.length >> 3);
    for (let i = 0; i < slots; i++) {
      if (!slotUsed(validity, i)) continue;
      const id = slotRowid(rowids, i);
      if (wanted.has(id)) out.push([id, chunk, i]);
    }
  }
  return out;
}

/** Wanted rows of one chunk from which the chunk is read whole. */
function wholeChunkRows(chunkSize: number): number {
  return Math.max(2, Math.ceil(chunkSize * WHOLE_CHUNK_SHARE));
}

/** `readVec0Batch`'s rows as separate BLOBs (sharing one buffer). */
export function readVec0Rows(
  db: Database.Database,
  table: string,
  dimensions: number,
  ids: readonly number[],
): StoredVector[] | null {
  const batch = readVec0Batch(db, table, dimensions, ids);
  if (!batch) return null;
  const rowBytes = dimensions * 4;
  const bytes = Buffer.from(
    batch.vectors.buffer,
    batch.vectors.byteOffset,
    batch.ids.length * rowBytes,
  );
  return Array.from(
    batch.ids,
    (id, i) => [id, bytes.subarray(i * rowBytes, (i + 1) * rowBytes)] as const,
  );
}
