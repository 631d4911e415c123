import {
  type DocHit,
  EmptyInputError,
  InvalidVectorError,
  PermanentEncodeError,
  SearchUnavailableError,
  type Store,
  search,
  VecfillError,
} from '../../core/index.js';
import type { CliFilter, CliKey } from '../backends.js';
import type { Context } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import { passageOf } from '../output.js';
import { fillGeneration } from '../run-fill.js';
import type { Workspace } from '../workspace.js';

export interface McpFlags {
  allowFill?: boolean;
}

type Sdk = {
  McpServer: typeof import('@modelcontextprotocol/sdk/server/mcp.js').McpServer;
  StdioServerTransport: typeof import('@modelcontextprotocol/sdk/server/stdio.js').StdioServerTransport;
  z: typeof import('zod').z;
};

async function loadSdk(): Promise<Sdk> {
  try {
    const [mcp, stdio, zod] = await Promise.all([
      import('@modelcontextprotocol/sdk/server/mcp.js'),
      import('@modelcontextprotocol/sdk/server/stdio.js'),
      import('zod'),
    ]);
    return {
      McpServer: mcp.McpServer,
      StdioServerTransport: stdio.StdioServerTransport,
      z: zod.z,
    };
  } catch (e) {
    throw new CliError(
      `vecfill mcp needs the Model Context Protocol SDK: npm install @modelcontextprotocol/sdk zod (${(e as Error).message})`,
      EXIT.usage,
    );
  }
}

/** One ranked result, as the `search` tool returns it (structured content). */
export interface McpSearchResult {
  rank: number;
  id: string | number;
  score: number;
  generation: string;
  /** The matching chunk: its index and character offsets in the document's content. */
  chunk: { index: number; start?: number; end?: number };
  passage: string;
}

const scalar = (id: CliKey): string | number => (typeof id === 'bigint' ? id.toString() : id);

/**
 * `vecfill mcp`: a Model Context Protocol server over stdio for the database
 * of `ws`. Tools: `search` and `status`, plus `fill` with `--allow-fill`.
 * Inputs are validated by schema; a failing call is a tool error, never a
 * crash; stdout carries only the protocol (anything a library prints goes to
 * stderr). Resolves when the client disconnects.
 */
