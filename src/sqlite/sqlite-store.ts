import type Database from 'better-sqlite3';
import type * as core from '../core/index.js';
import { liveGenerationsSql } from '../sql/index.js';
import { dataVersion, waitForCommit } from './data-version.js';
import { recenter } from './index/recenter.js';
import { loadVec } from './open-database.js';
import type { SqliteGenerationOptions } from './quantize.js';
import { SqliteContext, type SqliteFilter, type SqliteKey } from './sqlite-context.js';
import { ensureGeneration, type SqliteGenerationInfo, toInfo } from './sqlite-generations.js';
import type { SqliteGenerationStats } from './sqlite-lifecycle.js';
import * as lifecycle from './sqlite-lifecycle.js';
import * as save from './sqlite-save.js';
import { pending, releaseLeases } from './sqlite-scan.js';
import type { SqliteSchema, ValidSqliteSchema } from './sqlite-schema.js';
import { validateSchema } from './sqlite-schema.js';
import { queryGeneration } from './sqlite-search.js';
import { createTables } from './sqlite-tables.js';
import { queryFullText } from './sqlite-text.js';

export type { SqliteFilter, SqliteKey, SqliteValue } from './sqlite-context.js';
export type { SqliteGenerationStats } from './sqlite-lifecycle.js';

/** The contract's types as this store fills them in. */
type Query = core.QueryOptions<SqliteFilter>;
type Hits = core.Hit<SqliteKey>[];
type TextQuery = Omit<Query, 'text' | 'hybrid'>;
type Vectors = core.ChunkVector[];
type Rev = core.Revision | undefined;

/**
 * The SQLite store: embeddings of a table you own, kept beside it in the same
 * database, searched in memory (SIMD) or with sqlite-vec.
 *
 * The caller owns the documents table; the store owns `<prefix>_generations`,
 * `<prefix>_chunks`, `<prefix>_stamps`, `<prefix>_keys`, `<prefix>_fts` and
 * one cosine vec0 table per generation (`<prefix>_vec_<n>`). Every
 * identifier is validated before it is put into SQL; values are always bound.
 *
 * This class only orchestrates; each concern has its file: tables and
 * upgrades `sqlite-tables.ts`, SQL text `sqlite-sql.ts` (+ the shared
 * `src/sql`), the pending scan and leases `sqlite-scan.ts`, saving
 * `sqlite-save.ts`, search `sqlite-search.ts`, full text `sqlite-text.ts`,
 * generations `sqlite-generations.ts` and `sqlite-lifecycle.ts`, stored
 * vectors and quantization `index/stored-index.ts` and `index/recenter.ts`.
 *
 * @example
 * ```ts
 * import { fill, search } from 'vecfill';
 * import { SqliteStore, openDatabase } from 'vecfill/sqlite';
 *
 * const db = openDatabase('app.db');
 * const store = SqliteStore.open(db, {
 *   docsTable: 'notes', idColumn: 'id', contentColumn: 'body',
 *   revisionColumn: 'updated_at', vectorsPrefix: 'notes_vec',
 * });
 * store.ensureGeneration('minilm', encoder.generation, 'active');
 * await fill(store, 'minilm', encoder.encode);
 * const hits = await search(store, 'quarterly plans', { encoderFor: () => encoder.encode });
 * ```
 */
