import { type DocHit, search } from '../../core/index.js';

import { type Context, emit } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import { highlight, passageOf } from '../output.js';
import type { CliFilter, CliKey, Workspace } from '../workspace.js';

export interface SearchFlags {
  limit?: string;
  hybrid?: boolean;
  where?: string;
  merge?: string;
}

export interface SearchRow {
  rank: number;
  id: CliKey;
  score: number;
  generation: string;
  chunk: { index: number; start?: number; end?: number };
  passage: string;
}

/** Runs a search over every live generation and returns rows with passages. */
export async function runSearch(
  ws: Workspace,
  query: string,
  flags: SearchFlags,
  signal?: AbortSignal,
): Promise<SearchRow[]> {
  const limit = flags.limit === undefined ? 10 : Number(flags.limit);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) {
    throw new CliError(
      `--limit must be a whole number from 1 to 1000, got ${flags.limit}`,
      EXIT.usage,
    );
  }
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

export async function searchCommand(
  ws: Workspace,
  query: string,
  flags: SearchFlags,
  ctx: Context,
): Promise<number> {
  const rows = await runSearch(ws, query, flags, ctx.signal);
  return emit(ctx, { query, results: rows }, () => renderRows(rows, query, ctx.tty));
}
