import type { Chunk, SplitOptions } from '../core/index.js';
import { EncoderConfigError, type FillProgress, type FillResult, fill } from '../core/index.js';
import { skipPermanentErrors } from '../encoders/index.js';
import { type Degraded, degraded, fillAdvice } from './advice.js';
import type { Context } from './context.js';
import { CLI_DEFAULTS as D } from './defaults.js';
import { type ChunkSettings, splitMarkdown } from './markdown-split.js';
import { indexProgressPrinter, ProgressReporter } from './progress.js';
import type { Workspace } from './workspace.js';

export interface FillRun extends FillResult {
  generation: string;
  skippedDocs: {
    doc: string;
    reason: string;
    chunk?: { index: number; start: number; end: number };
  }[];
  seconds: number;
}

/**
 * Fills one generation with progress on stderr. Documents a model
 * permanently rejects are stamp-skipped and listed; outages stop the fill.
 */
export async function fillGeneration(
  ws: Workspace,
  gen: string,
  opts: {
    signal?: AbortSignal;
    quiet?: boolean;
    batchSize?: number;
    concurrency?: number;
    /** Called with the fill's progress (besides the progress bar, when not quiet). */
    onProgress?: (p: FillProgress) => void;
    /** Re-attempt documents an earlier fill skipped after encoder errors (`--retry-skipped`). */
    retrySkipped?: boolean;
  } = {},
): Promise<FillRun> {
  const backend = await ws.backendStore();
  const store = backend.store;
  const encoder = await ws.encoderFor(gen);
  const { backlog } = await store.coverage(gen);
  const reporter = opts.quiet ? undefined : new ProgressReporter(`fill ${gen}`, backlog);
  // Postgres builds a new generation's index when the fill completes it: show that too.
  if (!opts.quiet && backend.kind === 'postgres')
    backend.store.onIndexProgress = indexProgressPrinter();
  const skippedDocs: FillRun['skippedDocs'] = [];
  const started = Date.now();
  try {
    const result = await fill(store, gen, encoder.encode, {
      batch: { batchSize: opts.batchSize ?? D.batchSize },
      concurrency: opts.concurrency ?? D.concurrency,
      scanBatch: D.scanBatch,
      ...splitFor(encoder.maxChars, (await ws.encoderSettings(gen)).chunking),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.retrySkipped ? { retrySkipped: true } : {}),
      ...(reporter || opts.onProgress
        ? {
            onProgress: (p: FillProgress) => {
              reporter?.update(p);
              opts.onProgress?.(p);
            },
          }
        : {}),
      onEncodeError: skipPermanentErrors((doc, err, chunk) => {
        skippedDocs.push({
          doc: String(doc),
          reason: err.message,
          ...(chunk ? { chunk: { index: chunk.index, start: chunk.start, end: chunk.end } } : {}),
        });
      }),
    });
    // A binary SQLite generation centers its codes itself when this fill
    // first completes it (the store's policy, the same for library users).
    return { ...result, generation: gen, skippedDocs, seconds: (Date.now() - started) / 1000 };
  } catch (e) {
    if (e instanceof EncoderConfigError && (e.status === 401 || e.status === 403)) {
      const settings = await ws.encoderSettings(gen);
      if (settings.kind === 'openai') {
        throw new EncoderConfigError(
          `${e.message} (this generation reads its key from $${settings.apiKeyEnv})`,
          e.status === undefined ? {} : { status: e.status },
        );
      }
    }
    throw e;
  } finally {
    reporter?.finish();
    // Leases of documents this run did not finish (Ctrl-C, an error): free
    // them now, so another filler or a rerun takes them at once.
    if (backend.kind === 'sqlite') backend.store.releaseLeases();
  }
}

export function describeFill(r: FillRun): string {
  const lines = [
    `${r.generation}: embedded ${r.documents - r.skipped} documents (${r.chunks} chunks), skipped ${r.skipped}${r.skippedChunks > 0 ? ` documents and ${r.skippedChunks} chunks of others` : ''}, left ${r.stale} changed mid-fill for the next run, in ${r.seconds.toFixed(2)}s${r.retried ? ` (${r.retried} skipped documents retried)` : ''}`,
  ];
  for (const s of r.skippedDocs)
    lines.push(
      `  skipped ${s.doc}${s.chunk ? ` chunk ${s.chunk.index} (characters ${s.chunk.start}-${s.chunk.end})` : ''}: ${s.reason}`,
    );
  return lines.join('\n');
}

/** Generations filled, and generations whose fill failed (with what to do). */
export interface FillAll {
  runs: FillRun[];
  failed: (Degraded & { advice: string })[];
}

/**
 * Fills each of `gens` on its own: a generation that fails (a wrong
 * dimension, an unknown model, an endpoint that is down) is reported on
 * stderr with the command that fixes it, and the others are still filled.
 * Ctrl-C stops everything at once.
 */
export async function fillEach(
  ws: Workspace,
  gens: readonly string[],
  opts: {
    signal?: AbortSignal;
    quiet?: boolean;
    batchSize?: number;
    concurrency?: number;
    retrySkipped?: boolean;
  },
  ctx: Context,
): Promise<FillAll> {
  const out: FillAll = { runs: [], failed: [] };
  for (const gen of gens) {
    try {
      out.runs.push(await fillGeneration(ws, gen, opts));
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      const entry = { ...degraded(gen, e), advice: fillAdvice(gen, e) };
      out.failed.push(entry);
      ctx.err(`error: generation ${gen} was not filled: ${entry.message}; ${entry.advice}`);
    }
  }
  return out;
}

/** The `split` option of a generation's fill: its saved chunk settings, else the model's window. */
export function splitFor(
  modelMaxChars: number | undefined,
  c: ChunkSettings | undefined,
): { split?: SplitOptions | ((content: string) => Chunk[]) } {
  const maxChars = Math.min(c?.maxChars ?? modelMaxChars ?? 1000, modelMaxChars ?? Infinity);
  const overlap = c?.overlap ?? 0;
  if (c?.split === 'markdown')
    return { split: (content) => splitMarkdown(content, { maxChars, overlap }) };
  if (c?.maxChars === undefined && c?.overlap === undefined)
    return modelMaxChars ? { split: { maxChars: modelMaxChars } } : {};
  return { split: { maxChars, overlap } };
}
