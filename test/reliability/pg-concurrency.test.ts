import { spawn } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EncodeFn, fill, UncoveredError } from '../../src/core/index.js';
import { type PgClient, PgStore } from '../../src/postgres/index.js';
import { ENGINE, pgHarness, startEngine, type TestEngine } from '../postgres/helpers.js';
import { finished } from '../support/child.js';
import { embed } from '../support/hash-encoder.js';

/**
 * Concurrency on the Postgres backend. On a server (VECFILL_TEST_PG_URL)
 * every worker, editor and searcher has its own connections, so row locks,
 * leases and snapshots are exercised between real sessions; on PGlite the
 * same steps interleave on its one session.
 */
const DIMS = 16;
const GEN = { model: 'hash', dimensions: DIMS };
const topics = ['apple', 'rocket', 'violin', 'harbor', 'garden', 'chess', 'tide', 'bread'];
const contentOf = (id: number, version: number) =>
  `${topics[id % 8]} ${topics[(id * 3) % 8]} doc ${id} version ${version}`;

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i]! * b[i]!;
  return dot;
}

let engine: TestEngine;
const pools: pg.Pool[] = [];
beforeAll(async () => {
  engine = await startEngine();
});
afterAll(async () => {
  for (const p of pools) await p.end();
  await engine?.close();
});

/** A client of its own: a new pool (new sessions) on a server, the one PGlite otherwise. */
function session(max = 2): PgClient {
  if (!engine.server) return engine.client;
  const pool = new pg.Pool({ connectionString: engine.url, max });
  pool.on('error', () => {});
  pools.push(pool);
  return pool;
}

/** Each version of each document and when it was visible: [from, to] in performance.now() ms. */
type History = Map<number, { content: string; from: number; to: number }[]>;

