import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Registry } from 'prom-client';
import type { FollowEvent } from '../core/index.js';
import { CliError, EXIT } from './errors.js';

/**
 * The follower's Prometheus metrics (prom-client, its own registry). Counters
 * grow with `filled` events; backlog and lag are read when scraped.
 */
export class FollowMetrics {
  readonly registry = new Registry();
  readonly #label = ['generation'] as const;
  readonly #embedded: Counter<'generation'>;
  readonly #chunks: Counter<'generation'>;
  readonly #skipped: Counter<'generation'>;
  readonly #stale: Counter<'generation'>;
  readonly #errors: Counter<'generation'>;
  readonly #lastFill: Gauge<'generation'>;
  /** When each generation last had nothing pending (ms since epoch). */
  readonly #caughtUpAt = new Map<string, number>();
  readonly #failed = new Map<string, string>();
  #generations: string[] = [];

  constructor(backlogOf: (gen: string) => Promise<number>) {
    const registers = [this.registry];
    const labelNames = this.#label;
    this.#embedded = new Counter({
      name: 'vecfill_documents_embedded_total',
      help: 'Documents embedded (or stamp-skipped) by this follower',
      labelNames,
      registers,
    });
    this.#chunks = new Counter({
      name: 'vecfill_chunks_embedded_total',
      help: 'Chunks embedded by this follower',
      labelNames,
      registers,
    });
    this.#skipped = new Counter({
      name: 'vecfill_documents_skipped_total',
      help: 'Documents stamped without vectors (blank, or rejected by the model)',
      labelNames,
      registers,
    });
    this.#stale = new Counter({
      name: 'vecfill_stale_refusals_total',
      help: 'Saves refused because the row changed or vanished after it was read (filled again later)',
      labelNames,
      registers,
    });
    this.#errors = new Counter({
      name: 'vecfill_encode_errors_total',
      help: 'Failed fill passes (provider outages, configuration errors) and documents the model rejected',
      labelNames,
      registers,
    });
    this.#lastFill = new Gauge({
      name: 'vecfill_last_fill_timestamp_seconds',
      help: 'Unix time of the last fill pass that succeeded',
      labelNames,
      registers,
    });
    const self = this;
    const backlogs = async () => {
      const out = new Map<string, number>();
      for (const gen of self.#generations) {
        if (self.#failed.has(gen)) continue;
        try {
          out.set(gen, await backlogOf(gen));
        } catch {
          // A generation retired meanwhile, or the database is busy: skip it this scrape.
        }
      }
      return out;
    };
    new Gauge({
      name: 'vecfill_backlog',
      help: 'Documents not yet embedded at their current content',
      labelNames,
      registers,
      async collect() {
        this.reset();
        for (const [gen, n] of await backlogs()) this.set({ generation: gen }, n);
      },
    });
    new Gauge({
      name: 'vecfill_lag_seconds',
      help: 'Seconds since the backlog was last zero (0 while caught up)',
      labelNames,
      registers,
      async collect() {
        this.reset();
        const now = Date.now();
        for (const [gen, n] of await backlogs()) {
          const since = self.#caughtUpAt.get(gen);
          this.set({ generation: gen }, n === 0 || since === undefined ? 0 : (now - since) / 1000);
        }
      },
    });
    new Gauge({
      name: 'vecfill_generation_failed',
      help: '1 for a generation left out after a configuration error',
      labelNames,
      registers,
      collect() {
        this.reset();
        for (const gen of self.#generations)
          this.set({ generation: gen }, self.#failed.has(gen) ? 1 : 0);
      },
    });
  }

  /** Updates the metrics from one follower event. */
  observe(e: FollowEvent<unknown, string>): void {
    switch (e.type) {
      case 'generations':
        this.#generations = [...e.generations];
        for (const g of e.generations) {
          if (!this.#caughtUpAt.has(g)) this.#caughtUpAt.set(g, Date.now());
          // Every series exists from the start, at 0, so rates and alerts see it.
          for (const c of [this.#embedded, this.#chunks, this.#skipped, this.#stale, this.#errors])
            c.inc({ generation: g }, 0);
        }
        break;
      case 'filled': {
        const l = { generation: e.generation };
        this.#embedded.inc(l, e.documents);
        this.#chunks.inc(l, e.chunks);
        this.#skipped.inc(l, e.skipped);
        this.#stale.inc(l, e.stale);
        this.#lastFill.set(l, Date.now() / 1000);
        break;
      }
      case 'caught-up':
        this.#caughtUpAt.set(e.generation, Date.now());
        this.#lastFill.set({ generation: e.generation }, Date.now() / 1000);
        break;
      case 'skipped':
        this.#errors.inc({ generation: e.generation });
        break;
      case 'retrying':
        if (e.generation !== undefined) this.#errors.inc({ generation: e.generation });
        break;
      case 'failed':
        this.#errors.inc({ generation: e.generation });
        this.#failed.set(e.generation, e.error.message);
        break;
    }
  }

  /** True unless every followed generation failed. */
  healthy(): boolean {
    return this.#generations.length === 0 || this.#generations.some((g) => !this.#failed.has(g));
  }

  health(): { status: 'ok' | 'failing'; generations: Record<string, string> } {
    const generations: Record<string, string> = {};
    for (const g of this.#generations)
      generations[g] = this.#failed.has(g) ? `failed: ${this.#failed.get(g)}` : 'ok';
    return { status: this.healthy() ? 'ok' : 'failing', generations };
  }
}

/**
 * Serves `/metrics` (Prometheus text format) and `/healthz` on 127.0.0.1
 * only. Resolves once listening, with the URL (port 0 picks a free port).
 */
export async function serveMetrics(
  metrics: FollowMetrics,
  port: number,
): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text);
        },
        (e: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' }).end(String(e));
        },
      );
    } else if (path === '/healthz') {
      const body = JSON.stringify(metrics.health());
      res
        .writeHead(metrics.healthy() ? 200 : 503, { 'content-type': 'application/json' })
        .end(body);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('try /metrics or /healthz\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new CliError(
          `cannot serve metrics on 127.0.0.1:${port}: ${e.code === 'EADDRINUSE' ? 'the port is in use; pick another --metrics-port' : e.message}`,
          EXIT.usage,
        ),
      ),
    );
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  server.unref();
  return { url: `http://127.0.0.1:${bound}`, server };
}
