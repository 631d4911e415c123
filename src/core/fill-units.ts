/**
 * The pieces of one fill page: each document's chunks and vectors as they
 * arrive (`DocState`), the encode calls the chunks are grouped into
 * (`Unit`, `planUnits`), and what a save records beside the vectors.
 */
import type { Chunk } from './chunk.js';
import { DEFAULTS } from './defaults.js';
import { describe } from './errors.js';
import type { Pending, SaveOptions } from './store.js';

export interface DocState<K> {
  pending: Pending<K>;
  chunks: Chunk[];
  vectors: (Float32Array | undefined)[];
  remaining: number;
  /** Chunks skipped by `onEncodeError`. */
  skippedChunks: number;
  /** Set once the document is finished or given up, so late batches ignore it. */
  settled: boolean;
  /** Why it is skipped, when an encoder error skipped it (saved with the skip stamp). */
  skipReason?: string;
}

export interface Unit {
  texts: string[];
  refs: { doc: number; chunk: number }[];
}

/** What a save records beside the vectors: why a document was skipped, how many chunks were. */
export function saveOptions<K>(state: DocState<K>, vectors: number): SaveOptions {
  const options: SaveOptions = {};
  if (state.skipReason !== undefined) options.skipReason = state.skipReason;
  if (vectors > 0 && state.skippedChunks > 0) options.skippedChunks = state.skippedChunks;
  return options;
}

/** Lets pending I/O callbacks (signals, timers, Ctrl-C) run before going on. */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** What a skip stamp records about the failure (one line, bounded). */
export function skipReason(error: unknown): string {
  const text = error instanceof Error ? error.message : describe(error);
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 299)}…` : line;
}

export function unitText<K>(docs: DocState<K>[], r: { doc: number; chunk: number }): string {
  return docs[r.doc]!.chunks[r.chunk]!.text;
}

/** Groups the chunks of a page into encode calls. */
export function planUnits<K>(docs: DocState<K>[], batchSize: number | undefined): Unit[] {
  const units: Unit[] = [];
  if (batchSize === undefined) {
    docs.forEach((d, di) => {
      for (let c = 0; c < d.chunks.length; c += DEFAULTS.batchSize) {
        const refs = d.chunks
          .slice(c, c + DEFAULTS.batchSize)
          .map((_, j) => ({ doc: di, chunk: c + j }));
        units.push({ texts: refs.map((r) => unitText(docs, r)), refs });
      }
    });
    return units;
  }
  let current: Unit = { texts: [], refs: [] };
  docs.forEach((d, di) => {
    d.chunks.forEach((chunk, ci) => {
      current.texts.push(chunk.text);
      current.refs.push({ doc: di, chunk: ci });
      if (current.texts.length >= batchSize) {
        units.push(current);
        current = { texts: [], refs: [] };
      }
    });
  });
  if (current.texts.length > 0) units.push(current);
  return units;
}