export class SqliteStore
  implements core.LifecycleStore<SqliteKey, string, SqliteFilter, SqliteGenerationOptions>
{
  readonly db: Database.Database;
  readonly schema: ValidSqliteSchema;
  readonly #c: SqliteContext;
  /** The `data_version` the last `waitForChange` saw. */
  #seenVersion: number | undefined;

  private constructor(db: Database.Database, schema: ValidSqliteSchema) {
    this.db = db;
    this.schema = schema;
    this.#c = new SqliteContext(db, schema);
  }

  /**
   * Opens a store over `db`: validates the schema, checks that the documents
   * table and its columns exist, loads sqlite-vec if needed, and creates the
   * store's own tables if they are missing.
   */
  static open(db: Database.Database, schema: SqliteSchema): SqliteStore {
    const valid = validateSchema(schema);
    loadVec(db);
    const store = new SqliteStore(db, valid);
    createTables(store.#c);
    return store;
  }

  // ---------------------------------------------------------------- Store

  /**
   * Documents not covered by `gen`, in id order, continuing after the
   * previous page (wrapping once); with `leaseMs`, leased to this store. The
   * empty page that ends the fill completing a binary generation first
   * centers its codes (`recenter`), so library and CLI fills index alike.
   */
  pendingForGeneration(gen: string, limit: number): core.Pending<SqliteKey>[] {
    const g = this.#c.liveGen(gen);
    const rows = pending(this.#c, g, limit);
    if (rows.length === 0) lifecycle.recenterWhenComplete(this.#c, g);
    return rows;
  }

  /**
   * Gives back every lease this store holds (with `leaseMs`), so other
   * workers, or a rerun, take over those documents at once. Call it when a
   * worker stops early; the CLI does after every fill.
   */
  releaseLeases(): number {
    return releaseLeases(this.#c);
  }

  saveVectors(
    gen: string,
    doc: SqliteKey,
    revision: Rev,
    vectors: Vectors,
    o: core.SaveOptions = {},
  ) {
    const item: core.SaveItem<SqliteKey> = { doc, revision, vectors };
    if (o.skipReason !== undefined) item.skipReason = o.skipReason;
    if (o.skippedChunks !== undefined) item.skippedChunks = o.skippedChunks;
    save.saveOne(this.#c, this.#c.liveGen(gen), item);
  }

  /** Saves many documents in one transaction; a stale or missing item writes nothing and the others go on. */
  saveMany(gen: string, items: readonly core.SaveItem<SqliteKey>[]): (Error | null)[] {
    return save.saveMany(this.#c, this.#c.liveGen(gen), items);
  }

  /**
   * Resolves `true` once another connection (another process, another
   * `Database` handle) committed to this database since the previous call,
   * by polling `PRAGMA data_version` every `pollMs` (a few microseconds a
   * poll); `false` after `timeoutMs`. This connection's own writes are not
   * seen: tell `follow` about those through its `subscribe` option.
   */
  async waitForChange(opts: core.WaitForChangeOptions): Promise<boolean> {
    const since = this.#seenVersion ?? dataVersion(this.db);
    this.#seenVersion = since;
    const now = await waitForCommit(this.db, since, opts);
    this.#seenVersion = now;
    return now !== since;
  }

  /**
   * Moves a document's vectors, stamps and full-text row to another key in
   * every generation, as when a file is renamed: the new row is covered at
   * once (its revision must equal the old one's, e.g. the same content
   * hash) and nothing is embedded again. Any vectors `to` had are dropped.
   */
  moveVectors(from: SqliteKey, to: SqliteKey): void {
    save.moveVectors(this.#c, from, to);
  }

  /** Building first, then active: the most preferred generation leads. */
  liveGenerations(): string[] {
    return this.#c
      .stmt('live', () => liveGenerationsSql(this.#c.n))
      .pluck()
      .all() as string[];
  }

  /**
   * Chunk hits for `query`, best first, only from rows that exist and whose
   * stamp is current; when stale, deleted or filtered-out rows take up
   * slots, the window widens until `limit` eligible hits are found or the
   * index is exhausted. Score is cosine similarity (1 − cosine distance).
   * With `hybrid` and `text`, full-text hits are fused by reciprocal rank.
   * The caller's filter runs with `PRAGMA query_only` on: a search never writes.
   */
  queryGeneration(gen: string, query: Float32Array, limit: number, opts: Query = {}): Hits {
    return queryGeneration(this.#c, gen, query, limit, opts);
  }

  /**
   * The full-text side alone, for a query the generation's encoder cannot
   * embed (a word its vocabulary lacks, an identifier, an emoji) or cannot
   * reach: documents ranked by FTS5, only from existing rows with a current
   * stamp of `gen`, scored as hybrid search scores a full-text-only match.
   * Throws (`code: 'NO_FULL_TEXT'`) when the store was opened with `fullText: false`.
   */
  queryFullText(gen: string, text: string, limit: number, opts: TextQuery = {}): Hits {
    return queryFullText(this.#c, gen, text, limit, opts);
  }

  // ------------------------------------------------------------ lifecycle

  /**
   * Registers generation `gen` (idempotent). Refuses a known key whose
   * fingerprint or dimension differs with `GenerationConflictError`: a new
   * model or setting needs a new key. A reclaimed generation is rebuilt.
   *
   * `options.quantization` indexes the generation's vectors as `binary` or
   * `int8` for a faster candidate KNN, rescored exactly over the float
   * vectors (see `GenerationOptions`). It is fixed when the generation is
   * created: asking for another quantization on a known key is refused.
   *
   * @example
   * ```ts
   * store.ensureGeneration('minilm-bin', encoder.generation, 'building', { quantization: 'binary' });
   * ```
   */
  ensureGeneration(
    gen: string,
    generation: core.Generation,
    state: 'building' | 'active' = 'building',
    options: SqliteGenerationOptions = {},
  ): SqliteGenerationInfo {
    return ensureGeneration(this.#c, gen, generation, state, options);
  }

  generations(): SqliteGenerationInfo[] {
    return this.#c.allGens().map(toInfo);
  }

  /** How much of the documents table `gen` covers, by the shared freshness predicate. */
  coverage(gen: string): core.Coverage {
    return lifecycle.coverage(this.#c, this.#c.gen(gen));
  }

  /** Why `gen`'s current skip stamps were saved, most frequent reason first (blank documents are not listed). */
  skipReasons(gen: string): core.SkipReason[] {
    return lifecycle.skipReasons(this.#c, this.#c.gen(gen));
  }

  /**
   * Forgets `gen`'s skip stamps (documents stamped with no vectors), so the
   * next fill tries them again (blank documents are re-stamped without
   * calling the encoder). Returns how many became pending.
   */
  resetSkipped(gen: string): number {
    return lifecycle.resetSkipped(this.#c, this.#c.liveGen(gen));
  }

  /**
   * Makes `gen` the single active generation and retires every other live
   * one, in one transaction. Refuses with `UncoveredError` while any document
   * is not covered, so search never loses documents at the switch, and with
   * `TooManySkippedError` when it embedded nothing or skipped more than
   * `maxSkippedShare` (default 1 %) of the documents after encoder errors,
   * unless `force`. A binary generation is re-centered first (`recenter`, in
   * short transactions of its own), so the switch itself stays short.
   */
  activate(gen: string, options: core.ActivateOptions = {}): void {
    lifecycle.activate(this.#c, gen, options);
  }

  /**
   * Re-centers a binary generation's codes on the mean of its vectors: each
   * bit then says whether a component is above that mean, not above zero.
   * Embeddings that share a dominant direction (most sentence encoders'
   * vectors do) otherwise get nearly identical sign bits, and recall drops.
   * The store runs it itself when a fill first completes a binary
   * generation and at `activate`; call it after large changes. No-op for
   * other generations or when empty. Returns the number of codes
   * rewritten. It never holds the write lock for long, so the
   * application's own writers keep going (see `index/recenter.ts`).
   */
  recenter(gen: string): number {
    return recenter(this.#c, this.#c.liveGen(gen));
  }

  /**
   * Takes `gen` out of search. Its vectors stay until `reclaim`. The active
   * generation is the one complete index search has: retiring it is refused
   * with `LifecycleError` unless `{ force: true }` (activate another one
   * instead; that retires it safely).
   */
  retire(gen: string, opts: { force?: boolean } = {}): void {
    lifecycle.retire(this.#c, gen, opts.force === true);
  }

  /**
   * Brings a retired generation back as `building`, keeping its vectors:
   * `fill` re-embeds only the documents changed since, then `activate` it to
   * roll a migration back. Refuses a reclaimed or live generation.
   *
   * @example
   * ```ts
   * store.reopen('words-v1');
   * await fill(store, 'words-v1', words.encode); // only what changed since
   * store.activate('words-v1');
   * ```
   */
  reopen(gen: string): void {
    lifecycle.reopen(this.#c, gen);
  }

  /** Drops a retired generation's vector tables, chunk rows and stamps. */
  reclaim(gen: string): void {
    lifecycle.reclaim(this.#c, gen);
  }

  /** Removes a document's vectors, stamps and full-text row in every generation. */
  deleteVectors(doc: SqliteKey): void {
    this.db.transaction(() => save.forget(this.#c, doc)).immediate();
  }

  /**
   * Removes vectors of documents whose rows no longer exist (deleted by the
   * caller outside vecfill). They are never returned anyway; this frees the
   * space (every save also prunes a few, incrementally). Returns how many
   * documents were pruned.
   */
  prune(): number {
    return save.prune(this.#c);
  }

  /** Chunk count, vector bytes, quantized index bytes and in-memory scan of a generation. */
  stats(gen: string): SqliteGenerationStats {
    return lifecycle.stats(this.#c, gen);
  }
}
