import { totalmem } from 'node:os';
import type Database from 'better-sqlite3';
import { ChangeLog } from './change-log.js';
import type { GenerationIndex, ScanKind, VectorSource } from './generation-index.js';
import { MemoryIndex } from './memory-index.js';
import { packRows } from './vec0-rows.js';

/** The store's in-memory scan options (see `SqliteSchema.scan`). */
export interface ScanOptions {
  /**
   * How a float generation (no `quantization`) is scanned: `int8` (codes in
   * memory, candidates rescored exactly from the stored floats), `float32`
   * (every float in memory, exact) or `sqlite-vec` (nothing in memory).
   * Default `int8`: recall@10 was 1.00 on the bench's uniform, clustered and
   * real-sentence data, at a quarter of float32's memory (bench/README.md).
   * Quantized generations scan their own codes in memory.
   */
  float?: Exclude<ScanKind, 'binary'>;
  /**
   * Most bytes this store's in-memory indexes may hold together. A
   * generation whose index would pass the cap is scanned by sqlite-vec
   * instead (and `stats()` says so). Default: half of the machine's memory.
   */
  maxResidentBytes?: number;
}

/** What the scan of one generation looks like from outside. */
export interface ScanStatus {
  scan: ScanKind;
  /** Bytes its in-memory index holds (or will hold once searched); 0 for sqlite-vec. */
  residentBytes: number;
  /** Why the generation is scanned by sqlite-vec although an in-memory kind was asked for. */
  note?: string;
}

/** What the registry needs to know about a generation. */
export interface IndexedGeneration {
  id: number;
  dimensions: number;
  quantization: 'binary' | 'int8' | null;
}

/** Where a generation's vectors are read from, with its binary center as of the same read. */
export interface GenerationSource extends VectorSource {
  center(): Float32Array | undefined;
  /** Rows the generation holds now. */
  count(): number;
}

/** How a float generation is scanned unless `scan.float` says otherwise. */
export const DEFAULT_FLOAT_SCAN: Exclude<ScanKind, 'binary'> = 'int8';

/** One WebAssembly memory addresses 4 GiB; leave room for the query and scores. */
const MAX_INDEX_BYTES = 4 * 2 ** 30 - 64 * 2 ** 20;

/** float32 rows per candidate an int8 scan of a float generation rescores. */
const INT8_RESCORE = 4;

interface Entry {
  kind: Exclude<ScanKind, 'sqlite-vec'>;
  index: GenerationIndex | null;
  /** The change-log sequence the index is current to. */
  seq: number;
}

/**
 * The in-memory indexes of one store's generations, kept current through
 * the change log: each search first applies what other connections (or
 * this one) changed since the index last looked.
 */
export class ScanIndexes {
  readonly log: ChangeLog;
  readonly #db: Database.Database;
  readonly #float: Exclude<ScanKind, 'binary'>;
  readonly #cap: number;
  readonly #entries = new Map<number, Entry>();

  constructor(db: Database.Database, prefix: string, options: ScanOptions = {}) {
    this.#db = db;
    this.log = new ChangeLog(db, prefix);
    this.#float = options.float ?? DEFAULT_FLOAT_SCAN;
    this.#cap = options.maxResidentBytes ?? Math.floor(totalmem() / 2);
  }

  /** The kind of scan asked for `g`. */
  kindOf(g: IndexedGeneration): ScanKind {
    return g.quantization ?? this.#float;
  }

