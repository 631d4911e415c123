import { rescore } from '../quantize.js';
import { kernelMemory, kernelsFor, type ScanKernels } from '../simd/kernels.js';
import { PARALLEL_BYTES, scanPool, startedScanPool } from '../simd/scan-pool.js';
import type { WasmMemory } from '../simd/wasm-api.js';
import { encodeRows, writeQuery } from './codes.js';
import type {
  Candidate,
  GenerationIndex,
  StoredVector,
  VectorBatch,
  VectorSource,
} from './generation-index.js';
import { int8Needed } from './int8-bound.js';
import {
  type MemoryIndexOptions,
  type MemoryKind,
  memoryBytesFor,
  rowLayout,
} from './memory-layout.js';
import { type Scan, scanResult } from './scan-result.js';
import { SlotMap } from './slot-map.js';
import { packRows } from './vec0-rows.js';

const PAGE = 65536;
const NONE: readonly number[] = [];
const EMPTY: VectorBatch = { ids: NONE, vectors: new Float32Array(0) };
/** The query sits at this byte offset of the memory. */
const QUERY_AT = 64;

/**
 * A generation's vectors in WebAssembly memory, scanned by the SIMD kernels.
 *
 * `float32` rows are unit vectors (normalized when inserted), so a dot
 * product with the query is its cosine times the query's norm. `int8` rows
 * are unit vectors scaled so their largest component is ±127, with that
 * scale kept per row (a per-generation scale would have to be fixed before
 * the data is known, and a later vector with a larger component would
 * clip); the query is held as int16 for more precision at no cost in the
 * kernel. `binary` rows are the sign bits around the center, as
 * `quantize('binary')` makes them.
 *
 * Rows are kept dense: a removed row's slot is taken by a new row, or by a
 * row moved from the end.
 */
export class MemoryIndex implements GenerationIndex {
  readonly kind: MemoryKind;
  readonly #d: number;
  /** Row stride in elements: floats for float32, bytes otherwise. */
  readonly #stride: number;
  readonly #rowBytes: number;
  readonly #queryBytes: number;
  readonly #source: VectorSource;
  readonly #center: Float32Array | undefined;
  readonly #rescoreFactor: number;
  #memory: WasmMemory;
  #kernels: ScanKernels;
  #cap = 0;
  #size = 0;
  /** Chunk id of each slot. */
  #ids = new Float64Array(0);
  /** int8: 1 / the row's scale, so dot × factor ranks by cosine. */
  #factors = new Float32Array(0);
  /** int8: at least every factor held (the largest ever inserted), for the error bound. */
  #maxFactor = 0;
  #rescoredRows = 0;
  readonly #slots = new SlotMap();
  #dropped = false;
  readonly #maxRows: number;

  constructor(options: MemoryIndexOptions) {
    const { kind, dimensions: d } = options;
    this.kind = kind;
    this.#d = d;
    this.#source = options.source;
    this.#center = options.center;
    this.#rescoreFactor = Math.max(1, options.rescoreFactor ?? 1);
    const layout = rowLayout(kind, d);
    this.#stride = layout.stride;
    this.#rowBytes = layout.rowBytes;
    this.#queryBytes = layout.queryBytes;
    this.#maxRows = Math.max(1, Math.floor(options.maxRows ?? 2 ** 32));
    const maxBytes = this.#rowsAt(this.#maxRows) + this.#maxRows * this.#rowBytes;
    this.#memory = kernelMemory(1, Math.ceil(maxBytes / PAGE) + 1);
    this.#kernels = kernelsFor(this.#memory);
  }

  get size(): number {
    return this.#size;
  }

  /** True when scans run as WebAssembly SIMD (false: the scalar fallback). */
  get simd(): boolean {
    return this.#kernels.simd;
  }

