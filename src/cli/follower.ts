import type { Server } from 'node:http';
import { describe } from '../core/errors.js';
import { type FollowEvent, follow } from '../core/index.js';
import type { Context } from './context.js';
import { CLI_DEFAULTS as D } from './defaults.js';
import { EXIT } from './errors.js';
import { FollowMetrics, serveMetrics } from './metrics.js';
import { splitFor } from './run-fill.js';
import type { Workspace } from './workspace.js';

/** Flags every following command takes (`fill --follow`, `watch`), as `flags.ts` parsed them. */
export interface FollowFlags {
  metricsPort?: number;
  /** Seconds. */
  lease?: number;
  /** Milliseconds. */
  poll?: number;
}

export interface FollowerOptions {
  batchSize: number;
  concurrency: number;
  metricsPort?: number;
  pollMs: number;
  /** Wake-ups for changes made through this process's own connection (the file watcher). */
  subscribe?: (onChange: () => void) => () => void;
}

/** `--lease` (seconds) and `--poll` (ms), or their defaults. */
export function followTimingFrom(flags: FollowFlags): { leaseMs: number; pollMs: number } {
  return {
    leaseMs: Math.round((flags.lease ?? D.leaseSeconds) * 1000),
    pollMs: flags.poll ?? D.pollMs,
  };
}

/**
 * Runs `follow` for the CLI until Ctrl-C / SIGTERM: one JSON line per event
 * with `--json`, otherwise a line per fill pass (and a redrawn status line on
 * a terminal); `/metrics` and `/healthz` when a metrics port is given.
 * Resolves 0 after a clean stop, 1 when every generation failed.
 */
export async function runFollower(
  ws: Workspace,
  ctx: Context,
  opts: FollowerOptions,
  leaseMs: number,
): Promise<number> {
  const store = await ws.store();
  const stop = new AbortController();
  const onStop = () => stop.abort();
  if (ctx.signal.aborted) stop.abort();
  ctx.signal.addEventListener('abort', onStop, { once: true });
  const metrics = new FollowMetrics(async (gen) => (await store.coverage(gen)).backlog);
  let server: Server | undefined;
  if (opts.metricsPort !== undefined) {
    const served = await serveMetrics(metrics, opts.metricsPort);
    server = served.server;
    if (ctx.json)
      line(ctx, {
        event: 'listening',
        metrics: `${served.url}/metrics`,
        health: `${served.url}/healthz`,
      });
    else ctx.err(`metrics on ${served.url}/metrics, health on ${served.url}/healthz`);
  }
  const status = new StatusLine(ctx);
  let live: string[] = [];
  const failed = new Set<string>();
  let allFailed = false;

  const onEvent = (e: FollowEvent<unknown, string>) => {
    metrics.observe(e);
    status.observe(e);
    if (ctx.json) {
      line(ctx, toJson(e));
    } else {
      const text = describeEvent(e);
      if (text) status.print(text, e.type === 'retrying' || e.type === 'failed');
    }
    if (e.type === 'generations') live = e.generations;
    if (e.type === 'failed') {
      failed.add(e.generation);
      if (live.length > 0 && live.every((g) => failed.has(g))) {
        allFailed = true;
        stop.abort();
      }
    }
    // (A binary SQLite generation centers its codes itself once first fully embedded.)
  };

  if (!ctx.json)
    ctx.err(`following ${ws.path} (Ctrl-C or SIGTERM stops; finished documents are saved)`);
  try {
    const summary = await follow(store, {
      encoderFor: async (gen) => (await ws.encoderFor(gen)).encode,
      // Each generation is followed with the chunk settings it was filled
      // with (--max-chars, --overlap, --split, the model's window), as `fill` does.
      splitFor: async (gen) =>
        splitFor((await ws.encoderFor(gen)).maxChars, (await ws.encoderSettings(gen)).chunking)
          .split,
      signal: stop.signal,
      pollMs: opts.pollMs,
      // A crashed peer's page is free again when its lease ends: look once per lease.
      rescanMs: Math.max(1000, leaseMs),
      scanBatch: D.scanBatch,
      batch: { batchSize: opts.batchSize },
      concurrency: opts.concurrency,
      onEvent,
      onProgress: (gen, p) => status.progress(gen, p.documents, p.chunks),
      ...(opts.subscribe ? { subscribe: opts.subscribe } : {}),
    });
    status.clear();
    if (ctx.json)
      line(ctx, { event: 'stopped', time: new Date().toISOString(), ...summaryJson(summary) });
    else
      ctx.err(
        `stopped: embedded ${summary.documents} documents (${summary.chunks} chunks) in this run, skipped ${summary.skipped}`,
      );
    if (allFailed) {
      ctx.err(
        'vecfill: every generation failed with a configuration error; nothing is being filled',
      );
      return EXIT.failure;
    }
    return EXIT.ok;
  } finally {
    ctx.signal.removeEventListener('abort', onStop);
    server?.close();
  }
}

