import type { ScanKind, VectorSource } from './generation-index.js';

/** The kinds of index held in WebAssembly memory. */
export type MemoryKind = Exclude<ScanKind, 'sqlite-vec'>;

export interface MemoryIndexOptions {
  kind: MemoryKind;
  dimensions: number;
  /** The stored float vectors, read to rescore a quantized index's candidates. */
  source: VectorSource;
  /** A binary index's center: bit i is set when component i is above it (default 0). */
  center?: Float32Array;
  /**
   * A quantized index ranks this many times `k` rows by its codes before
   * rescoring them exactly and keeping `k`. Default 1.
   */
  rescoreFactor?: number;
  /**
   * Most rows the index may grow to (its memory's address space is reserved
   * for them up front); inserting more throws `RangeError`. Default: as many
   * as 4 GiB of memory holds.
   */
  maxRows?: number;
}

/** How one row and the query of a `kind` index of `d` dimensions are laid out. */
export interface RowLayout {
  /** Row stride in elements: floats for float32, bytes otherwise. */
  stride: number;
  rowBytes: number;
  queryBytes: number;
}

/**
 * float32 rows are padded to 4 floats (one SIMD lane), int8 rows to 16
 * bytes, binary rows to 128 bits; an int8 query is held as int16.
 */
export function rowLayout(kind: MemoryKind, d: number): RowLayout {
  if (kind === 'float32') {
    const stride = Math.ceil(d / 4) * 4;
    return { stride, rowBytes: stride * 4, queryBytes: stride * 4 };
  }
  if (kind === 'int8') {
    const stride = Math.ceil(d / 16) * 16;
    return { stride, rowBytes: stride, queryBytes: stride * 2 };
  }
  const stride = Math.ceil(d / 128) * 16;
  return { stride, rowBytes: stride, queryBytes: stride };
}

/** Bytes an index of `kind` holds for `rows` rows of `dimensions` (the cap is checked against it). */
export function memoryBytesFor(kind: MemoryKind, dimensions: number, rows: number): number {
  const { rowBytes } = rowLayout(kind, dimensions);
  // Row, score, slot, id (and an int8 row's scale); the dense id map, 4 bytes an id.
  return 4096 + rows * (rowBytes + 4 + 4 + 8 + 4 + (kind === 'int8' ? 4 : 0));
}
