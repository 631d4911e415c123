import {
  columnType,
  defaultOversample,
  floats,
  type Quantization,
  quantize,
  quantizedBytes,
  rescore,
} from '../quantize.js';
import { f32, type GenRow, type SqliteContext } from '../sqlite-context.js';
import type { Candidate } from './generation-index.js';
import type { GenerationSource } from './scan-indexes.js';
import { packBatches, packRows, readVec0Batch, readVec0Chunks, readVec0Rows } from './vec0-rows.js';

/**
 * One generation's vectors as SQLite stores them, whatever the generation's
 * quantization; the store's only way to write, delete or read them:
 * - no quantization: a cosine vec0 table of float32 vectors;
 * - `int8`: a cosine vec0 table of int8 codes, plus the float32 vectors in a
 *   plain table beside it (candidates are rescored from those);
 * - `binary`: a plain table of sign-bit codes around the generation's center,
 *   plus the float32 vectors beside it.
 * Every write is recorded in the change log, so the in-memory indexes
 * (`ScanIndexes`) follow.
 */
export interface StoredIndex {
  readonly quantization: Quantization | null;
  /**
   * How sqlite-vec searches it when no in-memory index does: a KNN joined
   * in SQL (`knnSql`, float), ranked `candidates` (int8 codes), or no KNN
   * at all (binary codes: an exact scan of the float vectors).
   */
  readonly knn: 'sql' | 'candidates' | 'exact';
  /** Candidates fetched per wanted hit (the generation's oversample, or 2 for an exact float index). */
  readonly oversample: number;
  /** Creates the tables (idempotent). */
  create(): void;
  /** Writes one chunk's vector (its chunk id) in the current transaction. */
  insert(rows: readonly (readonly [id: bigint, vector: Float32Array])[]): void;
  /** Removes chunks by id. */
  remove(ids: readonly number[]): void;
  /** Drops the tables (reclaim). */
  drop(): void;
  /** Where the float32 vectors are: table, id column and vector column (for exact scans in SQL). */
  readonly floats: { table: string; id: string; column: string };
  /** The vectors for an in-memory index. */
  source(): GenerationSource;
  /**
   * Up to `k` candidates by sqlite-vec's KNN over int8 codes, rescored
   * exactly from the float vectors (an `int8` generation scanned without
   * an in-memory index).
   */
  candidates(query: Float32Array, k: number): Candidate[];
  /** Bytes of quantized codes beside the float vectors (0 without quantization). */
  bytes(chunks: number): number;
}

/** Rows one multi-row INSERT writes (two parameters each). */
const GROUP = 32;

/**
 * Rows per vec0 chunk of a float generation (sqlite-vec's default is
 * 1,024). vec0 keeps a chunk's vectors in one BLOB, and reading or writing
 * one row walks that BLOB's overflow pages up to the row: with 1,024 rows
 * of 384 floats a BLOB spans 384 pages. Rows are read one by one when an
 * int8 scan rescores its candidates and when another process's changes are
 * applied, and after another connection commits SQLite drops its memory
 * map, so each walked page is a page fault again. 64 rows a chunk
 * (measured at 100k × 384: a point read 16 → 7 µs, a fill 35 % faster,
 * sqlite-vec's own KNN ~10 % slower). Generations made before keep theirs:
 * the readers take the size from each chunk.
 */
export const VEC0_CHUNK_ROWS = 64;