export async function mcpCommand(ws: Workspace, flags: McpFlags, ctx: Context): Promise<number> {
  const { McpServer, StdioServerTransport, z } = await loadSdk();
  // stdout is the protocol: route stray console output of any library to stderr.
  for (const method of ['log', 'info', 'debug'] as const) console[method] = console.error;
  await ws.store(); // fail now, with exit code 3, when the database is not set up

  const server = new McpServer(
    { name: 'vecfill', version: '0.1.0' },
    {
      instructions:
        'Semantic search over a table kept embedded by vecfill. Call `search` with a natural-language query; `status` tells what is embedded.',
    },
  );
  const filterValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);
  const result = z.object({
    rank: z.number().int(),
    id: z.union([z.string(), z.number()]),
    score: z.number(),
    generation: z.string(),
    chunk: z.object({
      index: z.number().int(),
      start: z.number().int().optional(),
      end: z.number().int().optional(),
    }),
    passage: z.string(),
  });

  server.registerTool(
    'search',
    {
      title: 'Search the documents',
      description:
        'Semantic search: the documents that best match a natural-language query, best first, each with the matching passage and its character offsets in the document.',
      inputSchema: {
        query: z.string().min(1).max(4000).describe('what to look for, in plain words'),
        limit: z.number().int().min(1).max(100).default(10).describe('results to return'),
        hybrid: z.boolean().default(false).describe('also match exact words (full-text search)'),
        filter: z
          .union([
            z.record(z.string(), filterValue),
            z.array(z.object({ column: z.string(), value: filterValue })),
          ])
          .optional()
          .describe(
            'keep only rows whose columns equal these values: {"lang": "en"} or [{"column": "lang", "value": "en"}]; null matches NULL',
          ),
        generation: z
          .string()
          .optional()
          .describe('search only this generation (default: every live one, merged)'),
      },
      outputSchema: { query: z.string(), results: z.array(result) },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async (args, extra) =>
      toolCall(async () => {
        const results = await runMcpSearch(ws, args, extra.signal);
        const text =
          results.length === 0
            ? 'no matches'
            : results
                .map(
                  (r) =>
                    `${r.rank}. ${r.id} (score ${r.score.toFixed(3)}, chars ${r.chunk.start ?? '?'}-${r.chunk.end ?? '?'})\n${r.passage}`,
                )
                .join('\n\n');
        return {
          content: [{ type: 'text' as const, text }],
          structuredContent: { query: args.query, results },
        };
      }),
  );

  const generationStatus = z.object({
    generation: z.string(),
    state: z.string(),
    model: z.string(),
    dimensions: z.number().int(),
    embedded: z.number().int(),
    skipped: z.number().int(),
    backlog: z.number().int(),
  });
  server.registerTool(
    'status',
    {
      title: 'What is embedded',
      description:
        'The generations (embedding models) of the database with their state and coverage: documents embedded, skipped and still waiting (backlog).',
      inputSchema: {},
      outputSchema: { table: z.string(), generations: z.array(generationStatus) },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async () =>
      toolCall(async () => {
        const status = await statusOf(ws);
        const text = [
          `table ${status.table}`,
          ...status.generations.map(
            (g) =>
              `${g.generation} (${g.state}, ${g.model}, ${g.dimensions}d): ${g.embedded} embedded, ${g.skipped} skipped, ${g.backlog} waiting`,
          ),
        ].join('\n');
        return { content: [{ type: 'text' as const, text }], structuredContent: status };
      }),
  );

  if (flags.allowFill) {
    server.registerTool(
      'fill',
      {
        title: 'Embed what is waiting',
        description:
          'Embeds every document that changed or is new, for every live generation (or the one named). Sends progress notifications when the call has a progress token.',
        inputSchema: {
          generation: z.string().optional().describe('fill only this generation'),
        },
        outputSchema: {
          generations: z.array(
            z.object({
              generation: z.string(),
              documents: z.number().int(),
              chunks: z.number().int(),
              skipped: z.number().int(),
              stale: z.number().int(),
            }),
          ),
        },
        annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: false },
      },
      async (args, extra) =>
        toolCall(async () => {
          const store = await ws.store();
          const live = await store.liveGenerations();
          const gens = args.generation === undefined ? live : [args.generation];
          for (const g of gens)
            if (!live.includes(g))
              throw new CliError(
                `no live generation ${g}; live: ${live.join(', ') || 'none'}`,
                EXIT.notFound,
              );
          const token = extra._meta?.progressToken;
          const out = [];
          // The client drops progress that arrives after the result: wait for every notification first.
          const sent: Promise<void>[] = [];
          for (const gen of gens) {
            const { backlog } = await store.coverage(gen);
            const run = await fillGeneration(ws, gen, {
              quiet: true,
              signal: extra.signal,
              ...(token === undefined
                ? {}
                : {
                    onProgress: (p) => {
                      const notification = extra
                        .sendNotification({
                          method: 'notifications/progress',
                          params: {
                            progressToken: token,
                            progress: p.documents,
                            total: Math.max(backlog, p.documents),
                            message: `${gen}: ${p.documents} of ${backlog} documents`,
                          },
                        })
                        .catch(() => {});
                      sent.push(notification);
                    },
                  }),
            });
            out.push({
              generation: gen,
              documents: run.documents,
              chunks: run.chunks,
              skipped: run.skipped,
              stale: run.stale,
            });
          }
          await Promise.all(sent);
          // Let the notifications leave in their own write before the result:
          // clients handle a notification a tick late and drop progress for a finished call.
          if (sent.length > 0) await new Promise((resolve) => setTimeout(resolve, 10));
          const text = out
            .map((r) => `${r.generation}: ${r.documents} documents, ${r.chunks} chunks embedded`)
            .join('\n');
          return {
            content: [{ type: 'text' as const, text: text || 'nothing to fill' }],
            structuredContent: { generations: out },
          };
        }),
    );
  }

  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.stdin.once('end', () => resolve());
    ctx.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await server.connect(transport);
  ctx.err(
    `vecfill mcp: serving ${ws.path} over stdio (tools: search, status${flags.allowFill ? ', fill' : ''})`,
  );
  await closed;
  await server.close().catch(() => {});
  return EXIT.ok;
}

/** Runs a tool body; an error becomes a tool error with a message that says what to do. */
async function toolCall<T>(
  body: () => Promise<T>,
): Promise<T | { content: { type: 'text'; text: string }[]; isError: true }> {
  try {
    return await body();
  } catch (e) {
    return { content: [{ type: 'text', text: explain(e) }], isError: true };
  }
}

