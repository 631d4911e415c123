import { isBlank } from './blank.js';
import { SkipBreaker } from './breaker.js';
import { type SplitOptions, split } from './chunk.js';
import { DEFAULTS, positiveInteger } from './defaults.js';
import { type EncodeFn, encodeBatched } from './encode.js';
import {
  describe,
  InvalidVectorError,
  isProviderFailure,
  MissingDocumentError,
  StaleError,
  VecfillError,
} from './errors.js';
import { emptyFillResult, type FillOptions, type FillResult } from './fill-options.js';
import {
  type DocState,
  planUnits,
  saveOptions,
  skipReason,
  type Unit,
  unitText,
  yieldToLoop,
} from './fill-units.js';
import type { ChunkVector, Pending, Revision, SaveItem, Store } from './store.js';

export type { FillOptions, FillProgress, FillResult, RejectedChunk } from './fill-options.js';

/** Saves in a row after which a document reported pending again at the same revision means a broken store. */
const MAX_RETURNS = 3;

/**
 * Scan-and-fill: embeds every document `gen` does not cover yet, and loops
 * until nothing is pending.
 *
 * A document whose save is refused as stale (edited mid-fill) or missing
 * (deleted mid-fill) is left for the next run and not retried in this one, so
 * a document under constant editing cannot starve the loop. Saves are
 * serialized; with `concurrency > 1` a finished document is saved without
 * waiting for an unrelated slower batch.
 *
 * @example
 * ```ts
 * const result = await fill(store, 'minilm-v1', encoder.encode, {
 *   batch: { batchSize: 64 },
 *   concurrency: 4,
 *   onProgress: (p) => console.log(`${p.documents} docs, ${p.rate.toFixed(0)}/s`),
 * });
 * ```
 */