/** The stored index of generation `g`. */
export function storedIndex(c: SqliteContext, g: GenRow): StoredIndex {
  const q = g.quantization;
  const vec = c.t.vec(g.id);
  const full = c.t.full(g.id);
  const key = (name: string) => ({ name, gen: g.id });
  const floatsAt = q
    ? { table: full, id: 'id', column: 'v' }
    : { table: vec, id: 'rowid', column: 'embedding' };
  /** Marks every in-memory copy of `g`'s binary codes (in any process) out of date. */
  const bumpWrites = () =>
    c.stmt('bumpWrites', () => `UPDATE ${c.t.gens} SET writes = writes + 1 WHERE id = ?`).run(g.id);
  /** The center as of this transaction (another process may have re-centered since `g` was read). */
  const center = (): Float32Array | undefined => {
    const blob = c
      .stmt('centreOf', () => `SELECT centre FROM ${c.t.gens} WHERE id = ?`)
      .pluck()
      .get(g.id) as Buffer | null;
    return blob ? floats(blob) : undefined;
  };
  return {
    quantization: q,
    knn: q === 'binary' ? 'exact' : q === 'int8' ? 'candidates' : 'sql',
    oversample: q ? (g.oversample ?? defaultOversample(q)) : 2,
    floats: floatsAt,
    create() {
      const d = Math.floor(g.dimensions);
      if (!q) {
        c.db.exec(
          `CREATE VIRTUAL TABLE IF NOT EXISTS ${vec} USING vec0(embedding float[${d}] distance_metric=cosine, chunk_size=${VEC0_CHUNK_ROWS})`,
        );
        return;
      }
      // Binary codes: a plain table (scanned in memory, or exactly); int8: a cosine vec0 table.
      const index =
        q === 'binary'
          ? `CREATE TABLE IF NOT EXISTS ${vec} (id INTEGER PRIMARY KEY, embedding BLOB NOT NULL)`
          : `CREATE VIRTUAL TABLE IF NOT EXISTS ${vec} USING vec0(embedding ${columnType(d)} distance_metric=cosine)`;
      c.db.exec(`${index};
        CREATE TABLE IF NOT EXISTS ${full} (id INTEGER PRIMARY KEY, v BLOB NOT NULL);`);
    },
    insert(rows) {
      if (rows.length === 0) return;
      const code = q === 'int8' ? 'vec_int8(?)' : '?';
      // Multi-row statements of GROUP rows (the rest one by one): a bulk
      // load pays one statement step per GROUP rows, not per row.
      const groups = Math.floor(rows.length / GROUP) * GROUP;
      const ins = (table: string, cols: string, value: string, n: number) =>
        c.stmt(
          key(`ins:${table}:${n}`),
          () =>
            `INSERT INTO ${table} (${cols}) VALUES ${Array(n).fill(`(?, ${value})`).join(', ')}`,
        );
      const write = (table: string, cols: string, value: string, blob: (i: number) => Buffer) => {
        const many = ins(table, cols, value, GROUP);
        const one = ins(table, cols, value, 1);
        const args: (bigint | Buffer)[] = [];
        for (let i = 0; i < rows.length; i++) {
          args.push(rows[i]![0], blob(i));
          if (i < groups ? args.length === 2 * GROUP : true) {
            (i < groups ? many : one).run(args);
            args.length = 0;
          }
        }
      };
      if (!q) {
        write(vec, 'rowid, embedding', code, (i) => f32(rows[i]![1]));
      } else {
        // A binary generation's center and write count: read and bumped once per call.
        const mid = q === 'binary' ? center() : undefined;
        if (q === 'binary') bumpWrites();
        write(vec, 'rowid, embedding', code, (i) => quantize(q, rows[i]![1], mid));
        write(full, 'id, v', '?', (i) => f32(rows[i]![1]));
      }
      c.scans.log.record(
        g.id,
        rows.map(([id]) => id),
        false,
      );
    },
    remove(ids) {
      if (ids.length === 0) return;
      const del = c.stmt(key('delVec'), () => `DELETE FROM ${vec} WHERE rowid = ?`);
      for (const id of ids) del.run(BigInt(id));
      c.scans.log.record(g.id, ids, true);
      if (q === 'binary') bumpWrites();
      if (q) {
        const delFull = c.stmt(key('delFull'), () => `DELETE FROM ${full} WHERE id = ?`);
        for (const id of ids) delFull.run(id);
      }
    },
    drop() {
      c.db.exec(`DROP TABLE IF EXISTS ${vec}`);
      c.db.exec(`DROP TABLE IF EXISTS ${full}`);
      bumpWrites();
      c.scans.log.forget(g.id);
      c.scans.drop(g.id);
      c.statements.evictGeneration(g.id);
    },
    source() {
      const { table, id, column } = floatsAt;
      const asRows = (rows: unknown[]) =>
        (rows as [number | bigint, Buffer][]).map(([i, b]) => [Number(i), b] as const);
      const some = (ids: readonly number[]) => {
        if (!q) {
          const rows = readVec0Rows(c.db, vec, g.dimensions, ids);
          if (rows) return rows;
        }
        // One query for all ids (a plain table, or a vec0 table of another layout).
        return asRows(
          c
            .stmt(
              key('vectors'),
              () =>
                `SELECT v.${id}, v.${column} FROM json_each(?) j CROSS JOIN ${table} v ON v.${id} = j.value`,
            )
            .raw()
            .all(JSON.stringify(ids)),
        );
      };
      return {
        all: () =>
          (!q && readVec0Chunks(c.db, vec, g.dimensions)) ||
          packBatches(
            c
              .stmt(key('allVectors'), () => `SELECT ${id}, ${column} FROM ${table}`)
              .raw()
              .iterate() as Iterable<[number | bigint, Buffer]>,
            g.dimensions,
          ),
        some,
        someBatch: (ids) =>
          (!q && readVec0Batch(c.db, vec, g.dimensions, ids, true)) ||
          packRows(some(ids), g.dimensions),
        center,
        count: () => c.chunkCount(g),
      };
    },
    candidates(query, k) {
      const ids = c
        .stmt(
          key('cand'),
          () => `SELECT rowid FROM ${vec} WHERE embedding MATCH vec_int8(?) AND k = ?`,
        )
        .pluck()
        .all(quantize('int8', query), k) as number[];
      if (ids.length === 0) return [];
      const blobs = c
        .stmt(
          key('full'),
          () => `SELECT id, v FROM ${full} WHERE id IN (SELECT value FROM json_each(?))`,
        )
        .raw()
        .all(JSON.stringify(ids)) as [number, Buffer][];
      return rescore(query, blobs);
    },
    bytes(chunks) {
      return q ? chunks * quantizedBytes(q, g.dimensions) : 0;
    },
  };
}
