import {
  type ChunkVector,
  type Hit,
  MissingDocumentError,
  type Pending,
  type QueryOptions,
  type Revision,
  StaleError,
  type Store,
} from '../../src/core/index.js';

interface Row {
  content: string;
  revision: number;
}

interface Stamp {
  revision: number;
  vectors: ChunkVector[];
}

/**
 * Waits for the next turn of the event loop (a macrotask), as a real
 * database call over a socket or a thread pool does. A store that only ever
 * resolved at once would let a fill that loops without progress spin on
 * microtasks forever, so no timer — not even the test's timeout — could
 * fire: the suite would hang instead of failing.
 */
export const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * A small in-memory Store for the core's tests: documents with a revision
 * counter, stamps per generation, brute-force cosine search with the same
 * freshness rule a real backend uses. Hooks let a test edit or delete a row
 * between the scan and the save. Every Store method yields to the event loop
 * first (see `tick`); the synchronous `pending` and `save` do the same work
 * for tests that need it at once.
 */
export class MemoryStore implements Store<string, string> {
  readonly rows = new Map<string, Row>();
  readonly stamps = new Map<string, Map<string, Stamp>>();
  live: string[] = [];
  saves: { gen: string; doc: string; chunks: number }[] = [];
  /** Called before each save is applied, so a test can mutate rows mid-fill. */
  beforeSave?: (doc: string) => void;

  put(doc: string, content: string): void {
    const prev = this.rows.get(doc);
    this.rows.set(doc, { content, revision: (prev?.revision ?? 0) + 1 });
  }

  delete(doc: string): void {
    this.rows.delete(doc);
  }

  /** The single freshness predicate. */
  covered(gen: string, doc: string): boolean {
    const row = this.rows.get(doc);
    const stamp = this.stamps.get(gen)?.get(doc);
    return row !== undefined && stamp !== undefined && stamp.revision === row.revision;
  }

  async pendingForGeneration(gen: string, limit: number): Promise<Pending<string>[]> {
    await tick();
    return this.pending(gen, limit);
  }

  /** `pendingForGeneration` without the yield. */
  pending(gen: string, limit: number): Pending<string>[] {
    const out: Pending<string>[] = [];
    for (const [doc, row] of [...this.rows].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (out.length >= limit) break;
      if (!this.covered(gen, doc)) out.push({ doc, content: row.content, revision: row.revision });
    }
    return out;
  }

  async saveVectors(
    gen: string,
    doc: string,
    revision: Revision | undefined,
    vectors: ChunkVector[],
  ): Promise<void> {
    await tick();
    this.save(gen, doc, revision, vectors);
  }

  /** `saveVectors` without the yield. */
  save(gen: string, doc: string, revision: Revision | undefined, vectors: ChunkVector[]): void {
    this.beforeSave?.(doc);
    const row = this.rows.get(doc);
    if (!row) throw new MissingDocumentError(doc, gen);
    if (revision !== row.revision) throw new StaleError(doc, gen);
    let byDoc = this.stamps.get(gen);
    if (!byDoc) {
      byDoc = new Map();
      this.stamps.set(gen, byDoc);
    }
    byDoc.set(doc, { revision: row.revision, vectors });
    this.saves.push({ gen, doc, chunks: vectors.length });
  }

  async liveGenerations(): Promise<string[]> {
    await tick();
    return this.live;
  }

  async queryGeneration(
    gen: string,
    query: Float32Array,
    limit: number,
    _opts?: QueryOptions<never>,
  ): Promise<Hit<string>[]> {
    await tick();
    const hits: Hit<string>[] = [];
    for (const [doc, stamp] of this.stamps.get(gen) ?? []) {
      if (!this.covered(gen, doc)) continue;
      for (const cv of stamp.vectors) {
        hits.push({
          doc,
          chunkIndex: cv.chunkIndex,
          score: cosine(query, cv.vector),
          start: cv.start,
          end: cv.end,
        });
      }
    }
    return hits.sort((a, b) => b.score - a.score).slice(0, limit);
  }
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}

/** A MemoryStore of `n` documents `d0000`, `d0001`, … with `content(i)`. */
export function storeWith(
  n: number,
  content = (i: number) => `document number ${i} about topic ${i % 7}`,
): MemoryStore {
  const store = new MemoryStore();
  for (let i = 0; i < n; i++) store.put(`d${String(i).padStart(4, '0')}`, content(i));
  return store;
}