export async function fill<K, G, F = never>(
  store: Store<K, G, F>,
  gen: G,
  encode: EncodeFn,
  opts: FillOptions<K> = {},
): Promise<FillResult> {
  const scanBatch = positiveInteger(opts.scanBatch ?? DEFAULTS.scanBatch, 'fill: scanBatch');
  const concurrency = positiveInteger(
    opts.concurrency ?? DEFAULTS.concurrency,
    'fill: concurrency',
  );
  const batchSize =
    opts.batch === undefined
      ? undefined
      : positiveInteger(opts.batch.batchSize, 'fill: batch.batchSize');
  const splitter =
    typeof opts.split === 'function'
      ? opts.split
      : (content: string) => split(content, opts.split as SplitOptions | undefined);
  const signal = opts.signal;
  const started = Date.now();
  const result = emptyFillResult();
  const breaker = new SkipBreaker<DocState<K>>(
    opts.maxConsecutiveSkips ?? DEFAULTS.maxConsecutiveSkips,
  );
  /** Documents whose skip the breaker holds back: settled, not saved, not to be scanned again. */
  const held = new Set<K>();
  if (opts.retrySkipped) {
    if (!store.resetSkipped) {
      throw new TypeError('fill: retrySkipped needs a store with resetSkipped');
    }
    result.retried = await store.resetSkipped(gen);
  }
  let pendingSeen = 0;
  /** Documents refused as stale or missing in this run: left for the next run. */
  const setAside = new Set<K>();
  /**
   * Documents saved by the previous page, with the revision saved. One
   * reported pending again at the same revision was invalidated after its
   * save (the caller set `embedGenColumn` to NULL): it is simply pending
   * again. The same document coming back again and again right after each
   * save means the store's stamp and its freshness predicate disagree (or a
   * trigger invalidates every save), which would loop forever.
   */
  let savedLastPage = new Map<K, Revision | undefined>();
  /** How many times in a row each document came back right after its save. */
  const returned = new Map<K, number>();

  const report = () => {
    if (!opts.onProgress) return;
    const elapsedMs = Date.now() - started;
    opts.onProgress({
      ...result,
      pendingSeen,
      rate: elapsedMs > 0 ? (result.documents * 1000) / elapsedMs : 0,
      elapsedMs,
    });
  };

  for (;;) {
    signal?.throwIfAborted();
    const page: Pending<K>[] = [];
    const limit = scanBatch + setAside.size + held.size;
    for (const p of await store.pendingForGeneration(gen, limit)) {
      if (setAside.has(p.doc) || held.has(p.doc)) continue;
      if (savedLastPage.has(p.doc)) {
        const savedRevision = savedLastPage.get(p.doc);
        if (savedRevision === undefined || savedRevision === null) {
          // Without revisions a concurrent invalidation looks the same: leave it for the next run.
          setAside.add(p.doc);
          continue;
        }
        if (savedRevision === p.revision) {
          const times = (returned.get(p.doc) ?? 0) + 1;
          returned.set(p.doc, times);
          if (times > MAX_RETURNS) {
            throw new VecfillError(
              'STORE_INCONSISTENT',
              `the store reported document ${describe(p.doc)} pending at revision ${describe(p.revision)} right after each of ${times} saves at that revision; its stamp and its freshness predicate disagree, or something (a trigger?) invalidates the document on every save`,
            );
          }
        }
      } else {
        returned.delete(p.doc);
      }
      page.push(p);
    }
    if (page.length === 0) break;
    pendingSeen += page.length;
    savedLastPage = await fillPage(page.slice(0, scanBatch));
  }
  // The run of skips the breaker still holds was shorter than its threshold:
  // those documents really are unusable, so their skips are saved now.
  if (breaker.held.length > 0) await fillPage([], breaker.success());
  if (opts.prune) {
    if (!store.prune) throw new TypeError('fill: prune needs a store with prune');
    result.pruned = await store.prune();
  }
  report();
  return result;

  async function fillPage(
    page: Pending<K>[],
    releasedSkips: DocState<K>[] = [],
  ): Promise<Map<K, Revision | undefined>> {
    const saved = new Map<K, Revision | undefined>();
    const docs: DocState<K>[] = page.map((pending) => {
      const chunks = isBlank(pending.content)
        ? []
        : splitter(pending.content).filter((c) => !isBlank(c.text));
      return {
        pending,
        chunks,
        vectors: new Array(chunks.length),
        remaining: chunks.length,
        skippedChunks: 0,
        settled: false,
      };
    });

    // Saves are serialized through one queue; whatever is queued when the
    // previous save finishes goes out together (via saveMany when available).
    let queue: { state: DocState<K>; vectors: ChunkVector[] }[] = [];
    /**
     * Saves the skips the breaker released. Only a document whose every
     * chunk was rejected is held (a stamp-skip); a document with some chunks
     * embedded is saved as soon as it is complete, so the breaker's list may
     * name it (once per skipped chunk) without anything to do here.
     */
    const releaseSkips = (states: DocState<K>[]) => {
      for (const state of states) {
        if (!held.delete(state.pending.doc)) continue;
        enqueueSave(state);
      }
    };
    let flushing: Promise<void> = Promise.resolve();
    let saveError: { error: unknown } | undefined;

    /** Queues the document's save: every chunk that encoded (none: a stamp-only save). */
    const enqueueSave = (state: DocState<K>) => {
      state.settled = true;
      const vectors: ChunkVector[] = [];
      state.chunks.forEach((c, i) => {
        const vector = state.vectors[i];
        if (vector) vectors.push({ chunkIndex: c.index, start: c.start, end: c.end, vector });
      });
      queue.push({ state, vectors });
      flushing = flushing.then(flush);
    };

    const flush = async () => {
      if (queue.length === 0 || saveError) return;
      // Let the event loop run (a Ctrl-C, an abort, a timer) before each
      // write, even when the encoder and the store are synchronous.
      await yieldToLoop();
      if (queue.length === 0 || saveError) return;
      const items = queue;
      queue = [];
      try {
        let outcomes: (Error | null)[];
        if (store.saveMany && items.length > 1) {
          const saveItems: SaveItem<K>[] = items.map((it) => ({
            doc: it.state.pending.doc,
            revision: it.state.pending.revision,
            vectors: it.vectors,
            ...saveOptions(it.state, it.vectors.length),
          }));
          outcomes = await store.saveMany(gen, saveItems);
        } else {
          outcomes = [];
          for (const it of items) {
            try {
              const options = saveOptions(it.state, it.vectors.length);
              await store.saveVectors(
                gen,
                it.state.pending.doc,
                it.state.pending.revision,
                it.vectors,
                ...(Object.keys(options).length === 0 ? [] : [options]),
              );
              outcomes.push(null);
            } catch (e) {
              if (e instanceof StaleError || e instanceof MissingDocumentError) outcomes.push(e);
              else throw e;
            }
          }
        }
        items.forEach((it, i) => {
          const outcome = outcomes[i];
          const doc = it.state.pending.doc;
          if (outcome === null || outcome === undefined) {
            saved.set(doc, it.state.pending.revision);
            result.documents++;
            if (it.vectors.length === 0) result.skipped++;
            else result.skippedChunks += it.state.skippedChunks;
            result.chunks += it.vectors.length;
          } else if (outcome instanceof StaleError) {
            setAside.add(doc);
            result.stale++;
          } else if (outcome instanceof MissingDocumentError) {
            setAside.add(doc);
            result.missing++;
          } else {
            throw outcome;
          }
        });
        report();
      } catch (e) {
        saveError = { error: e };
      }
    };

    releaseSkips(releasedSkips);
    // Blank documents are stamp-skipped without touching the encoder.
    for (const d of docs) if (d.chunks.length === 0) enqueueSave(d);

    const units = planUnits(docs, batchSize);
    let failure: { error: unknown } | undefined;
    let next = 0;

    /**
     * A failed encode. An outage or a misconfiguration is nobody's
     * document's fault: stop at once (no one-at-a-time retries, no skip),
     * everything stays pending. Otherwise a batch of several chunks is
     * retried one chunk at a time, so only the chunks the encoder rejects
     * are skipped, each when `onEncodeError` agrees.
     */
    const handleFailure = async (unit: Unit, error: unknown): Promise<void> => {
      if (!opts.onEncodeError || isProviderFailure(error)) throw error;
      const open = unit.refs.filter((r) => !docs[r.doc]!.settled);
      if (open.length === 0) return;
      if (open.length === 1) return skipChunk(open[0]!, error);
      if (error instanceof InvalidVectorError && error.reason !== 'count') {
        // The error names the input at fault: skip it, encode the rest together.
        const ref = unit.refs[error.index];
        if (ref && !docs[ref.doc]!.settled) {
          await skipChunk(ref, error);
          const rest = open.filter((r) => r !== ref);
          if (rest.length > 0) await runUnit(unitOf(rest));
          return;
        }
      }
      for (const ref of open) {
        signal?.throwIfAborted();
        await runUnit(unitOf([ref]));
      }
    };

    const skipChunk = async (
      ref: { doc: number; chunk: number },
      error: unknown,
    ): Promise<void> => {
      const state = docs[ref.doc]!;
      if (state.settled) return;
      const c = state.chunks[ref.chunk]!;
      const skip = await opts.onEncodeError!(state.pending.doc, error, {
        index: c.index,
        start: c.start,
        end: c.end,
      });
      if (!skip) throw error;
      if (state.settled) return;
      state.skippedChunks++;
      state.remaining--;
      // Every skipped chunk counts toward the breaker (the same rejection
      // chunk after chunk is the provider's failure, not the text's).
      const released = breaker.skip(state, error);
      if (state.remaining === 0) {
        if (state.vectors.some((v) => v !== undefined)) enqueueSave(state);
        else {
          // Every chunk rejected: a stamp-skip, held until the breaker lets go.
          state.settled = true;
          state.skipReason = skipReason(error);
          held.add(state.pending.doc);
        }
      }
      releaseSkips(released);
    };

    const unitOf = (refs: { doc: number; chunk: number }[]): Unit => ({
      texts: refs.map((r) => unitText(docs, r)),
      refs,
    });

    const runUnit = async (unit: Unit): Promise<void> => {
      if (unit.refs.every((r) => docs[r.doc]!.settled)) return;
      let vectors: Float32Array[];
      try {
        vectors = await encodeBatched(encode, unit.texts, {
          batchSize: unit.texts.length,
          signal,
          kind: 'document',
        });
      } catch (e) {
        if (signal?.aborted) throw e;
        await handleFailure(unit, e);
        return;
      }
      // The provider works: the skips held so far were their texts' own fault.
      releaseSkips(breaker.success());
      unit.refs.forEach((r, i) => {
        const state = docs[r.doc]!;
        if (state.settled) return;
        state.vectors[r.chunk] = vectors[i];
        state.remaining--;
        if (state.remaining === 0) enqueueSave(state);
      });
    };

    const worker = async () => {
      while (!failure && !saveError && next < units.length) {
        // Between encode batches the event loop runs, so an abort (Ctrl-C)
        // lands within one batch even with a synchronous encoder.
        await yieldToLoop();
        signal?.throwIfAborted();
        if (failure || saveError || next >= units.length) break;
        const unit = units[next++]!;
        try {
          await runUnit(unit);
        } catch (e) {
          failure ??= { error: e };
        }
      }
    };

    const workers = Array.from({ length: Math.min(concurrency, units.length) }, worker);
    const settled = await Promise.allSettled(workers);
    for (const s of settled) if (s.status === 'rejected') failure ??= { error: s.reason };
    // Finished documents are saved even when the fill stops: no work is lost
    // beyond the batch in flight.
    await flushing;
    await flush();
    if (saveError) throw saveError.error;
    if (failure) throw failure.error;
    return saved;
  }
}