  // Layout: [header][query][scores: cap × 4][slots: cap × 4][rows: cap × rowBytes]
  #scoresAt(): number {
    return QUERY_AT + Math.ceil(this.#queryBytes / 64) * 64;
  }
  #slotsAt(cap = this.#cap): number {
    return this.#scoresAt() + cap * 4;
  }
  #rowsAt(cap = this.#cap): number {
    return this.#slotsAt(cap) + cap * 4;
  }

  bytesFor(rows: number): number {
    return MemoryIndex.bytesFor(this.kind, this.#d, rows);
  }

  /** Bytes an index of `kind` holds for `rows` rows of `dimensions` (the cap is checked against it). */
  static bytesFor(kind: MemoryKind, dimensions: number, rows: number): number {
    return memoryBytesFor(kind, dimensions, rows);
  }

  bytes(): number {
    return (
      this.#memory.buffer.byteLength +
      this.#ids.byteLength +
      this.#factors.byteLength +
      this.#slots.bytes()
    );
  }

  /** Makes room for `rows` rows at once (a load knows its row count: no growth in steps). */
  reserve(rows: number): void {
    this.#live();
    this.#reserve(rows, true);
  }

  #reserve(rows: number, exact = false): void {
    if (rows <= this.#cap) return;
    if (rows > this.#maxRows)
      throw new RangeError(`the index holds at most ${this.#maxRows} rows, not ${rows}`);
    const cap = Math.min(
      this.#maxRows,
      exact ? rows : Math.max(rows, Math.ceil(this.#cap * 1.5), 1024),
    );
    const need = this.#rowsAt(cap) + cap * this.#rowBytes;
    const have = this.#memory.buffer.byteLength;
    if (need > have) this.#memory.grow(Math.ceil((need - have) / PAGE));
    const from = this.#rowsAt();
    const to = this.#rowsAt(cap);
    if (this.#size > 0 && from !== to) {
      new Uint8Array(this.#memory.buffer).copyWithin(to, from, from + this.#size * this.#rowBytes);
    }
    const ids = new Float64Array(cap);
    ids.set(this.#ids.subarray(0, this.#size));
    this.#ids = ids;
    if (this.kind === 'int8') {
      const factors = new Float32Array(cap);
      factors.set(this.#factors.subarray(0, this.#size));
      this.#factors = factors;
    }
    this.#cap = cap;
  }

  insert(rows: readonly StoredVector[]): void {
    this.#live();
    this.insertBatch(packRows(rows, this.#d));
  }

  insertBatch(batch: VectorBatch): void {
    this.update(NONE, batch);
  }

  remove(ids: readonly number[]): void {
    this.update(ids, EMPTY);
  }

  /**
   * Removes rows by chunk id, then adds (or replaces) `batch`'s rows, in one
   * pass: a new row takes the slot of a removed one while there is one (a
   * re-embedded chunk replaces its old chunk in place: nothing moves), and
   * only the slots still free at the end are filled, once, by moving rows
   * from the end (the rows stay dense).
   */
  update(removed: readonly number[], { ids, vectors }: VectorBatch): void {
    this.#live();
    const holes: number[] = [];
    for (const id of removed) {
      const slot = this.#slots.get(id);
      if (slot === undefined) continue;
      this.#slots.delete(id);
      holes.push(slot);
    }
    let fresh = 0;
    for (let i = 0; i < ids.length; i++) if (this.#slots.get(ids[i]!) === undefined) fresh++;
    this.#reserve(this.#size + Math.max(0, fresh - holes.length));
    const slots = new Int32Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      let slot = this.#slots.get(id);
      if (slot === undefined) {
        slot = holes.length > 0 ? holes.pop()! : this.#size++;
        this.#slots.set(id, slot);
        this.#ids[slot] = id;
      }
      slots[i] = slot;
    }
    encodeRows(
      {
        kind: this.kind,
        kernels: this.#kernels,
        buffer: this.#memory.buffer,
        rowsAt: this.#rowsAt(),
        stride: this.#stride,
        dimensions: this.#d,
        center: this.#center,
        factors: this.#factors,
        scratchAt: this.#scoresAt(),
        scratchBytes: this.#rowsAt() - this.#scoresAt(),
      },
      vectors,
      slots,
    );
    if (this.kind === 'int8')
      for (const slot of slots) this.#maxFactor = Math.max(this.#maxFactor, this.#factors[slot]!);
    this.#fill(holes);
  }

  /** Fills free slots with rows moved from the end, so the rows are dense again. */
  #fill(holes: number[]): void {
    if (holes.length === 0) return;
    holes.sort((a, b) => a - b);
    const bytes = new Uint8Array(this.#memory.buffer);
    const rows = this.#rowsAt();
    const rb = this.#rowBytes;
    let last = this.#size - 1;
    let hi = holes.length - 1;
    for (let lo = 0; lo <= hi; lo++) {
      // Free slots at the end just shrink the rows.
      while (hi >= lo && holes[hi] === last) {
        hi--;
        last--;
      }
      if (lo > hi) break;
      const to = holes[lo]!;
      bytes.copyWithin(rows + to * rb, rows + last * rb, rows + (last + 1) * rb);
      const moved = this.#ids[last]!;
      this.#ids[to] = moved;
      if (this.kind === 'int8') this.#factors[to] = this.#factors[last]!;
      this.#slots.set(moved, to);
      last--;
    }
    this.#size = last + 1;
  }

  candidates(query: Float32Array, k: number, among?: readonly number[]): Candidate[] {
    const scan = this.#scan(query, among);
    if (this.kind === 'float32') return this.#exact(scan, scan.top(k));
    // Rescore rescoreFactor × k rows, but for a window already widened (a
    // filter, stale rows) only the first 64 get the extra margin: the margin
    // is there for codes that misorder rows near the top, not for every row.
    const order = scan.top(this.#wanted(scan.n, k));
    return this.#rescored(query, scan, order, k, order.length >= scan.n);
  }

  /**
   * Up to `k` nearest chunk ids among those `keep` lets through, with exact
   * cosine distances, best first: one scan of every row, then the rows in
   * the order of their scores, a window at a time, through `keep` (which
   * answers which of a window's chunk ids pass, e.g. a filter checked in
   * SQL), until enough pass. A quantized index rescores only the rows that
   * passed. Returns null when more than `budget` rows were checked without
   * finding enough: a filter that keeps that few rows is better answered by
   * listing them (`candidates` with `among`).
   */
  candidatesWhere(
    query: Float32Array,
    k: number,
    keep: (ids: readonly number[]) => ReadonlySet<number>,
    budget = Number.POSITIVE_INFINITY,
  ): Candidate[] | null {
    const scan = this.#scan(query);
    const wanted = this.kind === 'float32' ? Math.min(k, scan.n) : this.#wanted(scan.n, k);
    const passed: number[] = [];
    let checked = 0;
    let window = Math.min(scan.n, Math.max(4 * wanted, 64));
    while (passed.length < wanted && checked < scan.n) {
      const order = scan.top(window);
      const ids = order.slice(checked).map((at) => this.#ids[scan.slotAt(at)]!);
      const ok = keep(ids);
      for (let i = 0; i < ids.length && passed.length < wanted; i++)
        if (ok.has(ids[i]!)) passed.push(order[checked + i]!);
      checked = order.length;
      // Size the next window by the share that passed so far; past the
      // budget, listing the rows that pass is cheaper.
      const share = Math.max(passed.length, 1) / checked;
      if (passed.length < wanted && checked < scan.n && wanted / share > budget) return null;
      window = Math.min(scan.n, Math.max(2 * checked, Math.ceil((1.25 * wanted) / share)));
    }
    if (this.kind === 'float32') return this.#exact(scan, passed);
    // Every row that passes is in `passed` unless the loop stopped at `wanted`.
    return this.#rescored(query, scan, passed, k, passed.length < wanted);
  }

  /** Rows the last search of a quantized index read back and rescored (for tests and benchmarks). */
  get rescoredRows(): number {
    return this.#rescoredRows;
  }

  /** Rows a quantized index rescores for `k` hits among `n`. */
  #wanted(n: number, k: number): number {
    return Math.min(n, k + (this.#rescoreFactor - 1) * Math.min(k, 64));
  }

  /** float32: the exact distances of these scanned positions. */
  #exact(scan: Scan, order: readonly number[]): Candidate[] {
    const inv = scan.qNorm > 0 ? 1 / scan.qNorm : 0;
    return order.map((at) => [this.#ids[scan.slotAt(at)]!, 1 - scan.score(at) * inv]);
  }

  /**
   * Quantized: these scanned positions (best first by code score) rescored
   * exactly from the stored floats; the best `k`. `complete` says `order`
   * holds every row that may be returned; otherwise it is a prefix of them
   * in code-score order.
   */
  #rescored(
    query: Float32Array,
    scan: Scan,
    order: readonly number[],
    k: number,
    complete: boolean,
  ): Candidate[] {
    const read =
      this.kind === 'int8'
        ? int8Needed(query, this.#stride, scan, this.#factors, this.#maxFactor, order, k, complete)
        : order;
    this.#rescoredRows = read.length;
    const ids = read.map((at) => this.#ids[scan.slotAt(at)]!);
    return rescore(query, this.#source.some(ids)).slice(0, k);
  }

  /**
   * Scores the query against every row (or the rows of `among`). Positions
   * are rows scanned: slots, or places in `among`'s list of slots.
   */
  #scan(query: Float32Array, among?: readonly number[]): Scan {
    this.#live();
    if (query.length !== this.#d)
      throw new RangeError(`query has ${query.length} dimensions, not ${this.#d}`);
    const qNorm = writeQuery(
      this.kind,
      this.#memory.buffer,
      QUERY_AT,
      this.#stride,
      query,
      this.#center,
    );
    const buf = this.#memory.buffer;
    const scoresAt = this.#scoresAt();
    let n = this.#size;
    let chosen: Int32Array | null = null;
    const k8 = this.#kernels;
    if (among) {
      const slots = new Int32Array(buf, this.#slotsAt(), this.#cap);
      n = 0;
      for (const id of among) {
        const s = this.#slots.get(id);
        if (s !== undefined) slots[n++] = s;
      }
      chosen = slots.subarray(0, n);
      const scan =
        this.kind === 'float32' ? k8.f32Slots : this.kind === 'int8' ? k8.i8Slots : k8.binSlots;
      scan(QUERY_AT, this.#rowsAt(), this.#stride, this.#slotsAt(), n, scoresAt);
    } else {
      const kernel =
        this.kind === 'float32' ? 'f32Range' : this.kind === 'int8' ? 'i8Range' : 'binRange';
      // A large scan is split with the helper threads; a small one is not worth the hand-off.
      const pool = k8.simd && n * this.#rowBytes >= PARALLEL_BYTES ? scanPool() : null;
      if (pool) {
        pool.scan(this.#memory, k8, kernel, QUERY_AT, this.#rowsAt(), this.#stride, n, scoresAt);
      } else k8[kernel](QUERY_AT, this.#rowsAt(), this.#stride, 0, n, scoresAt);
    }
    return scanResult(this.kind, buf, scoresAt, n, qNorm, this.#factors, chosen);
  }

  drop(): void {
    this.#dropped = true;
    this.#size = 0;
    this.#cap = 0;
    this.#ids = new Float64Array(0);
    this.#factors = new Float32Array(0);
    this.#maxFactor = 0;
    this.#slots.clear();
    // The memory is freed with this object once nothing refers to it.
    startedScanPool()?.release(this.#memory);
  }

  #live(): void {
    if (this.#dropped) throw new Error('this generation index was dropped');
  }
}
