/**
 * The seam between a store and the structure that finds a generation's
 * nearest chunks. An index only produces candidates — chunk ids with exact
 * cosine distances, best first; the store joins them back to live, freshly
 * stamped rows, widens, filters and fuses exactly as it would for any other
 * source. So an index may be behind (a removed chunk is dropped by the join)
 * or approximate (a missed chunk costs recall, never correctness).
 */

/**
 * How a generation's vectors are scanned:
 * - `float32`: every vector in memory, exact dot products (SIMD);
 * - `int8`: one byte per dimension in memory, then the best candidates
 *   rescored exactly from the stored float vectors;
 * - `binary`: one bit per dimension (signs around the generation's center)
 *   in memory, Hamming distance, then rescored the same way;
 * - `sqlite-vec`: nothing in memory; sqlite-vec's KNN over the vec0 table.
 */
export type ScanKind = 'float32' | 'int8' | 'binary' | 'sqlite-vec';

export const SCAN_KINDS: readonly ScanKind[] = ['float32', 'int8', 'binary', 'sqlite-vec'];

/** A candidate: chunk id and exact cosine distance (1 − cosine similarity). */
export type Candidate = readonly [id: number, distance: number];

/** A chunk's float vector as stored: a float32 BLOB. */
export type StoredVector = readonly [id: number, vector: Buffer];

/** Many float vectors at once: `ids[i]`'s vector is `vectors[i × d, (i + 1) × d)`. */
export interface VectorBatch {
  ids: ArrayLike<number>;
  vectors: Float32Array;
}

/** Where an index reads a generation's float vectors. */
export interface VectorSource {
  /**
   * Every stored vector of the generation, in batches (no allocation per
   * row), possibly read as they are iterated: nothing else may use the
   * source's connection until the iteration ends.
   */
  all(): Iterable<VectorBatch>;
  /** The stored vectors of these chunk ids (missing ids are left out). */
  some(ids: readonly number[]): StoredVector[];
  /** The same, packed in one batch (no object per row), valid until the next `someBatch` call. */
  someBatch?(ids: readonly number[]): VectorBatch;
}

/** An in-memory index of one generation's vectors. */
export interface GenerationIndex {
  readonly kind: Exclude<ScanKind, 'sqlite-vec'>;
  /** Rows held. */
  readonly size: number;
  /** Adds rows, or replaces rows with the same chunk id. */
  insert(rows: readonly StoredVector[]): void;
  /** The same for many packed rows (loading a generation). */
  insertBatch(batch: VectorBatch): void;
  /** Removes rows by chunk id; unknown ids are ignored. */
  remove(ids: readonly number[]): void;
  /** `remove(removed)`, then `insertBatch(batch)`, in one pass (catching up with a change log). */
  update(removed: readonly number[], batch: VectorBatch): void;
  /**
   * Up to `k` nearest chunk ids with exact cosine distances, best first.
   * With `among`, only those chunk ids are considered (a filtered search).
   * A quantized index ranks by its codes, then rescores its best `k` from
   * the stored floats: with `k` ≥ `size` the result is exactly the
   * float-exact ranking.
   */
  candidates(query: Float32Array, k: number, among?: readonly number[]): Candidate[];
  /**
   * Up to `k` nearest chunk ids that `keep` lets through (it answers, for a
   * batch of chunk ids, which pass: a filter checked in SQL), exact cosine
   * distances, best first: the rows are checked in the order of their scores
   * until enough pass. Null when the rows that pass look too few to find
   * that way within `budget` checked rows: list them and use `among`.
   */
  candidatesWhere?(
    query: Float32Array,
    k: number,
    keep: (ids: readonly number[]) => ReadonlySet<number>,
    budget?: number,
  ): Candidate[] | null;
  /** Bytes of memory the index holds. */
  bytes(): number;
  /** Bytes the index would hold for `rows` rows (to check a cap before loading). */
  bytesFor(rows: number): number;
  /** Releases the memory; the index is unusable afterwards. */
  drop(): void;
}
