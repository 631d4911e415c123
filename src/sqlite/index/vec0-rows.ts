import type Database from 'better-sqlite3';
import type { StoredVector } from './generation-index.js';

/**
 * Every vector of a float vec0 table, read from the table's own storage:
 * sqlite-vec 0.1 keeps vectors in chunks of `size` slots — a validity
 * bitmap, the slots' rowids (int64) and one BLOB of `size` vectors — so a
 * chunk is one row read instead of `size` virtual-table steps (measured
 * 6× faster than `SELECT rowid, embedding` over the vec0 table, which is
 * what loading a generation into memory costs).
 *
 * Returns null when the tables do not look like that (another sqlite-vec
 * version): the caller then reads through the vec0 table.
 */
export function readVec0Chunks(
  db: Database.Database,
  table: string,
  dimensions: number,
): StoredVector[] | null {
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
  const rowBytes = dimensions * 4;
  const out: StoredVector[] = [];
  for (const [size, validity, rowids, vectors] of chunks) {
    if (validity.length * 8 < size || rowids.length < size * 8 || vectors.length < size * rowBytes)
      return null;
    for (let i = 0; i < size; i++) {
      if (!(validity[i >> 3]! & (1 << (i & 7)))) continue;
      // int64 rowid as two halves: no BigInt per row.
      const id = rowids.readUInt32LE(i * 8) + rowids.readInt32LE(i * 8 + 4) * 2 ** 32;
      out.push([id, vectors.subarray(i * rowBytes, (i + 1) * rowBytes)]);
    }
  }
  return out;
}
