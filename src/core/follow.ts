import { DEFAULTS } from './defaults.js';
import type { EncodeFn } from './encode.js';
import {
  type ErrorCode,
  InvalidVectorError,
  PermanentEncodeError,
  VecfillError,
} from './errors.js';
import { type FillOptions, type FillResult, fill } from './fill.js';
import { emptyFillResult } from './fill-options.js';
import type { FollowEvent, FollowOptions, FollowSummary } from './follow-options.js';
import { asError, Latch, positive, settle, sleep, Worker } from './follow-worker.js';
import type { Store } from './store.js';

export type { FollowEvent, FollowOptions, FollowSummary } from './follow-options.js';

const CONFIG_CODES = new Set<ErrorCode>([
  'ENCODER_CONFIG',
  'DIMENSION_MISMATCH',
  'UNKNOWN_GENERATION',
  'GENERATION_CONFLICT',
  'LIFECYCLE',
  'INVALID_IDENTIFIER',
  'STORE_INCONSISTENT',
]);

/** The default of {@link FollowOptions.isConfigError}. */
export function isConfigError(error: unknown): boolean {
  return error instanceof VecfillError && CONFIG_CODES.has(error.code);
}

const isPermanent = (e: unknown) =>
  e instanceof PermanentEncodeError || (e instanceof InvalidVectorError && e.reason !== 'count');

/**
 * Keeps every live generation filled as the documents change, until
 * `signal` aborts: fills, waits for a change (the store's
 * `waitForChange`, else a scan every `pollMs`), fills again. Each
 * generation runs on its own: one that is failing or catching up on a
 * migration does not hold up the others. A transient failure is retried
 * with capped exponential backoff; since every save is conditional and
 * finished documents are saved before a pass stops, nothing is lost or
 * embedded twice. Several followers on one table share the backlog when the
 * store leases pending documents (`leaseMs`).
 *
 * Resolves (never rejects on a stop) once `signal` aborts and every pass in
 * flight has saved what it finished.
 *
 * @example
 * ```ts
 * const stop = new AbortController();
 * process.on('SIGTERM', () => stop.abort());
 * await follow(store, {
 *   encoderFor: () => encoder.encode,
 *   signal: stop.signal,
 *   onEvent: (e) => console.log(JSON.stringify(e)),
 * });
 * ```
 */
