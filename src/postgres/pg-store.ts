import type * as core from '../core/index.js';
import type { PgClient } from './pg-client.js';
import { type PgContext, pgContext } from './pg-context.js';
import { serverTakesCopyIn } from './pg-copy.js';
import * as coverage from './pg-coverage.js';
import { queryFullText } from './pg-full-text.js';
import { buildIndex, indexStatus } from './pg-hnsw.js';
import * as lifecycle from './pg-lifecycle.js';
import {
  ChangeWatcher,
  changeObjects,
  installTriggerSql,
  uninstallTriggerSql,
} from './pg-notify.js';
import { saveMany, saveOne } from './pg-save.js';
import { pending } from './pg-scan.js';
import { type PgSchema, type ValidPgSchema, validatePgSchema } from './pg-schema.js';
import { queryGeneration } from './pg-search.js';
import { createStoreTables, detectPgvector, inspectDocuments } from './pg-tables.js';
import type * as pg from './pg-types.js';
import type { PgFilter, PgKey } from './pg-types.js';

/** Search options with a Postgres filter; the full-text search's subset; what both return. */
type Options = core.QueryOptions<PgFilter>;
type TextOptions = Omit<Options, 'text' | 'hybrid'>;
type Hits = Promise<core.Hit<PgKey>[]>;
type Revision = core.Revision | undefined;
type Vectors = core.ChunkVector[];
type SaveOptions = core.SaveOptions;

/**
 * The PostgreSQL + pgvector store: the same contract and guarantees as the
 * SQLite store, over any client with `query(text, params)` — a node-postgres
 * `Pool` (recommended: transactions take their own connection), a `Client`,
 * or PGlite. One table per generation with an HNSW index (cosine).
 *
 * This class only routes: each concern lives in a file named for it —
 * tables and upgrades (`pg-tables.ts`), the pending scan and leases
 * (`pg-scan.ts`), saving (`pg-save.ts`), search (`pg-search.ts`), full
 * text (`pg-full-text.ts`), the HNSW index (`pg-hnsw.ts`), coverage
 * (`pg-coverage.ts`) and the generation lifecycle (`pg-lifecycle.ts`).
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * const store = await PgStore.open(pool, { docsTable: 'app.notes', idColumn: 'id', contentColumn: 'body',
 *   revisionColumn: 'updated_at', vectorsPrefix: 'app.notes_vec' });
 * ```
 */
export class PgStore implements core.LifecycleStore<PgKey, string, PgFilter> {
  readonly #ctx: PgContext;
  #changes: ChangeWatcher | undefined;

  /** Listener for index builds started by `pendingForGeneration` or `activate` (the CLI draws its bar from it). */
  onIndexProgress: ((progress: pg.PgIndexProgress) => void) | undefined = undefined;

  private constructor(ctx: PgContext) {
    this.#ctx = ctx;
  }

  /** Validates the schema, checks the documents table, and creates the store's tables if missing. */
  static async open(client: PgClient, schema: PgSchema): Promise<PgStore> {
    const { schema: valid, idType } = await inspectDocuments(client, validatePgSchema(schema));
    const pgvector = await detectPgvector(client);
    const ctx = pgContext(client, valid, idType, pgvector, await serverTakesCopyIn(client));
    await createStoreTables(ctx);
    return new PgStore(ctx);
  }

  get client(): PgClient {
    return this.#ctx.client;
  }

  /** The validated schema (with the revision's session-independent form once open). */
  get schema(): ValidPgSchema {
    return this.#ctx.schema;
  }

  /** The pgvector version the server offers and whether it has iterative index scans (0.8+). */
  get pgvector(): pg.PgvectorInfo {
    return this.#ctx.pgvector;
  }

  // ---------------------------------------------------------------- Store