function explain(e: unknown): string {
  // Every generation failed: when they failed alike (the usual case: one
  // generation, or a query no model can embed), say it once, plainly.
  if (e instanceof SearchUnavailableError) {
    const reasons = [...new Set(e.causes.map((c) => explain(c.error)))];
    return reasons.length === 1 ? reasons[0]! : e.message;
  }
  if (e instanceof EmptyInputError) return 'the query is blank: give some words to search for';
  if (e instanceof InvalidVectorError)
    return `the query could not be embedded (${e.reason} vector); rephrase it with ordinary words`;
  if (e instanceof PermanentEncodeError)
    return `the query could not be embedded: ${e.message}; rephrase it`;
  if (
    e instanceof SearchUnavailableError &&
    e.causes.length > 0 &&
    e.causes.every((c) => c.error instanceof PermanentEncodeError)
  ) {
    // No generation can embed it: say why, as for a single generation.
    const first = e.causes[0]!.error as PermanentEncodeError;
    return `the query could not be embedded: ${first.message}; rephrase it, or search with hybrid to find these words through full text`;
  }
  if (e instanceof CliError || e instanceof VecfillError) return e.message;
  if (e instanceof Error) return `search failed: ${e.message}`;
  return String(e);
}

async function runMcpSearch(
  ws: Workspace,
  args: {
    query: string;
    limit: number;
    hybrid: boolean;
    filter?:
      | Record<string, string | number | boolean | null>
      | { column: string; value: string | number | boolean | null }[]
      | undefined;
    generation?: string | undefined;
  },
  signal: AbortSignal,
): Promise<McpSearchResult[]> {
  const store = await ws.store();
  const live = await store.liveGenerations();
  const gens = args.generation === undefined ? live : [args.generation];
  if (args.generation !== undefined && !live.includes(args.generation)) {
    const known = (await store.generations()).map((g) => g.key);
    throw new CliError(
      known.includes(args.generation)
        ? `generation ${args.generation} is retired; live: ${live.join(', ')}`
        : `no generation ${args.generation}; live: ${live.join(', ') || 'none'}`,
      EXIT.notFound,
    );
  }
  if (gens.length === 0)
    throw new CliError('nothing is embedded yet: run `vecfill fill` first', EXIT.notFound);
  const pairs = Array.isArray(args.filter)
    ? Object.fromEntries(args.filter.map((p) => [p.column, p.value]))
    : args.filter;
  const filter = pairs ? await ws.equalityFilter(pairs) : undefined;
  // Search exactly the chosen generations: a view of the store whose live list is `gens`.
  const view: Store<CliKey, string, CliFilter> = {
    liveGenerations: () => gens,
    queryGeneration: (gen, query, limit, opts) => store.queryGeneration(gen, query, limit, opts),
    pendingForGeneration: () => [],
    saveVectors: () => {
      throw new Error('read-only view');
    },
  };
  const hits: DocHit<CliKey, string>[] = await search(view, args.query, {
    encoderFor: async (gen) => (await ws.encoderFor(gen)).encode,
    limit: args.limit,
    merge: gens.length > 1 ? 'normalized' : 'raw',
    ...(args.hybrid ? { hybrid: true } : {}),
    ...(filter ? { filter } : {}),
    signal,
  });
  const results: McpSearchResult[] = [];
  for (const [i, h] of hits.entries()) {
    const content = await ws.contentOf(h.doc);
    const r: McpSearchResult = {
      rank: i + 1,
      id: scalar(h.doc),
      score: Number(h.score.toFixed(4)),
      generation: h.generation ?? '',
      chunk: { index: h.chunkIndex },
      passage: passageOf(content, h.start, h.end, args.query),
    };
    if (h.start !== undefined) r.chunk.start = h.start;
    if (h.end !== undefined) r.chunk.end = h.end;
    results.push(r);
  }
  return results;
}

async function statusOf(ws: Workspace) {
  const store = await ws.store();
  const cfg = (await ws.tableConfig())!;
  const generations = [];
  for (const g of await store.generations()) {
    if (g.reclaimed) continue;
    generations.push({
      generation: g.key,
      state: g.state,
      model: g.generation.model,
      dimensions: g.dimensions,
      ...(await store.coverage(g.key)),
    });
  }
  return { table: cfg.table, generations };
}
