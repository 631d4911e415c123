import { type DocHit, SearchUnavailableError, search } from '../../core/index.js';
import { type Degraded, degraded as degradedEntry, messageOf, searchAdvice } from '../advice.js';

import { type Context, emit } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import { highlight, passageOf } from '../output.js';
import type { CliFilter, CliKey, Workspace } from '../workspace.js';

export interface SearchFlags {
  limit?: string;
  hybrid?: boolean;
  where?: string;
  merge?: string;
  /** Milliseconds each generation's query encoding may take (`--query-timeout`). */
  queryTimeout?: string;
}

export interface SearchRow {
  rank: number;
  id: CliKey;
  score: number;
  generation: string;
  chunk: { index: number; start?: number; end?: number };
  passage: string;
}

/**
 * Runs a search over every live generation and returns rows with passages.
 * A generation that fails is left out: it is added to `degraded` (when
 * given) and the others answer.
 */
export async function runSearch(
  ws: Workspace,
  query: string,
  flags: SearchFlags,
  signal?: AbortSignal,
  degraded?: Degraded[],
): Promise<SearchRow[]> {
  const limit = flags.limit === undefined ? 10 : Number(flags.limit);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) {
    throw new CliError(
      `--limit must be a whole number from 1 to 1000, got ${flags.limit}`,
      EXIT.usage,
    );
  }
  ws.useOneQuery();
  const store = await ws.store();
  const live = await store.liveGenerations();
  // One generation: show its cosine similarity as is; several: put them on one scale.
  const merge = flags.merge ?? (live.length > 1 ? 'normalized' : 'raw');
  if (merge !== 'normalized' && merge !== 'raw' && merge !== 'rrf') {
    throw new CliError('--merge must be normalized, raw or rrf', EXIT.usage);
  }
  if (live.length === 0) {
    throw new CliError(
      'no live generation to search; run `vecfill fill` (or `vecfill activate`) first',
      EXIT.notFound,
    );
  }
  let queryTimeoutMs: number | undefined;
  if (flags.queryTimeout !== undefined) {
    queryTimeoutMs = Number(flags.queryTimeout);
    if (!Number.isSafeInteger(queryTimeoutMs) || queryTimeoutMs < 1)
      throw new CliError(
        `--query-timeout must be a positive number of milliseconds, got ${flags.queryTimeout}`,
        EXIT.usage,
      );
  }
  // The offline encoder loads its word table (a conversion on the very
  // first run) before the query deadline starts: loading is not answering.
  for (const gen of live) {
    const settings = await ws.encoderSettings(gen).catch(() => undefined);
    if (settings?.kind === 'words') await ws.encoderFor(gen).catch(() => undefined);
  }
  const filter: CliFilter | undefined = flags.where ? { where: flags.where } : undefined;
  let hits: DocHit<CliKey>[];
  try {
    hits = await search(store, query, {
      encoderFor: async (gen) => (await ws.encoderFor(gen)).encode,
      limit,
      merge,
      ...(flags.hybrid ? { hybrid: true } : {}),
      ...(filter ? { filter } : {}),
      ...(signal ? { signal } : {}),
      ...(queryTimeoutMs !== undefined ? { queryTimeoutMs } : {}),
      onGenerationError: (gen, error) => degraded?.push(degradedEntry(gen, error)),
    });
  } catch (e) {
    if (flags.where && e instanceof Error && /read-only/i.test(e.message)) {
      throw new CliError(
        `--where must only read: searches run read-only, and this filter tried to write (${e.message})`,
        EXIT.usage,
      );
    }
    if (
      flags.where &&
      e instanceof Error &&
      /SQLITE|syntax|no such column/i.test(`${(e as { code?: string }).code ?? ''} ${e.message}`)
    ) {
      throw new CliError(
        `--where is not valid SQL over the documents table (alias d): ${e.message}`,
        EXIT.usage,
      );
    }
    throw e;
  }
  const rows: SearchRow[] = [];
  for (const [i, h] of hits.entries()) {
    const content = await ws.contentOf(h.doc);
    const row: SearchRow = {
      rank: i + 1,
      id: h.doc,
      score: Number(h.score.toFixed(4)),
      generation: live[h.list ?? 0] ?? '',
      chunk: { index: h.chunkIndex },
      passage: passageOf(content, h.start, h.end, query),
    };
    if (h.start !== undefined) row.chunk.start = h.start;
    if (h.end !== undefined) row.chunk.end = h.end;
    rows.push(row);
  }
  return rows;
}

export function renderRows(rows: SearchRow[], query: string, tty: boolean): string {
  if (rows.length === 0) return 'no matches';
  return rows
    .map(
      (r) =>
        `${String(r.rank).padStart(2)}. ${String(r.id)}  (score ${r.score.toFixed(3)})\n    ${highlight(r.passage, query, tty)}`,
    )
    .join('\n');
}

/**
 * `vecfill search`: one warning line on stderr per generation left out. When
 * no generation can embed the query and `--hybrid` is off, it says so and
 * suggests `--hybrid` (no hits, exit 0); when nothing can answer for another
 * reason (outages, settings), it exits 1.
 */
export async function searchCommand(
  ws: Workspace,
  query: string,
  flags: SearchFlags,
  ctx: Context,
): Promise<number> {
  const degraded: Degraded[] = [];
  const warn = () => {
    for (const d of degraded)
      ctx.err(
        `warning: generation ${d.generation} left out: ${d.message}; ${searchAdvice(d.generation, { code: d.code, message: d.message }, Boolean(flags.hybrid))}`,
      );
  };
  let rows: SearchRow[];
  try {
    rows = await runSearch(ws, query, flags, ctx.signal, degraded);
  } catch (e) {
    warn();
    if (
      e instanceof SearchUnavailableError &&
      !flags.hybrid &&
      e.causes.length > 0 &&
      e.causes.every((c) => (c.error as { code?: unknown }).code === 'PERMANENT_ENCODE')
    ) {
      ctx.err(
        `no generation can embed ${JSON.stringify(query)} (${messageOf(e.causes[0]!.error)}); search again with --hybrid to find these words through full text`,
      );
      return emit(ctx, { query, results: [], degraded }, () => 'no matches');
    }
    throw e;
  }
  warn();
  const value = degraded.length > 0 ? { query, results: rows, degraded } : { query, results: rows };
  return emit(ctx, value, () => renderRows(rows, query, ctx.tty));
}