export async function follow<K, G, F = never>(
  store: Store<K, G, F>,
  opts: FollowOptions<K, G>,
): Promise<FollowSummary<G>> {
  const pollMs = positive(opts.pollMs ?? 200, 'pollMs');
  const rescanMs = positive(opts.rescanMs ?? 30_000, 'rescanMs');
  const pruneEveryMs = opts.pruneEveryMs ?? DEFAULTS.pruneEveryMs;
  if (!(pruneEveryMs >= 0))
    throw new RangeError(`follow: pruneEveryMs must be >= 0, got ${pruneEveryMs}`);
  const initialMs = positive(opts.backoff?.initialMs ?? 1_000, 'backoff.initialMs');
  const maxMs = Math.max(initialMs, opts.backoff?.maxMs ?? 60_000);
  const configError = opts.isConfigError ?? isConfigError;
  const emit = (e: FollowEvent<K, G>) => opts.onEvent?.(e);
  const stop = new AbortController();
  const outer = opts.signal;
  const onOuterAbort = () => stop.abort(outer?.reason);
  if (outer?.aborted) stop.abort(outer.reason);
  else outer?.addEventListener('abort', onOuterAbort, { once: true });
  const signal = stop.signal;

  const summary: FollowSummary<G> = {
    documents: 0,
    chunks: 0,
    skipped: 0,
    stale: 0,
    missing: 0,
    failed: [],
  };
  const failed = new Set<G>();
  const workers = new Map<G, Worker>();

  // Pruning scans every stamp: at most once per pruneEveryMs, not after every pass.
  let lastPrune = Number.NEGATIVE_INFINITY;
  const pruneDue = () => {
    if (!store.prune || Date.now() - lastPrune < pruneEveryMs) return false;
    lastPrune = Date.now();
    return true;
  };

  const backoff = (attempt: number, error: unknown) => {
    const exp = Math.min(maxMs, initialMs * 2 ** (attempt - 1));
    const asked = (error as { retryAfterMs?: unknown })?.retryAfterMs;
    const jittered = exp / 2 + Math.random() * (exp / 2);
    return Math.round(
      typeof asked === 'number' && asked > jittered ? Math.min(asked, maxMs) : jittered,
    );
  };

  const runWorker = async (gen: G, w: Worker) => {
    let encode: EncodeFn | undefined;
    let split: FillOptions<K>['split'];
    let attempt = 0;
    let caughtUp = false;
    while (!w.signal.aborted) {
      try {
        await w.latch.wait(w.signal);
      } catch {
        break;
      }
      const started = Date.now();
      // What this pass saved so far: a pass that stops (abort, outage) still reports it.
      let pass = emptyFillResult();
      const account = (result: FillResult) => {
        summary.documents += result.documents;
        summary.chunks += result.chunks;
        summary.skipped += result.skipped;
        summary.stale += result.stale;
        summary.missing += result.missing;
        const worked = result.documents + result.stale + result.missing + (result.pruned ?? 0) > 0;
        if (worked) {
          emit({
            type: 'filled',
            generation: gen,
            documents: result.documents,
            chunks: result.chunks,
            skipped: result.skipped,
            skippedChunks: result.skippedChunks,
            stale: result.stale,
            missing: result.missing,
            pruned: result.pruned ?? 0,
            seconds: (Date.now() - started) / 1000,
          });
        }
        return worked;
      };
      try {
        if (encode === undefined) {
          split = opts.splitFor ? await opts.splitFor(gen) : undefined;
          encode = await opts.encoderFor(gen);
        }
        const result = await fill(store, gen, encode, {
          ...pick(opts),
          ...(split !== undefined ? { split } : {}),
          prune: pruneDue(),
          signal: w.signal,
          onProgress: (p) => {
            pass = { ...pass, documents: p.documents, chunks: p.chunks, skipped: p.skipped };
            pass.stale = p.stale;
            pass.missing = p.missing;
            opts.onProgress?.(gen, p);
          },
          onEncodeError: async (doc, error, chunk) => {
            const skip = opts.onEncodeError
              ? await opts.onEncodeError(doc, error, chunk)
              : isPermanent(error);
            if (skip) emit({ type: 'skipped', generation: gen, doc, chunk, error: asError(error) });
            return skip;
          },
        });
        attempt = 0;
        const worked = account(result);
        // Stale documents changed under the pass: fill them again at once.
        // Otherwise the pass ended on an empty scan: nothing is pending for
        // this follower (a count over the whole table would cost as much as
        // the scan, on every change).
        if (result.stale > 0) w.latch.set();
        const done = result.stale === 0;
        if (done && (worked || !caughtUp)) emit({ type: 'caught-up', generation: gen });
        caughtUp = done;
      } catch (e) {
        account(pass);
        if (w.signal.aborted) break;
        if (configError(e)) {
          failed.add(gen);
          summary.failed.push({ generation: gen, error: asError(e) });
          emit({ type: 'failed', generation: gen, error: asError(e) });
          workers.delete(gen);
          return;
        }
        attempt++;
        const delayMs = backoff(attempt, e);
        emit({ type: 'retrying', generation: gen, error: asError(e), attempt, delayMs });
        try {
          await sleep(delayMs, w.signal);
        } catch {
          break;
        }
        w.latch.set();
      }
    }
  };

  const running: Promise<void>[] = [];
  let current: G[] = [];
  const refresh = async () => {
    const gens = opts.generations ? [...opts.generations] : await store.liveGenerations();
    const wanted = gens.filter((g) => !failed.has(g));
    for (const [gen, w] of workers) {
      if (!wanted.includes(gen)) {
        w.abort();
        workers.delete(gen);
      }
    }
    for (const gen of wanted) {
      if (workers.has(gen)) continue;
      const w = new Worker(signal);
      workers.set(gen, w);
      running.push(runWorker(gen, w));
    }
    if (gens.length !== current.length || gens.some((g, i) => g !== current[i])) {
      current = gens;
      emit({ type: 'generations', generations: [...gens] });
    }
  };
  const markAll = () => {
    for (const w of workers.values()) w.latch.set();
  };

  const wake = new Latch();
  const unsubscribe = opts.subscribe?.(() => {
    markAll();
    wake.set();
  });
  let attempt = 0;
  let changed: Promise<{ value: unknown } | { error: unknown }> | undefined;
  let woken: Promise<{ value: unknown } | { error: unknown }> | undefined;
  try {
    while (!signal.aborted) {
      try {
        await refresh();
        attempt = 0;
      } catch (e) {
        if (signal.aborted) break;
        attempt++;
        const delayMs = backoff(attempt, e);
        emit({ type: 'retrying', error: asError(e), attempt, delayMs });
        await sleep(delayMs, signal).catch(() => {});
        continue;
      }
      // Wait for a change (or the rescan timeout); either way every worker scans once more.
      // A wait that lost the race to `wake` is kept, so only one poll loop ever runs.
      changed ??= settle<unknown>(
        store.waitForChange
          ? store.waitForChange({ signal, pollMs, timeoutMs: rescanMs })
          : sleep(pollMs, signal),
      ).finally(() => {
        changed = undefined;
      });
      woken ??= settle(wake.wait(signal)).finally(() => {
        woken = undefined;
      });
      const outcome = await Promise.race([changed, woken]);
      if (signal.aborted) break;
      if ('error' in outcome) {
        attempt++;
        const delayMs = backoff(attempt, outcome.error);
        emit({ type: 'retrying', error: asError(outcome.error), attempt, delayMs });
        await sleep(delayMs, signal).catch(() => {});
      }
      markAll();
    }
  } finally {
    unsubscribe?.();
    outer?.removeEventListener('abort', onOuterAbort);
    stop.abort();
    await Promise.allSettled(running);
  }
  return summary;
}

function pick<K, G>(opts: FollowOptions<K, G>): FillOptions<K> {
  const out: FillOptions<K> = {};
  if (opts.scanBatch !== undefined) out.scanBatch = opts.scanBatch;
  if (opts.split !== undefined) out.split = opts.split;
  if (opts.batch !== undefined) out.batch = opts.batch;
  if (opts.concurrency !== undefined) out.concurrency = opts.concurrency;
  return out;
}
