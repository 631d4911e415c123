import {
  DEFAULTS,
  type DocHit,
  type GenerationFailure,
  SearchUnavailableError,
  search,
} from '../../core/index.js';
import { POSTGRES, SQLITE } from '../../sql/dialect.js';
import { type Degraded, degraded as degradedEntry, messageOf, searchAdvice } from '../advice.js';
import type { CliFilter, CliKey, CliStore } from '../backends.js';
import { type Context, emit } from '../context.js';
import { CLI_DEFAULTS as D } from '../defaults.js';
import { CliError, EXIT } from '../errors.js';
import { highlight, passageOf } from '../output.js';
import type { Workspace } from '../workspace.js';

export interface SearchFlags {
  limit?: number;
  /** Default: on when the store has full text (`--no-hybrid` turns it off). */
  hybrid?: boolean;
  /** Keep hits whose raw similarity is at least this (`--min-score`). */
  minScore?: number;
  /** Search this generation only (`--generation`). */
  generation?: string;
  where?: string;
  merge?: string;
  /** Milliseconds each generation's query encoding may take (`--query-timeout`). */
  queryTimeout?: number;
}

export interface SearchRow {
  rank: number;
  id: CliKey;
  /** What the ranking used: the fused score when lists were fused, else the similarity. */
  score: number;
  /** Raw similarity of the best chunk (cosine for vector hits); null for a full-text-only hit. */
  similarity: number | null;
  /** The fused score, when lists were fused (hybrid, or several generations). */
  fused?: number;

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
  const limit = flags.limit ?? D.limit;
  ws.useOneQuery();
  const store = await ws.store();
  let live = await store.liveGenerations();
  if (flags.generation !== undefined) {
    const all = await store.generations();
    const g = all.find((x) => x.key === flags.generation);
    if (!g || !live.includes(g.key)) {
      throw new CliError(
        `--generation ${flags.generation} is not a live generation (live: ${live.join(', ') || 'none'}); see \`vecfill status\``,
        EXIT.notFound,
      );
    }
    live = [g.key];
  }
  const merge = flags.merge ?? 'normalized';
  if (merge !== 'normalized' && merge !== 'raw' && merge !== 'rrf') {
    throw new CliError('--merge must be normalized, raw or rrf', EXIT.usage);
  }
  const minScore = flags.minScore;
  if (live.length === 0) {
    throw new CliError(
      'no live generation to search; run `vecfill fill` (or `vecfill activate`) first',
      EXIT.notFound,
    );
  }
  const queryTimeoutMs = flags.queryTimeout;
  // Hybrid is the default where the store has full text.
  const hybrid = flags.hybrid ?? typeof store.queryFullText === 'function';
  // The offline encoder loads its word table (a conversion on the very
  // first run) before the query deadline starts: loading is not answering.
  for (const gen of live) {
    const settings = await ws.encoderSettings(gen).catch(() => undefined);
    if (settings?.kind === 'words') await ws.encoderFor(gen).catch(() => undefined);
  }
  const filter: CliFilter | undefined = flags.where ? { where: flags.where } : undefined;
  // Every search asks each generation for the same number of candidates
  // whatever --limit is, so a document's score does not depend on --limit.
  const fetch = D.searchCandidates;
  const failures: GenerationFailure[] = [];
  const lists: { gen: string; hits: DocHit<CliKey>[]; weight: number }[] = [];
  for (const gen of live) {
    let hits: DocHit<CliKey>[];
    try {
      hits = await search(store, query, {
        generations: [gen],
        encoderFor: async (g) => (await ws.encoderFor(g)).encode,
        limit: fetch,
        perGeneration: fetch * 3,
        merge: 'raw',
        ...(hybrid ? { hybrid: true } : {}),
        ...(filter ? { filter } : {}),
        ...(signal ? { signal } : {}),
        ...(queryTimeoutMs !== undefined ? { queryTimeoutMs } : {}),
        onGenerationError: (g, error) => {
          if (!(error instanceof SearchUnavailableError)) degraded?.push(degradedEntry(g, error));
        },
      });
    } catch (e) {
      if (e instanceof SearchUnavailableError) {
        // A --where that writes or is not valid SQL is the user's to fix, not an outage.
        const usage = e.causes
          .map((c) => whereError(flags, c.error))
          .find((x) => x instanceof CliError);
        if (usage) throw usage;
        failures.push(...e.causes);
        continue;
      }
      throw whereError(flags, e);
    }
    lists.push({ gen, hits, weight: await coverageWeight(store, gen) });
  }
  if (lists.length === 0 && failures.length > 0) throw new SearchUnavailableError(failures);
  // Hybrid: a hit whose text holds a query word as it is typed ranks above
  // vector-only hits of about the same fused rank (its fused score counts
  // EXACT_BOOST times).
  const exact = new Set<string>();
  const words = queryWords(query);
  if (hybrid && words) {
    for (const { hits } of lists)
      for (const h of hits) {
        const key = docKey(h.doc);
        if (!exact.has(key) && words.test(await ws.contentOf(h.doc))) exact.add(key);
      }
  }
  const fusedAcross = lists.length > 1;
  type Ranked = { hit: DocHit<CliKey>; gen: string; rankScore: number; similarity?: number };
  const best = new Map<string, Ranked>();
  for (const { gen, hits, weight } of lists) {
    const raw = hits
      .map((h) => ({ h, similarity: hybrid ? h.similarity : h.score }))
      .filter(
        ({ similarity }) =>
          minScore === undefined || (similarity !== undefined && similarity >= minScore),
      );
    const scores = raw.map(({ h }) => (exact.has(docKey(h.doc)) ? h.score * EXACT_BOOST : h.score));
    const min = Math.min(...scores);
    const span = Math.max(...scores) - min;
    raw.forEach(({ h, similarity }, rank) => {
      const key = docKey(h.doc);
      let rankScore = exact.has(key) ? h.score * EXACT_BOOST : h.score;
      if (fusedAcross) {
        // Across generations, each list's score is put on one scale and
        // weighted by the generation's coverage: a barely built generation's
        // best (noise) hit cannot outrank the active generation's.
        const onScale =
          merge === 'raw'
            ? rankScore
            : merge === 'rrf'
              ? 1 / (DEFAULTS.rankConstant + rank + 1)
              : span > 0
                ? (rankScore - min) / span
                : 1;
        rankScore = onScale * weight;
      }
      const seen = best.get(key);
      if (!seen || rankScore > seen.rankScore)
        best.set(key, {
          hit: h,
          gen,
          rankScore,
          ...(similarity !== undefined ? { similarity } : {}),
        });
    });
  }
  const ranked = [...best.values()].sort((a, b) => b.rankScore - a.rankScore).slice(0, limit);
  const rows: SearchRow[] = [];
  for (const [i, r] of ranked.entries()) {
    const h = r.hit;
    const content = await ws.contentOf(h.doc);
    const textOnly = r.similarity === undefined;
    const fused = hybrid || fusedAcross;
    const row: SearchRow = {
      rank: i + 1,
      id: h.doc,
      score: Number(r.rankScore.toFixed(4)),
      similarity: textOnly ? null : Number(r.similarity!.toFixed(4)),
      ...(fused ? { fused: Number(r.rankScore.toFixed(4)) } : {}),
      generation: r.gen,
      chunk: { index: h.chunkIndex },
      passage: textOnly
        ? passageOf(content, undefined, undefined, query, 280, true)
        : passageOf(content, h.start, h.end, query),
    };
    if (h.start !== undefined) row.chunk.start = h.start;
    if (h.end !== undefined) row.chunk.end = h.end;
    rows.push(row);
  }
  return rows;
}