function summaryJson(s: {
  documents: number;
  chunks: number;
  skipped: number;
  stale: number;
  failed: { generation: string; error: Error }[];
}) {
  return {
    documents: s.documents,
    chunks: s.chunks,
    skipped: s.skipped,
    stale: s.stale,
    failed: s.failed.map((f) => ({ generation: f.generation, ...errorJson(f.error) })),
  };
}

function line(ctx: Context, value: unknown): void {
  ctx.out(JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
}

function errorJson(e: Error): { code: string; message: string } {
  const code = (e as { code?: unknown }).code;
  return { code: typeof code === 'string' ? code : 'ERROR', message: e.message };
}

/** One event as a JSON object: `event`, `time`, then its fields (errors as `{ code, message }`). */
export function toJson(e: FollowEvent<unknown, string>): Record<string, unknown> {
  const { type, ...rest } = e;
  const out: Record<string, unknown> = { event: type, time: new Date().toISOString() };
  for (const [k, v] of Object.entries(rest)) out[k] = v instanceof Error ? errorJson(v) : v;
  return out;
}

function describeEvent(e: FollowEvent<unknown, string>): string | undefined {
  switch (e.type) {
    case 'generations':
      return e.generations.length === 0
        ? 'no live generation to fill; waiting (create one with `vecfill migrate`)'
        : `filling ${e.generations.join(', ')}`;
    case 'filled': {
      const parts = [
        `${e.generation}: embedded ${e.documents - e.skipped} documents (${e.chunks} chunks)`,
      ];
      if (e.skipped) parts.push(`skipped ${e.skipped}`);
      if (e.stale) parts.push(`${e.stale} changed mid-fill, filled again`);
      if (e.pruned) parts.push(`dropped vectors of ${e.pruned} deleted`);
      return `${parts.join(', ')} in ${e.seconds.toFixed(2)}s`;
    }
    case 'skipped':
      return `  ${e.generation}: skipped ${describe(e.doc)}: ${e.error.message}`;
    case 'retrying':
      return `warning: ${e.generation === undefined ? '' : `${e.generation}: `}${e.error.message}; retrying in ${(e.delayMs / 1000).toFixed(1)}s (attempt ${e.attempt})`;
    case 'failed':
      return `error: generation ${e.generation} left out: ${e.error.message}; fix its settings and restart, or stop searching it with \`vecfill retire ${e.generation}\``;
    case 'caught-up':
      return undefined;
  }
}

/** A redrawn status line on a terminal (stderr); silent otherwise. */
class StatusLine {
  readonly #ctx: Context;
  readonly #tty: boolean;
  #docs = 0;
  #chunks = 0;
  #pass = new Map<string, { docs: number; chunks: number }>();
  #state = 'starting';
  #last = '';
  #drawn = false;
  #lastDraw = 0;

  constructor(ctx: Context) {
    this.#ctx = ctx;
    this.#tty = !ctx.json && Boolean(process.stderr.isTTY);
  }

  observe(e: FollowEvent<unknown, string>): void {
    if (e.type === 'filled') {
      this.#docs += e.documents;
      this.#chunks += e.chunks;
      this.#pass.delete(e.generation);
      this.#last = new Date().toLocaleTimeString();
    }
    if (e.type === 'caught-up') this.#state = 'caught up';
    if (e.type === 'retrying') this.#state = 'retrying';
    this.draw(true);
  }

  progress(gen: string, docs: number, chunks: number): void {
    this.#pass.set(gen, { docs, chunks });
    this.#state = 'filling';
    this.draw(false);
  }

  print(text: string, warn: boolean): void {
    if (this.#tty && this.#drawn) process.stderr.write('\r\x1b[K');
    if (warn) this.#ctx.err(text);
    else this.#ctx.out(text);
    this.#drawn = false;
    this.draw(true);
  }

  draw(force: boolean): void {
    if (!this.#tty) return;
    const now = Date.now();
    if (!force && now - this.#lastDraw < 100) return;
    this.#lastDraw = now;
    let docs = this.#docs;
    let chunks = this.#chunks;
    for (const p of this.#pass.values()) {
      docs += p.docs;
      chunks += p.chunks;
    }
    process.stderr.write(
      `\r\x1b[K${this.#state} · ${docs} documents (${chunks} chunks) embedded${this.#last ? ` · last fill ${this.#last}` : ''}`,
    );
    this.#drawn = true;
  }

  clear(): void {
    if (this.#tty && this.#drawn) process.stderr.write('\r\x1b[K');
    this.#drawn = false;
  }
}
