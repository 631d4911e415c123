import type Database from 'better-sqlite3';
import type { StoredVector, VectorBatch } from './generation-index.js';

/**
 * Every vector of a float vec0 table, read from the table's own storage:
 * sqlite-vec 0.1 keeps vectors in chunks of `size` slots — a validity
 * bitmap, the slots' rowids (int64) and one BLOB of `size` vectors — so a
 * chunk is one row read instead of `size` virtual-table steps (measured
 * 6× faster than `SELECT rowid, embedding` over the vec0 table, which is
 * what loading a generation into memory costs). One batch per chunk.
 *
 * Returns null when the tables do not look like that (another sqlite-vec
 * version): the caller then reads through the vec0 table.
 */
export function readVec0Chunks(
  db: Database.Database,
  table: string,
  dimensions: number,
): VectorBatch[] | null {
  let chunks: [number, Buffer, Buffer, Buffer][];
  try {
    chunks = db
      .prepare(
        `SELECT c.size, c.validity, c.rowids, v.vectors
         FROM ${table}_chunks c JOIN ${table}_vector_chunks00 v ON v.rowid = c.chunk_id
         ORDER BY c.chunk_id`,
      )
      .raw()
      .all() as [number, Buffer, Buffer, Buffer][];
  } catch {
    return null;
  }
  const out: VectorBatch[] = [];
  for (const [size, validity, rowids, blob] of chunks) {
    if (
      validity.length * 8 < size ||
      rowids.length < size * 8 ||
      blob.length < size * dimensions * 4
    )
      return null;
    const all =
      blob.byteOffset % 4 === 0
        ? new Float32Array(blob.buffer, blob.byteOffset, size * dimensions)
        : new Float32Array(new Uint8Array(blob.subarray(0, size * dimensions * 4)).buffer);
    let used = 0;
    for (let i = 0; i < size; i++) if (validity[i >> 3]! & (1 << (i & 7))) used++;
    if (used === 0) continue;
    const ids = new Float64Array(used);
    // A full chunk is used as it is; one with holes is packed.
    const vectors = used === size ? all : new Float32Array(used * dimensions);
    let k = 0;
    for (let i = 0; i < size; i++) {
      if (!(validity[i >> 3]! & (1 << (i & 7)))) continue;
      // int64 rowid as two halves: no BigInt per row.
      ids[k] = rowids.readUInt32LE(i * 8) + rowids.readInt32LE(i * 8 + 4) * 2 ** 32;
      if (vectors !== all)
        vectors.set(all.subarray(i * dimensions, (i + 1) * dimensions), k * dimensions);
      k++;
    }
    out.push({ ids, vectors });
  }
  return out;
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