  /**
   * The next pending documents. An empty answer for a generation whose ANN
   * index was deferred (a building generation fills without one) builds the
   * index once the backlog is really zero: the fill that completes a
   * generation ends with its index in place.
   */
  async pendingForGeneration(gen: string, limit: number): Promise<core.Pending<PgKey>[]> {
    const rows = await pending(this.#ctx, gen, limit);
    if (rows.length === 0 && !(await this.indexStatus(gen)).valid) {
      if ((await this.coverage(gen)).backlog === 0) await this.buildIndex(gen);
    }
    return rows;
  }

  /** One document's save: a batch of one (`pg-save.ts`). */
  saveVectors(gen: string, doc: PgKey, rev: Revision, vectors: Vectors, opts: SaveOptions = {}) {
    return saveOne(this.#ctx, gen, { ...opts, doc, revision: rev, vectors });
  }

  /**
   * Saves many documents in one transaction; a stale or missing item writes
   * nothing and the others go on (see `pg-save.ts`).
   */
  saveMany(gen: string, items: readonly core.SaveItem<PgKey>[]): Promise<(Error | null)[]> {
    return saveMany(this.#ctx, gen, items);
  }

  liveGenerations(): Promise<string[]> {
    return lifecycle.liveGenerations(this.#ctx);
  }

  /**
   * Chunk hits, best first, only from existing rows with a current stamp. The
   * HNSW KNN runs first (materialized) with iterative scans enabled; when
   * stale, deleted or filtered rows take up slots the window widens, and an
   * exact scan finishes when the window would cover the whole generation.
   */
  queryGeneration(gen: string, query: Float32Array, limit: number, opts: Options = {}): Hits {
    return queryGeneration(this.#ctx, gen, query, limit, opts);
  }

  /**
   * The full-text side alone, for a query the generation's encoder cannot
   * embed (a word its vocabulary lacks, an identifier) or cannot reach:
   * documents ranked by Postgres full-text search, only from existing rows
   * with a current stamp of `gen`, scored as hybrid search scores a
   * full-text-only match.
   */
  queryFullText(gen: string, text: string, limit: number, opts: TextOptions = {}): Hits {
    return queryFullText(this.#ctx, gen, text, limit, opts);
  }

  // ------------------------------------------------------ change trigger

  /**
   * Resolves `true` once the documents may have changed. With the change
   * trigger installed (`installTrigger`), it LISTENs on the trigger's
   * channel and polls the trigger's sequence every `pollMs`; without it,
   * it waits `pollMs` and says yes, so `follow` scans (the polling fallback).
   */
  waitForChange(opts: core.WaitForChangeOptions): Promise<boolean> {
    this.#changes ??= new ChangeWatcher(this.client, this.schema);
    return this.#changes.wait(opts);
  }

  /**
   * Creates the change trigger on the documents table (idempotent): every
   * statement that changes the table advances `<prefix>_changes` and
   * notifies the channel of that name, so followers wake at once and an idle
   * one costs one tiny query per poll. Needs the right to create triggers
   * on the table.
   */
  async installTrigger(): Promise<{ channel: string }> {
    await this.#ctx.tx(async (tx) => {
      for (const sql of installTriggerSql(this.schema)) await tx.query(sql, []);
    });
    return { channel: changeObjects(this.schema).channel };
  }

  /** Removes the change trigger, its function and its sequence. */
  async uninstallTrigger(): Promise<void> {
    await this.#ctx.tx(async (tx) => {
      for (const sql of uninstallTriggerSql(this.schema)) await tx.query(sql, []);
    });
  }

  // ---------------------------------------------------------------- index

  /** Whether `gen`'s HNSW index exists, is valid, and its size. */
  indexStatus(gen: string): Promise<pg.PgIndexStatus> {
    return indexStatus(this.#ctx, gen);
  }

  /**
   * Builds `gen`'s HNSW index in one pass if it is missing, or drops and
   * rebuilds it if a killed build left it invalid. On a Pool it runs
   * `CREATE INDEX CONCURRENTLY` on a connection of its own, so searches and
   * fills go on, with `maintenance_work_mem` and
   * `max_parallel_maintenance_workers` raised for the build and reset after;
   * progress comes from `pg_stat_progress_create_index`. Several workers
   * finishing the same generation build it once: the others wait for the
   * first and find it built. Returns whether this call built it.
   *
   * @example
   * ```ts
   * await store.buildIndex('nomic-v1', { onProgress: (p) => console.log(p.phase, p.done, p.total) });
   * ```
   */
  buildIndex(gen: string, opts: pg.PgBuildIndexOptions = {}): Promise<{ built: boolean }> {
    const onProgress = opts.onProgress ?? this.onIndexProgress;
    return buildIndex(this.#ctx, gen, onProgress ? { ...opts, onProgress } : opts);
  }

  // ------------------------------------------------------------ lifecycle

  /**
   * Creates `gen` (building unless said) or finds it; refuses a known key
   * with another fingerprint or dimension. PostgreSQL has no generation
   * options: any option is refused with a `TypeError`, never ignored.
   */
  ensureGeneration(
    gen: string,
    generation: core.Generation,
    state: 'building' | 'active' = 'building',
    options: core.GenerationOptions = {},
  ): Promise<core.GenerationInfo<string>> {
    return lifecycle.ensureGeneration(this.#ctx, gen, generation, state, options);
  }

  generations(): Promise<core.GenerationInfo<string>[]> {
    return lifecycle.generations(this.#ctx);
  }

  coverage(gen: string): Promise<core.Coverage> {
    return coverage.coverage(this.#ctx, gen);
  }

  /** Why `gen`'s current skip stamps were saved, most frequent reason first (blank documents are not listed). */
  skipReasons(gen: string): Promise<core.SkipReason[]> {
    return coverage.skipReasons(this.#ctx, gen);
  }

  /**
   * Forgets `gen`'s skip stamps (documents stamped with no vectors), so the
   * next fill tries them again: skips saved after encoder errors, and those
   * of stores written before skip reasons were kept. Blank documents are
   * among them; the fill re-stamps those without calling the encoder.
   * Returns how many became pending.
   */
  resetSkipped(gen: string): Promise<number> {
    return coverage.resetSkipped(this.#ctx, gen);
  }

  /**
   * Makes `gen` the active generation. Its HNSW index is built first when it
   * is missing or invalid (a deferred or interrupted build), so an active
   * generation always has its index; a build that fails refuses activation.
   */
  activate(gen: string, options: core.ActivateOptions = {}): Promise<void> {
    return lifecycle.activate(this.#ctx, gen, options, () => this.buildIndex(gen));
  }

  /**
   * Takes `gen` out of search. Its vectors stay until `reclaim`. Retiring the
   * active generation is refused with `LifecycleError` unless
   * `{ force: true }` (activate another one instead; that retires it safely).
   */
  retire(gen: string, opts: { force?: boolean } = {}): Promise<void> {
    return lifecycle.retire(this.#ctx, gen, opts);
  }

  /**
   * Brings a retired generation back as `building`, keeping its vectors:
   * `fill` re-embeds only the documents changed since, then `activate` it to
   * roll a migration back. Refuses a reclaimed or live generation.
   */
  reopen(gen: string): Promise<void> {
    return lifecycle.reopen(this.#ctx, gen);
  }

  reclaim(gen: string): Promise<void> {
    return lifecycle.reclaim(this.#ctx, gen);
  }

  deleteVectors(doc: PgKey): Promise<void> {
    return coverage.deleteVectors(this.#ctx, doc);
  }

  /** Chunk count, vector bytes and HNSW index of a generation. */
  stats(gen: string): Promise<pg.PgGenerationStats> {
    return coverage.stats(this.#ctx, gen);
  }

  /** Drops vectors of documents whose rows were deleted outside vecfill. Returns how many documents. */
  prune(): Promise<number> {
    return coverage.prune(this.#ctx);
  }
}