/** Makes `edits` edits on its own session, one every few ms: updates (new content, revision + 1) and deletes. */
function startEditor(
  client: PgClient,
  ns: string,
  ids: number[],
  history: History,
  edits: number,
): { stop(): Promise<{ updates: number; deletes: number }> } {
  let running = true;
  let updates = 0;
  let deletes = 0;
  const alive = new Set(ids);
  const version = new Map<number, number>();
  let n = 0;
  const loop = (async () => {
    while (running && updates + deletes < edits) {
      const pool = [...alive];
      const id = pool[(n++ * 7919) % pool.length]!;
      const v = (version.get(id) ?? 1) + 1;
      const before = performance.now();
      if (n % 9 === 0 && alive.size > ids.length / 2) {
        await client.query(`DELETE FROM ${ns}.docs WHERE id = $1`, [id]);
        history.get(id)!.at(-1)!.to = performance.now();
        alive.delete(id);
        deletes++;
      } else {
        const content = contentOf(id, v);
        await client.query(
          `UPDATE ${ns}.docs SET content = $1, revision = revision + 1 WHERE id = $2`,
          [content, id],
        );
        const after = performance.now();
        history.get(id)!.at(-1)!.to = after;
        history.get(id)!.push({ content, from: before, to: Number.POSITIVE_INFINITY });
        version.set(id, v);
        updates++;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { updates, deletes };
    },
  };
}

/** Documents whose current stamp carries vectors of anything but their current content. */
async function staleStamps(ns: string, genId: number): Promise<string[]> {
  const { rows } = await engine.client.query(
    `SELECT d.id, d.content, v.embedding::text AS e FROM ${ns}.docs d
     JOIN ${ns}.vf_stamps s ON s.gen = $1 AND s.doc = d.id AND s.revision = d.revision::text
     JOIN ${ns}.vf_chunks c ON c.gen = $1 AND c.doc = d.id
     JOIN ${ns}.vf_vec_${genId} v ON v.id = c.id`,
    [genId],
  );
  const wrong: string[] = [];
  for (const r of rows) {
    const stored = JSON.parse(String(r.e)) as number[];
    const clean = embed(String(r.content), DIMS);
    if (stored.some((x, i) => Math.abs(x - clean[i]!) > 1e-6))
      wrong.push(`document ${r.id} is stamped current with vectors of other content`);
  }
  return wrong;
}

describe(`Postgres concurrency on ${ENGINE}`, () => {
  for (const workers of [2, 4]) {
    it(`${workers} leased fill workers on their own connections, an editor and searches: nothing embedded twice, no lost update, no deleted or stale hit`, async () => {
      const DOCS = 600;
      const BATCH = 16;
      const h = await pgHarness(engine.client, { leaseMs: 60_000 });
      const ns = h.schema.docsTable.split('.')[0]!;
      try {
        const history: History = new Map();
        const values: string[] = [];
        for (let i = 1; i <= DOCS; i++) {
          values.push(`(${i}, '${contentOf(i, 1)}')`);
          history.set(i, [{ content: contentOf(i, 1), from: 0, to: Number.POSITIVE_INFINITY }]);
        }
        await engine.client.query(
          `INSERT INTO ${ns}.docs (id, content) VALUES ${values.join(',')}`,
        );
        await h.store.ensureGeneration('g', GEN, 'active');
        const [{ id: genId }] = (
          await engine.client.query(`SELECT id FROM ${ns}.vf_generations WHERE key = 'g'`)
        ).rows as [{ id: number }];
        const embedded = new Map<string, number>();
        const encode: EncodeFn = async (texts) => {
          await new Promise((r) => setTimeout(r, 2));
          for (const t of texts) embedded.set(t, (embedded.get(t) ?? 0) + 1);
          return texts.map((t) => embed(t, DIMS));
        };
        const editor = startEditor(
          session(1),
          ns,
          Array.from({ length: DOCS }, (_, i) => i + 1),
          history,
          400,
        );
        // Searches on a session of their own, each checked against the versions alive while it ran.
        const reader = await PgStore.open(session(1), h.schema);
        const violations: string[] = [];
        let searches = 0;
        let searching = true;
        const searcher = (async () => {
          const queries = ['apple rocket', 'violin harbor', 'garden chess', 'tide bread'];
          while (searching) {
            const q = embed(queries[searches % 4]!, DIMS);
            const t0 = performance.now();
            const hits = await reader.queryGeneration('g', q, 10);
            const t1 = performance.now();
            for (const hit of hits) {
              const versions = history.get(Number(hit.doc)) ?? [];
              const ok = versions.some(
                (v) =>
                  v.from <= t1 &&
                  v.to >= t0 &&
                  Math.abs(cosine(q, embed(v.content, DIMS)) - hit.score) <= 1e-4,
              );
              if (!ok) violations.push(`search ${searches}: document ${hit.doc} deleted or stale`);
            }
            searches++;
            await new Promise((r) => setTimeout(r, 2));
          }
        })();
        const started = performance.now();
        const stores = await Promise.all(
          Array.from({ length: workers }, () => PgStore.open(session(2), h.schema)),
        );
        const results = await Promise.all(
          stores.map((store) =>
            fill(store, 'g', encode, { scanBatch: 32, batch: { batchSize: BATCH } }),
          ),
        );
        const seconds = (performance.now() - started) / 1000;
        const edits = await editor.stop();
        searching = false;
        await searcher;
        const documents = results.reduce((n, r) => n + r.documents, 0);
        const twice = [...embedded.values()].reduce((n, c) => n + (c - 1), 0);
        console.log(
          `[${ENGINE}] ${workers} workers: ${documents} saves in ${seconds.toFixed(1)} s (${Math.round(documents / seconds)} docs/s), per worker ${results.map((r) => r.documents).join('/')}; editor ${edits.updates} updates, ${edits.deletes} deletes; ${searches} searches checked; ${twice} texts embedded twice`,
        );
        expect(violations).toEqual([]);
        expect(searches).toBeGreaterThan(0);
        expect(results.every((r) => r.documents > 0)).toBe(true);
        expect(twice).toBeLessThanOrEqual(BATCH);
        expect(await staleStamps(ns, genId)).toEqual([]);
        // One more fill picks up the last edits (a store without leases: documents a worker
        // scanned again after refusing them stay leased to it until the lease expires).
        const { leaseMs: _, ...unleased } = h.schema;
        await fill(await PgStore.open(engine.client, unleased), 'g', encode);
        const remaining = DOCS - edits.deletes;
        expect(await h.store.coverage('g')).toEqual({
          embedded: remaining,
          skipped: 0,
          backlog: 0,
        });
        expect(await staleStamps(ns, genId)).toEqual([]);
      } finally {
        await h.close();
      }
    }, 120_000);
  }

  it('activate racing a fill succeeds only once the backlog is zero', async () => {
    const h = await pgHarness(engine.client);
    const ns = h.schema.docsTable.split('.')[0]!;
    try {
      const DOCS = 400;
      const values = Array.from({ length: DOCS }, (_, i) => `(${i + 1}, '${contentOf(i + 1, 1)}')`);
      await engine.client.query(`INSERT INTO ${ns}.docs (id, content) VALUES ${values.join(',')}`);
      await h.store.ensureGeneration('a', GEN, 'active');
      const encode: EncodeFn = async (texts) => texts.map((t) => embed(t, DIMS));
      await fill(h.store, 'a', encode);
      await h.store.ensureGeneration('b', { ...GEN, params: { v: 2 } });
      const filler = await PgStore.open(session(2), h.schema);
      const activator = await PgStore.open(session(1), h.schema);
      let done = false;
      const filling = fill(
        filler,
        'b',
        async (texts) => {
          await new Promise((r) => setTimeout(r, 1));
          return encode(texts, {});
        },
        { scanBatch: 20 },
      ).finally(() => {
        done = true;
      });
      let refusals = 0;
      for (;;) {
        try {
          await activator.activate('b');
          break;
        } catch (e) {
          expect(e).toBeInstanceOf(UncoveredError);
          refusals++;
          if (done && refusals > 10_000) throw e;
          await new Promise((r) => setTimeout(r, 2));
        }
      }
      const backlogAtActivation = (await h.store.coverage('b')).backlog;
      await filling;
      expect(backlogAtActivation).toBe(0);
      expect(refusals).toBeGreaterThan(0);
      const states = Object.fromEntries((await h.store.generations()).map((g) => [g.key, g.state]));
      expect(states).toEqual({ a: 'retired', b: 'active' });
    } finally {
      await h.close();
    }
  }, 120_000);

  if (engine?.server !== false && process.env.VECFILL_TEST_PG_URL) {
    it('two processes ensuring the same new generation at once both get it, and it exists once', async () => {
      const h = await pgHarness(engine.client);
      const ns = h.schema.docsTable.split('.')[0]!;
      try {
        for (let round = 0; round < 5; round++) {
          const key = `new-${round}`;
          const at = Date.now() + 700;
          const outputs = await Promise.all(
            [0, 1].map((n) => ensureInChild(engine.url, h.schema, key, at, n)),
          );
          for (const out of outputs)
            expect(out).toMatchObject({ ok: true, key, state: 'building' });
          const { rows } = await engine.client.query(
            `SELECT count(*)::int AS n FROM ${ns}.vf_generations WHERE key = $1`,
            [key],
          );
          expect(rows[0]!.n).toBe(1);
          await h.store.retire(key);
        }
      } finally {
        await h.close();
      }
    }, 120_000);
  }
});

const ENSURE_WORKER = join(import.meta.dirname, 'pg-ensure-worker.mjs');

/** Runs `pg-ensure-worker.mjs` in a child process: open the store and ensure `key` at time `at`. */
function ensureInChild(
  url: string,
  schema: object,
  key: string,
  at: number,
  n: number,
): Promise<Record<string, unknown>> {
  const child = spawn(
    process.execPath,
    [ENSURE_WORKER, JSON.stringify({ url, schema, key, at, dims: DIMS, n })],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return finished(child).then(({ stdout, stderr }) => {
    try {
      return JSON.parse(stdout) as Record<string, unknown>;
    } catch {
      throw new Error(`ensure worker printed ${stdout} ${stderr}`);
    }
  });
}