/** How much more a hybrid hit whose text holds a query word counts than one found by its vectors only. */
const EXACT_BOOST = 1.25;

const docKey = (doc: CliKey) => JSON.stringify(typeof doc === 'bigint' ? doc.toString() : doc);

/** A pattern matching any word of the query (3+ letters) as a whole word, or undefined. */
function queryWords(query: string): RegExp | undefined {
  const words = [...new Set(query.toLowerCase().match(/[\p{L}\p{N}]{3,}/gu) ?? [])];
  if (words.length === 0) return undefined;
  const escaped = words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`(?<![\\p{L}\\p{N}])(${escaped.join('|')})(?![\\p{L}\\p{N}])`, 'iu');
}

/** The share of the documents a generation covers (1 when complete): how much its hits count in a merge. */
async function coverageWeight(store: CliStore, gen: string): Promise<number> {
  const c = await store.coverage(gen);
  const total = c.embedded + c.skipped + c.backlog;
  return total === 0 ? 1 : (c.embedded + c.skipped) / total;
}

/** A --where that is not read-only SQL is a usage error (driver errors recognised by their codes). */
function whereError(flags: SearchFlags, e: unknown): unknown {
  const dialects = [SQLITE, POSTGRES];
  if (flags.where && e instanceof Error && dialects.some((d) => d.isReadOnlyViolation(e))) {
    return new CliError(
      `--where must only read: searches run read-only, and this filter tried to write (${e.message})`,
      EXIT.usage,
    );
  }
  if (flags.where && e instanceof Error && dialects.some((d) => d.isInvalidSql(e))) {
    return new CliError(
      `--where is not valid SQL over the documents table (alias d): ${e.message}`,
      EXIT.usage,
    );
  }
  return e;
}

export function renderRows(rows: SearchRow[], query: string, tty: boolean): string {
  if (rows.length === 0) return 'no matches';
  return rows
    .map(
      (r) =>
        `${String(r.rank).padStart(2)}. ${String(r.id)}  (${r.similarity === null ? 'full-text match' : `similarity ${r.similarity.toFixed(3)}`}${r.fused !== undefined ? `, fused ${r.fused.toFixed(4)}` : ''})\n    ${highlight(r.passage, query, tty)}`,
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
        `warning: generation ${d.generation} left out: ${d.message}; ${searchAdvice(d.generation, { code: d.code, message: d.message }, flags.hybrid !== false)}`,
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