  /**
   * `g`'s index, current to the change log; `null` when `g` is scanned by
   * sqlite-vec (asked for, or its index would pass the memory cap).
   */
  fresh(g: IndexedGeneration, source: GenerationSource): GenerationIndex | null {
    const kind = this.kindOf(g);
    if (kind === 'sqlite-vec') return null;
    const entry = this.#entries.get(g.id);
    if (entry && entry.kind === kind && !this.#db.inTransaction) {
      // Nothing changed since the last look (the common case): one query, no transaction.
      const { head, floor } = this.log.head(g.id);
      if (entry.seq === head && entry.seq >= floor) return entry.index;
    }
    const read = this.#db.transaction(() => {
      const { head, floor } = this.log.head(g.id);
      if (entry && entry.kind === kind && entry.seq >= floor) {
        if (entry.seq === head) return entry.index;
        if (!entry.index) return this.#load(g, kind, source, head); // re-check the cap
        const { upserted, removed } = this.log.since(g.id, entry.seq, head);
        entry.seq = head;
        try {
          entry.index.update(
            removed,
            source.someBatch?.(upserted) ?? packRows(source.some(upserted), g.dimensions),
          );
        } catch (e) {
          // The memory could not grow (past 4 GiB): scan with sqlite-vec.
          if (!(e instanceof RangeError)) throw e;
          entry.index.drop();
          entry.index = null;
          return null;
        }
        if (this.#tooBig(g.id, entry.index.bytes())) {
          entry.index.drop();
          entry.index = null;
        }
        return entry.index;
      }
      return this.#load(g, kind, source, head);
    });
    return read();
  }

  #load(
    g: IndexedGeneration,
    kind: Exclude<ScanKind, 'sqlite-vec'>,
    source: GenerationSource,
    head: number,
  ): GenerationIndex | null {
    this.drop(g.id);
    const rows = source.count();
    if (this.#tooBig(g.id, MemoryIndex.bytesFor(kind, g.dimensions, rows))) {
      this.#entries.set(g.id, { kind, index: null, seq: head });
      return null;
    }
    let index: MemoryIndex | undefined;
    try {
      // Room to grow by half again (at least 64k rows); past it, the index
      // is dropped and reloaded at the next change.
      index = new MemoryIndex({
        kind,
        dimensions: g.dimensions,
        source,
        center: source.center(),
        rescoreFactor: g.quantization ? 1 : INT8_RESCORE,
        maxRows: Math.max(Math.ceil(rows * 1.5), rows + 65536),
      });
      index.reserve(rows);
      for (const batch of source.all()) index.insertBatch(batch);
    } catch (e) {
      // No address space for the memory, or it could not grow: sqlite-vec.
      if (!(e instanceof RangeError)) throw e;
      index?.drop();
      this.#entries.set(g.id, { kind, index: null, seq: head });
      return null;
    }
    this.#entries.set(g.id, { kind, index, seq: head });
    return index;
  }

  /** Whether an index of `bytes` for generation `id` would pass the cap, or one memory's 4 GiB. */
  #tooBig(id: number, bytes: number): boolean {
    return bytes > MAX_INDEX_BYTES || this.#others(id) + bytes > this.#cap;
  }

  #others(id: number): number {
    let sum = 0;
    for (const [gen, e] of this.#entries) if (gen !== id && e.index) sum += e.index.bytes();
    return sum;
  }

  /** How `g` is scanned, and the bytes its index holds (or would hold, for `rows` rows). */
  status(g: IndexedGeneration, rows: number): ScanStatus {
    const kind = this.kindOf(g);
    if (kind === 'sqlite-vec') return { scan: kind, residentBytes: 0 };
    const entry = this.#entries.get(g.id);
    const bytes = entry?.index
      ? entry.index.bytes()
      : MemoryIndex.bytesFor(kind, g.dimensions, rows);
    if ((entry && !entry.index) || this.#tooBig(g.id, bytes)) {
      return {
        scan: 'sqlite-vec',
        residentBytes: 0,
        note:
          bytes > MAX_INDEX_BYTES
            ? `a ${kind} index (${bytes} bytes) would pass the 4 GiB one WebAssembly memory can hold`
            : `a ${kind} index (${bytes} bytes) would pass the ${this.#cap}-byte memory cap (scan.maxResidentBytes)`,
      };
    }
    return { scan: kind, residentBytes: bytes };
  }

  /** Frees `id`'s index. */
  drop(id: number): void {
    this.#entries.get(id)?.index?.drop();
    this.#entries.delete(id);
  }
}
