import {
  type ActivateOptions,
  type ChunkVector,
  type Coverage,
  checkSkippedShare,
  DimensionMismatchError,
  fingerprint,
  fuseHybrid,
  type Generation,
  GenerationConflictError,
  type GenerationInfo,
  type GenerationState,
  type Hit,
  LifecycleError,
  type LifecycleStore,
  MissingDocumentError,
  type Pending,
  type QueryOptions,
  type Revision,
  type SaveItem,
  type SaveOptions,
  type SkipReason,
  StaleError,
  UncoveredError,
  UnknownGenerationError,
  validateGeneration,
  type WaitForChangeOptions,
} from '../core/index.js';
import { checkReopen, refuseRetireActive, uncoveredNext } from '../core/lifecycle.js';
import { inTransaction, type PgClient, type PgPoolLike, type PgQueryable } from './pg-client.js';
import {
  ChangeWatcher,
  changeObjects,
  installTriggerSql,
  uninstallTriggerSql,
} from './pg-notify.js';
import {
  coveredPg,
  type PgSchema,
  revisionPg,
  type ValidPgSchema,
  validatePgSchema,
} from './pg-schema.js';

/** A document key as the driver returns it (int4 → number, int8/text → string). */
export type PgKey = string | number;

/**
 * A metadata filter: trusted SQL over the documents table aliased `d`, with
 * `$1…$n` placeholders numbered from 1 for its own `params` (vecfill
 * renumbers them into the full statement). Applied before the limit.
 *
 * @example
 * ```ts
 * { where: 'd.lang = $1 AND d.created_at > $2', params: ['en', '2026-01-01'] }
 * ```
 */
export interface PgFilter {
  where: string;
  params?: readonly unknown[];
}

/** What the server's pgvector offers, detected once when the store opens. */
export interface PgvectorInfo {
  /** `extversion` of the `vector` extension, e.g. `'0.8.6'`. */
  version: string;
  /** pgvector 0.8+: `hnsw.iterative_scan` keeps an index scan going past `ef_search`. */
  iterativeScan: boolean;
}

/**
 * Types whose text output no session setting changes: their `::text` form is
 * the stamp. Every other type is stamped through its binary send function
 * (`timestamptz_send`, `float8send`, …) as hex, because TimeZone, DateStyle,
 * IntervalStyle, extra_float_digits, bytea_output or lc_monetary change their
 * text form from one session to the next.
 */
const STABLE_TEXT_TYPES = new Set([
  'int2',
  'int4',
  'int8',
  'numeric',
  'text',
  'varchar',
  'bpchar',
  'uuid',
  'bool',
  'oid',
  'name',
  'json',
  'jsonb',
  'citext',
]);

/** Below this many matching documents a filtered search scans their vectors exactly. */
const FILTER_EXACT_ROWS = 2000;

/** Marks a stamps table whose revisions are in the session-independent form. */
const REVISION_FORM = 'vecfill: revisions v2 (session-independent)';

/** A generation's HNSW index, as `indexStatus` and `vecfill status` report it. */
export interface PgIndexStatus {
  /** The index exists (it may still be building, or be left invalid by an interrupted build). */
  present: boolean;
  /** The index exists and the planner may use it. */
  valid: boolean;
  /** Size on disk. */
  bytes: number;
}

/** Progress of an HNSW index build, read from `pg_stat_progress_create_index`. */
export interface PgIndexProgress {
  generation: string;
  /** The server's phase, e.g. `'building index: loading tuples'`, then `'done'`. */
  phase: string;
  /** Tuples (or blocks) done and their total, when the server reports them. */
  done: number;
  total: number;
}

/** Options of `buildIndex`. */
export interface PgBuildIndexOptions {
  /** Called about twice a second while the server builds (needs a Pool: progress is read on a second connection). */
  onProgress?: (progress: PgIndexProgress) => void;
  /** `maintenance_work_mem` for the build, e.g. `'1GB'`. Default: enough for the whole graph (64 MB – 2 GB). */
  maintenanceWorkMem?: string;
  /** `max_parallel_maintenance_workers` for the build. Default 2. */
  parallelWorkers?: number;
}

interface GenRow {
  id: number;
  key: string;
  generation: string;
  fingerprint: string;
  dimensions: number;
  state: GenerationState;
  reclaimed: boolean;
  created_at: string | Date;
}

/**
 * The PostgreSQL + pgvector store: the same contract and guarantees as the
 * SQLite store, over any client with `query(text, params)` — a node-postgres
 * `Pool` (recommended: transactions take their own connection), a `Client`,
 * or PGlite. One table per generation with an HNSW index (cosine).
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * const store = await PgStore.open(pool, { docsTable: 'app.notes', idColumn: 'id', contentColumn: 'body',
 *   revisionColumn: 'updated_at', vectorsPrefix: 'app.notes_vec' });
 * ```
 */
export class PgStore implements LifecycleStore<PgKey, string, PgFilter> {
  readonly client: PgClient;
  #schema: ValidPgSchema;
  readonly #lock = { tail: Promise.resolve() as Promise<unknown> };
  readonly #cursor = new Map<number, PgKey>();
  readonly #owner = `${process.pid}-${Math.random().toString(36).slice(2)}`;
  #changes: ChangeWatcher | undefined;
  #idType = 'text';
  #pgvector: PgvectorInfo = { version: 'unknown', iterativeScan: false };

  private constructor(client: PgClient, schema: ValidPgSchema) {
    this.client = client;
    this.#schema = schema;
  }

  /** The validated schema (with the revision's session-independent form once open). */
  get schema(): ValidPgSchema {
    return this.#schema;
  }

  /** Validates the schema, checks the documents table, and creates the store's tables if missing. */
  static async open(client: PgClient, schema: PgSchema): Promise<PgStore> {
    const valid = validatePgSchema(schema);
    const store = new PgStore(client, valid);
    await store.#createTables();
    return store;
  }

  /** The pgvector version the server offers and whether it has iterative index scans (0.8+). */
  get pgvector(): PgvectorInfo {
    return this.#pgvector;
  }

  #q(
    sql: string,
    params: unknown[] = [],
    via: PgQueryable = this.client,
  ): Promise<Record<string, unknown>[]> {
    return via.query(sql, params).then((r) => r.rows);
  }

  #tx<T>(fn: (tx: PgQueryable) => Promise<T>, opts?: { readOnly?: boolean }): Promise<T> {
    return inTransaction(this.client, this.#lock, fn, opts);
  }

  get #t() {
    const s = this.schema;
    return {
      gens: s.table('generations'),
      chunks: s.table('chunks'),
      stamps: s.table('stamps'),
      leases: s.table('leases'),
      vec: (id: number) => s.table(`vec_${id}`),
      /** A generation's HNSW index, schema-qualified. */
      hnsw: (id: number) => s.table(`vec_${id}_hnsw`),
    };
  }

  async #createTables(): Promise<void> {
    const s = this.schema;
    const t = this.#t;
    const rel = s.docs.replaceAll('"', '');
    const cols = await this.#q(
      `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a
       WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped`,
      [s.docs],
    );
    if (cols.length === 0) {
      throw new LifecycleError(
        `documents table ${rel} does not exist; create it first or fix schema.docsTable`,
      );
    }
    const byName = new Map(cols.map((c) => [String(c.name), String(c.type)]));
    for (const col of [s.id, s.content, s.revision, s.embedGen]) {
      if (col && !byName.has(col.replaceAll('"', ''))) {
        throw new LifecycleError(
          `table ${rel} has no column ${col}; columns are: ${[...byName.keys()].join(', ')}`,
        );
      }
    }
    this.#idType = byName.get(s.id.replaceAll('"', ''))!;
    if (s.revision) await this.#revisionForm(s.revision);
    await this.#q(`CREATE EXTENSION IF NOT EXISTS vector`).catch(() => {});
    const [ext] = await this.#q(`SELECT extversion FROM pg_extension WHERE extname = 'vector'`);
    if (!ext)
      throw new LifecycleError(
        'the pgvector extension is not installed in this database and vecfill could not create it; run CREATE EXTENSION vector as a privileged user',
      );
    const [major = 0, minor = 0] = String(ext.extversion).split('.').map(Number);
    this.#pgvector = Object.freeze({
      version: String(ext.extversion),
      iterativeScan: major > 0 || minor >= 8,
    });
    // Two processes opening the same store at once: one creates, the other waits and finds it.
    await this.#tx(async (tx) => {
      await this.#lockStore(tx);
      const stampsExisted =
        (await this.#q('SELECT to_regclass($1) AS r', [t.stamps], tx))[0]?.r != null;
      await this.#createStoreTables(tx);
      await this.#upgradeStamps(stampsExisted, tx);
    });
  }

  /** Serializes the store's DDL and generation changes across sessions (a transaction-scoped advisory lock). */
  async #lockStore(tx: PgQueryable): Promise<void> {
    await this.#q(
      `SELECT pg_advisory_xact_lock(hashtext('vecfill'), hashtext($1))`,
      [this.#t.gens],
      tx,
    );
  }

  async #createStoreTables(tx: PgQueryable): Promise<void> {
    const s = this.schema;
    const t = this.#t;
    for (const sql of [
      `CREATE TABLE IF NOT EXISTS ${t.gens} (
        id serial PRIMARY KEY, key text NOT NULL UNIQUE, generation text NOT NULL, fingerprint text NOT NULL,
        dimensions integer NOT NULL CHECK (dimensions > 0),
        state text NOT NULL CHECK (state IN ('building', 'active', 'retired')),
        reclaimed boolean NOT NULL DEFAULT false, created_at timestamptz NOT NULL DEFAULT now())`,
      `CREATE UNIQUE INDEX IF NOT EXISTS ${s.indexName('one_active')} ON ${t.gens} (state) WHERE state = 'active'`,
      `CREATE UNIQUE INDEX IF NOT EXISTS ${s.indexName('one_building')} ON ${t.gens} (state) WHERE state = 'building'`,
      `CREATE TABLE IF NOT EXISTS ${t.chunks} (
        id bigserial PRIMARY KEY, gen integer NOT NULL, doc ${this.#idType} NOT NULL,
        chunk_index integer NOT NULL, start_off integer NOT NULL, end_off integer NOT NULL)`,
      `CREATE INDEX IF NOT EXISTS ${s.indexName('chunks_doc')} ON ${t.chunks} (gen, doc)`,
      `CREATE TABLE IF NOT EXISTS ${t.stamps} (
        gen integer NOT NULL, doc ${this.#idType} NOT NULL, revision text, chunks integer NOT NULL, PRIMARY KEY (gen, doc))`,
      // Why a document was skipped (NULL for embedded and blank documents); older stores lack it.
      `ALTER TABLE ${t.stamps} ADD COLUMN IF NOT EXISTS reason text`,
      // Chunks the encoder rejected in a document saved with its other chunks.
      `ALTER TABLE ${t.stamps} ADD COLUMN IF NOT EXISTS skipped_chunks integer NOT NULL DEFAULT 0`,
      `CREATE INDEX IF NOT EXISTS ${s.indexName('stamps_doc')} ON ${t.stamps} (doc)`,
      `CREATE TABLE IF NOT EXISTS ${t.leases} (
        gen integer NOT NULL, doc ${this.#idType} NOT NULL, owner text NOT NULL, expires double precision NOT NULL,
        PRIMARY KEY (gen, doc))`,
    ]) {
      await this.#q(sql, [], tx);
    }
  }

  /**
   * Chooses how the revision column is stamped: its `::text` form when no
   * session setting changes it (integers, text, numeric, uuid, …), otherwise
   * the hex of its binary send form, so a search from a session with another
   * TimeZone or DateStyle sees exactly the coverage a fill wrote.
   */
  async #revisionForm(column: string): Promise<void> {
    const [type] = await this.#q(
      `SELECT t.typname, t.typsend::regproc::text AS send FROM pg_attribute a
       JOIN pg_type d ON d.oid = a.atttypid
       JOIN pg_type t ON t.oid = CASE WHEN d.typtype = 'd' THEN d.typbasetype ELSE d.oid END
       WHERE a.attrelid = to_regclass($1) AND a.attname = $2`,
      [this.schema.docs, column.replaceAll('"', '')],
    );
    const name = String(type?.typname ?? 'text');
    const send = String(type?.send ?? '-');
    if (STABLE_TEXT_TYPES.has(name) || send === '-') return;
    // The send function's name comes from the catalog, quoted as regproc prints it.
    const revisionText = (alias: string) => `encode(${send}(${alias}.${column}), 'hex')`;
    this.#schema = Object.freeze({ ...this.#schema, revisionText });
  }

  /**
   * Stamps written before revisions were session-independent hold the
   * revision's text in the writing session's settings. Once per stamps table
   * (marked by a comment on its revision column), the stamps that are current
   * as this session reads them are rewritten in the new form; the rest are
   * pending anyway.
   */
  async #upgradeStamps(existed: boolean, tx: PgQueryable): Promise<void> {
    const s = this.schema;
    const t = this.#t;
    if (existed) {
      const [mark] = await this.#q(
        `SELECT col_description(to_regclass($1), a.attnum) AS c FROM pg_attribute a
         WHERE a.attrelid = to_regclass($1) AND a.attname = 'revision'`,
        [t.stamps],
        tx,
      );
      if (mark?.c === REVISION_FORM) return;
      if (s.revision && s.revisionText) {
        await this.#q(
          `UPDATE ${t.stamps} st SET revision = ${revisionPg(s)} FROM ${s.docs} d
           WHERE d.${s.id} = st.doc AND st.revision = d.${s.revision}::text`,
          [],
          tx,
        );
      }
    }
    await this.#q(`COMMENT ON COLUMN ${t.stamps}.revision IS '${REVISION_FORM}'`, [], tx);
  }

  async #gen(key: string, via?: PgQueryable): Promise<GenRow> {
    const [row] = await this.#q(`SELECT * FROM ${this.#t.gens} WHERE key = $1`, [key], via);
    if (!row) throw new UnknownGenerationError(key);
    return row as unknown as GenRow;
  }

  async #liveGen(key: string, via?: PgQueryable): Promise<GenRow> {
    const g = await this.#gen(key, via);
    if (g.reclaimed)
      throw new LifecycleError(
        `generation ${JSON.stringify(key)} was reclaimed: its vectors are gone; ensure it again to rebuild it`,
      );
    return g;
  }

  // ---------------------------------------------------------------- Store

  /**
   * The next pending documents. An empty answer for a generation whose ANN
   * index was deferred (a building generation fills without one) builds the
   * index once the backlog is really zero: the fill that completes a
   * generation ends with its index in place.
   */
  async pendingForGeneration(gen: string, limit: number): Promise<Pending<PgKey>[]> {
    const rows = await this.#pending(gen, limit);
    if (rows.length === 0 && !(await this.indexStatus(gen)).valid) {
      if ((await this.coverage(gen)).backlog === 0) await this.buildIndex(gen);
    }
    return rows;
  }

  async #pending(gen: string, limit: number): Promise<Pending<PgKey>[]> {
    const g = await this.#liveGen(gen);
    if (this.schema.leaseMs === undefined) return this.#scan(this.client, g, limit, false);
    return this.#tx(async (tx) => {
      const now = Date.now();
      const t = this.#t;
      // One leaser at a time per generation, so two workers never lease the same rows.
      await this.#q('SELECT pg_advisory_xact_lock($1)', [g.id], tx);
      await this.#q(`DELETE FROM ${t.leases} WHERE expires < $1`, [now], tx);
      const rows = await this.#scan(tx, g, limit, true, now);
      for (const r of rows) {
        await this.#q(
          `INSERT INTO ${t.leases} (gen, doc, owner, expires) VALUES ($1, $2, $3, $4)
           ON CONFLICT (gen, doc) DO UPDATE SET owner = excluded.owner, expires = excluded.expires`,
          [g.id, r.doc, this.#owner, now + this.schema.leaseMs!],
          tx,
        );
      }
      return rows;
    });
  }

  async #scan(
    via: PgQueryable,
    g: GenRow,
    limit: number,
    leased: boolean,
    now = 0,
  ): Promise<Pending<PgKey>[]> {
    const s = this.schema;
    const t = this.#t;
    const rev = s.revision ? `, ${revisionPg(s)} AS revision` : '';
    const params: unknown[] = [g.id];
    let leaseSql = '';
    if (leased) {
      params.push(this.#owner, now);
      leaseSql = ` AND NOT EXISTS (SELECT 1 FROM ${t.leases} l WHERE l.gen = $1 AND l.doc = d.${s.id} AND l.owner <> $2 AND l.expires >= $3)`;
    }
    const sql = (after: boolean) =>
      `SELECT d.${s.id} AS doc, d.${s.content} AS content${rev}
       FROM ${s.docs} d LEFT JOIN ${t.stamps} s ON s.gen = $1 AND s.doc = d.${s.id}
       WHERE NOT ${coveredPg(s)}${leaseSql}${after ? ` AND d.${s.id} > $${params.length + 1}` : ''}
       ORDER BY d.${s.id} LIMIT $${params.length + (after ? 2 : 1)}`;
    const after = this.#cursor.get(g.id);
    let rows: Pending<PgKey>[] = [];
    if (after !== undefined)
      rows = (await this.#q(
        sql(true),
        [...params, after, limit],
        via,
      )) as unknown as Pending<PgKey>[];
    if (rows.length < limit) {
      const head = (await this.#q(
        sql(false),
        [...params, limit],
        via,
      )) as unknown as Pending<PgKey>[];
      const seen = new Set(rows.map((r) => r.doc));
      for (const r of head) {
        if (rows.length >= limit) break;
        if (!seen.has(r.doc)) rows.push(r);
      }
    }
    const last = rows.at(-1);
    if (last === undefined) this.#cursor.delete(g.id);
    else this.#cursor.set(g.id, last.doc);
    return rows.map((r) => {
      const p: Pending<PgKey> = { doc: r.doc, content: r.content == null ? '' : String(r.content) };
      if (s.revision) p.revision = (r.revision ?? null) as Revision;
      return p;
    });
  }

  async saveVectors(
    gen: string,
    doc: PgKey,
    revision: Revision | undefined,
    vectors: ChunkVector[],
    options: SaveOptions = {},
  ): Promise<void> {
    await this.#tx(async (tx) => {
      const g = await this.#liveGen(gen, tx);
      const item: SaveItem<PgKey> = { doc, revision, vectors };
      if (options.skipReason !== undefined) item.skipReason = options.skipReason;
      if (options.skippedChunks !== undefined) item.skippedChunks = options.skippedChunks;
      await this.#save(tx, g, item);
    });
  }

  /**
   * Saves many documents in one transaction; a stale or missing item writes
   * nothing and the others go on. The rows are locked and their revisions
   * checked in one statement, then chunks, vectors and stamps are written
   * with one multi-row statement each (the conditional-stamp rule holds:
   * every row stays locked from its check to its stamp).
   */
  async saveMany(gen: string, items: readonly SaveItem<PgKey>[]): Promise<(Error | null)[]> {
    return this.#tx(async (tx) => {
      const g = await this.#liveGen(gen, tx);
      if (items.length > 1 && new Set(items.map((i) => String(i.doc))).size === items.length)
        return this.#saveBulk(tx, g, items);
      const out: (Error | null)[] = [];
      for (const item of items) {
        try {
          await this.#save(tx, g, item);
          out.push(null);
        } catch (e) {
          if (e instanceof StaleError || e instanceof MissingDocumentError) out.push(e);
          else throw e;
        }
      }
      return out;
    });
  }

  /** `saveMany` for distinct documents: a fixed number of statements per batch. */
  async #saveBulk(
    tx: PgQueryable,
    g: GenRow,
    items: readonly SaveItem<PgKey>[],
  ): Promise<(Error | null)[]> {
    const s = this.schema;
    const t = this.#t;
    const arr = `${this.#idType}[]`;
    if (s.revision && items.some((i) => i.revision === undefined)) {
      const bad = items.find((i) => i.revision === undefined)!;
      throw new TypeError(
        `store tracks revisions; pass the revision read by pendingForGeneration when saving document ${String(bad.doc)}`,
      );
    }
    // Lock every row in key order (two workers never deadlock), and read what the checks need.
    const locked = await this.#q(
      `SELECT d.${s.id} AS id${s.revision ? `, ${revisionPg(s)} AS rev` : ''}${
        s.embedGen ? `, d.${s.embedGen} IS NULL AS invalidated` : ''
      } FROM ${s.docs} d WHERE d.${s.id} = ANY($1::${arr}) ORDER BY d.${s.id} FOR UPDATE`,
      [items.map((i) => i.doc)],
      tx,
    );
    const rows = new Map(locked.map((r) => [String(r.id), r]));
    const out: (Error | null)[] = [];
    const ok: { item: SaveItem<PgKey>; key: unknown }[] = [];
    const refused: unknown[] = [];
    for (const item of items) {
      const row = rows.get(String(item.doc));
      const want =
        item.revision === null || item.revision === undefined ? null : String(item.revision);
      if (!row) {
        out.push(new MissingDocumentError(item.doc, g.key));
        refused.push(item.doc);
      } else if (s.revision && (row.rev ?? null) !== want) {
        out.push(
          new StaleError(
            item.doc,
            g.key,
            `the row's revision is no longer ${String(item.revision)}`,
          ),
        );
        refused.push(item.doc);
      } else {
        for (const cv of item.vectors) {
          if (cv.vector.length !== g.dimensions)
            throw new DimensionMismatchError(
              g.dimensions,
              cv.vector.length,
              `document ${String(item.doc)} chunk ${cv.index}`,
            );
        }
        out.push(null);
        ok.push({ item, key: row.id });
      }
    }
    if (refused.length > 0 && s.leaseMs !== undefined)
      await this.#q(
        `DELETE FROM ${t.leases} WHERE gen = $1 AND doc = ANY($2::${arr}) AND owner = $3`,
        [g.id, refused, this.#owner],
        tx,
      );
    if (ok.length === 0) return out;
    const keys = ok.map((o) => o.key);
    for (const o of ok) {
      if (s.embedGen && rows.get(String(o.item.doc))!.invalidated) {
        // The caller invalidated the document: every other generation's vectors are void too.
        for (const other of (await this.#q(
          `SELECT * FROM ${t.gens} WHERE id <> $1`,
          [g.id],
          tx,
        )) as unknown as GenRow[])
          await this.#dropChunks(tx, other, o.key);
        await this.#q(`DELETE FROM ${t.stamps} WHERE doc = $1 AND gen <> $2`, [o.key, g.id], tx);
      }
    }
    await this.#q(
      `DELETE FROM ${t.vec(g.id)} WHERE id IN (SELECT id FROM ${t.chunks} WHERE gen = $1 AND doc = ANY($2::${arr}))`,
      [g.id, keys],
      tx,
    );
    await this.#q(
      `DELETE FROM ${t.chunks} WHERE gen = $1 AND doc = ANY($2::${arr})`,
      [g.id, keys],
      tx,
    );
    const chunkDocs: unknown[] = [];
    const index: number[] = [];
    const start: number[] = [];
    const end: number[] = [];
    const vectors: string[] = [];
    for (const o of ok) {
      for (const cv of o.item.vectors) {
        chunkDocs.push(o.key);
        index.push(cv.index);
        start.push(cv.start);
        end.push(cv.end);
        vectors.push(vectorLiteral(cv.vector));
      }
    }
    if (vectors.length > 0) {
      // Chunk ids are taken from the sequence first, so each vector row gets its chunk's id.
      const ids = (
        await this.#q(
          `SELECT nextval(pg_get_serial_sequence($1, 'id'))::text AS id FROM generate_series(1, $2)`,
          [t.chunks, vectors.length],
          tx,
        )
      ).map((r) => String(r.id));
      await this.#q(
        `INSERT INTO ${t.chunks} (id, gen, doc, chunk_index, start_off, end_off)
         SELECT u.id, $1, u.doc, u.ci, u.so, u.eo
         FROM unnest($2::bigint[], $3::${arr}, $4::int[], $5::int[], $6::int[]) AS u(id, doc, ci, so, eo)`,
        [g.id, ids, chunkDocs, index, start, end],
        tx,
      );
      await this.#q(
        `INSERT INTO ${t.vec(g.id)} (id, embedding) SELECT u.id, u.e::vector FROM unnest($1::bigint[], $2::text[]) AS u(id, e)`,
        [ids, vectors],
        tx,
      );
    }
    if (s.embedGen)
      await this.#q(
        `UPDATE ${s.docs} SET ${s.embedGen} = $1 WHERE ${s.id} = ANY($2::${arr})`,
        [g.key, keys],
        tx,
      );
    await this.#q(
      `INSERT INTO ${t.stamps} (gen, doc, revision, chunks, reason, skipped_chunks)
       SELECT $1, d.${s.id}, ${s.revision ? revisionPg(s) : 'NULL'}, u.n, u.reason, u.skipped
       FROM unnest($2::${arr}, $3::int[], $4::text[], $5::int[]) AS u(doc, n, reason, skipped)
       JOIN ${s.docs} d ON d.${s.id} = u.doc
       ON CONFLICT (gen, doc) DO UPDATE SET revision = excluded.revision, chunks = excluded.chunks, reason = excluded.reason, skipped_chunks = excluded.skipped_chunks`,
      [
        g.id,
        keys,
        ok.map((o) => o.item.vectors.length),
        ok.map((o) => (o.item.vectors.length === 0 ? (o.item.skipReason ?? null) : null)),
        ok.map((o) => (o.item.vectors.length > 0 ? (o.item.skippedChunks ?? 0) : 0)),
      ],
      tx,
    );
    if (s.leaseMs !== undefined)
      await this.#q(
        `DELETE FROM ${t.leases} WHERE gen = $1 AND doc = ANY($2::${arr})`,
        [g.id, keys],
        tx,
      );
    return out;
  }

  /** Checks everything before writing, so a refused item has written nothing. Runs inside a transaction. */
  async #save(tx: PgQueryable, g: GenRow, item: SaveItem<PgKey>): Promise<void> {
    const s = this.schema;
    const t = this.#t;
    const { doc, revision, vectors } = item;
    if (s.revision && revision === undefined) {
      throw new TypeError(
        `store tracks revisions; pass the revision read by pendingForGeneration when saving document ${String(doc)}`,
      );
    }
    // Lock the row: a concurrent writer waits, so no update is lost between the check and the stamp.
    const [row] = await this.#q(
      `SELECT d.${s.id} AS id${s.revision ? `, ${revisionPg(s)} IS NOT DISTINCT FROM $2::text AS same` : ''}${
        s.embedGen ? `, d.${s.embedGen} IS NULL AS invalidated` : ''
      } FROM ${s.docs} d WHERE d.${s.id} = $1 FOR UPDATE`,
      s.revision ? [doc, revision === null ? null : String(revision)] : [doc],
      tx,
    );
    if (!row || (s.revision && !row.same)) {
      // Hand the document back at once: another worker may embed its new content.
      if (s.leaseMs !== undefined)
        await this.#q(
          `DELETE FROM ${t.leases} WHERE gen = $1 AND doc = $2 AND owner = $3`,
          [g.id, doc, this.#owner],
          tx,
        );
      if (!row) throw new MissingDocumentError(doc, g.key);
      throw new StaleError(doc, g.key, `the row's revision is no longer ${String(revision)}`);
    }
    for (const cv of vectors) {
      if (cv.vector.length !== g.dimensions) {
        throw new DimensionMismatchError(
          g.dimensions,
          cv.vector.length,
          `document ${String(doc)} chunk ${cv.index}`,
        );
      }
    }
    const key = row.id;
    if (s.embedGen && row.invalidated) {
      // The caller invalidated the document: every other generation's vectors are void too.
      for (const other of (await this.#q(
        `SELECT * FROM ${t.gens} WHERE id <> $1`,
        [g.id],
        tx,
      )) as unknown as GenRow[]) {
        await this.#dropChunks(tx, other, key);
      }
      await this.#q(`DELETE FROM ${t.stamps} WHERE doc = $1 AND gen <> $2`, [key, g.id], tx);
    }
    await this.#dropChunks(tx, g, key);
    for (const cv of vectors) {
      const [c] = await this.#q(
        `INSERT INTO ${t.chunks} (gen, doc, chunk_index, start_off, end_off) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
        [g.id, key, cv.index, cv.start, cv.end],
        tx,
      );
      await this.#q(
        `INSERT INTO ${t.vec(g.id)} (id, embedding) VALUES ($1, $2::vector)`,
        [c!.id, vectorLiteral(cv.vector)],
        tx,
      );
    }
    if (s.embedGen)
      await this.#q(`UPDATE ${s.docs} SET ${s.embedGen} = $1 WHERE ${s.id} = $2`, [g.key, key], tx);
    await this.#q(
      `INSERT INTO ${t.stamps} (gen, doc, revision, chunks, reason, skipped_chunks)
       SELECT $1, d.${s.id}, ${s.revision ? revisionPg(s) : 'NULL'}, $2, $4, $5 FROM ${s.docs} d WHERE d.${s.id} = $3
       ON CONFLICT (gen, doc) DO UPDATE SET revision = excluded.revision, chunks = excluded.chunks, reason = excluded.reason, skipped_chunks = excluded.skipped_chunks`,
      [
        g.id,
        vectors.length,
        key,
        vectors.length === 0 ? (item.skipReason ?? null) : null,
        vectors.length > 0 ? (item.skippedChunks ?? 0) : 0,
      ],
      tx,
    );
    if (s.leaseMs !== undefined)
      await this.#q(`DELETE FROM ${t.leases} WHERE gen = $1 AND doc = $2`, [g.id, key], tx);
  }

  async #dropChunks(tx: PgQueryable, g: GenRow, key: unknown): Promise<void> {
    const t = this.#t;
    if (!g.reclaimed) {
      await this.#q(
        `DELETE FROM ${t.vec(g.id)} WHERE id IN (SELECT id FROM ${t.chunks} WHERE gen = $1 AND doc = $2)`,
        [g.id, key],
        tx,
      );
    }
    await this.#q(`DELETE FROM ${t.chunks} WHERE gen = $1 AND doc = $2`, [g.id, key], tx);
  }

  /**
   * Resolves `true` once the documents may have changed. With the change
   * trigger installed (`installTrigger`), it LISTENs on the trigger's
   * channel and polls the trigger's sequence every `pollMs`; without it,
   * it waits `pollMs` and says yes, so `follow` scans (the polling fallback).
   */
  waitForChange(opts: WaitForChangeOptions): Promise<boolean> {
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
    await this.#tx(async (tx) => {
      for (const sql of installTriggerSql(this.schema)) await this.#q(sql, [], tx);
    });
    return { channel: changeObjects(this.schema).channel };
  }

  /** Removes the change trigger, its function and its sequence. */
  async uninstallTrigger(): Promise<void> {
    await this.#tx(async (tx) => {
      for (const sql of uninstallTriggerSql(this.schema)) await this.#q(sql, [], tx);
    });
  }

  async liveGenerations(): Promise<string[]> {
    const rows = await this.#q(
      `SELECT key FROM ${this.#t.gens} WHERE state IN ('building', 'active') ORDER BY CASE state WHEN 'building' THEN 0 ELSE 1 END`,
    );
    return rows.map((r) => String(r.key));
  }

  /**
   * Chunk hits, best first, only from existing rows with a current stamp. The
   * HNSW KNN runs first (materialized) with iterative scans enabled; when
   * stale, deleted or filtered rows take up slots the window widens, and an
   * exact scan finishes when the window would cover the whole generation.
   */
  async queryGeneration(
    gen: string,
    query: Float32Array,
    limit: number,
    opts: QueryOptions<PgFilter> = {},
  ): Promise<Hit<PgKey>[]> {
    const g = await this.#liveGen(gen);
    if (query.length !== g.dimensions) {
      throw new DimensionMismatchError(
        g.dimensions,
        query.length,
        `query for generation ${JSON.stringify(gen)}`,
      );
    }
    if (!Number.isSafeInteger(limit) || limit < 1)
      throw new RangeError(`limit must be a positive integer, got ${limit}`);
    opts.signal?.throwIfAborted();
    const s = this.schema;
    const t = this.#t;
    const q = vectorLiteral(query);
    const filter = (offset: number) =>
      opts.filter
        ? ` AND (${opts.filter.where.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`)})`
        : '';
    const fparams = [...(opts.filter?.params ?? [])];
    const iterative = this.#pgvector.iterativeScan;
    // One READ ONLY transaction, rolled back: a caller's filter can neither
    // write (setval, lo_unlink) nor leave a changed setting on the connection.
    return this.#tx(
      async (tx) => {
        // The generation's size is counted only when the first window falls short.
        let total = Number.POSITIVE_INFINITY;
        // A selective filter (fewer than FILTER_EXACT_ROWS matching documents) is answered
        // by an exact scan of just those documents' vectors: an index scan would have to
        // pass ~1/selectivity candidates before ten rows match.
        let restricted = false;
        if (opts.filter) {
          const [m] = await this.#q(
            `SELECT count(*)::int AS n FROM (SELECT 1 FROM ${s.docs} d WHERE TRUE${filter(0)} LIMIT ${FILTER_EXACT_ROWS}) x`,
            fparams,
            tx,
          );
          restricted = Number(m?.n ?? 0) < FILTER_EXACT_ROWS;
        }
        let rows: Record<string, unknown>[] = [];
        let k = Math.max(limit * 2, 20);
        for (;;) {
          // Without iterative scans (pgvector < 0.8) an HNSW scan yields at most
          // ef_search (<= 1000) rows, so a wider window is an exact scan.
          const exact = restricted || k >= total || (!iterative && k > 1000);
          if (!exact) {
            // One round trip for both settings (transaction-local, like SET LOCAL).
            await this.#q(
              `SELECT set_config('hnsw.ef_search', $1, true)${iterative ? `, set_config('hnsw.iterative_scan', 'relaxed_order', true)` : ''}`,
              [String(Math.min(1000, Math.max(40, k)))],
              tx,
            );
          }
          // The exact form adds 0 to the distance so the planner cannot use the (approximate) index.
          const knn = restricted
            ? `SELECT v.id, (v.embedding <=> $1::vector) + 0 AS distance FROM ${s.docs} d
               JOIN ${t.chunks} c ON c.doc = d.${s.id} AND c.gen = $3 JOIN ${t.vec(g.id)} v ON v.id = c.id
               WHERE TRUE${filter(4)} ORDER BY 2 LIMIT $2`
            : exact
              ? `SELECT v.id, (v.embedding <=> $1::vector) + 0 AS distance FROM ${t.vec(g.id)} v ORDER BY 2 LIMIT $2`
              : `SELECT v.id, v.embedding <=> $1::vector AS distance FROM ${t.vec(g.id)} v ORDER BY v.embedding <=> $1::vector LIMIT $2`;
          rows = await this.#q(
            `WITH knn AS MATERIALIZED (${knn})
             SELECT c.doc AS doc, c.chunk_index AS chunk_index, c.start_off AS start_off, c.end_off AS end_off, knn.distance AS distance
             FROM knn JOIN ${t.chunks} c ON c.id = knn.id
             JOIN ${s.docs} d ON d.${s.id} = c.doc
             LEFT JOIN ${t.stamps} s ON s.gen = $3 AND s.doc = d.${s.id}
             WHERE ${coveredPg(s)}${filter(4)}
             ORDER BY knn.distance LIMIT $4`,
            [
              q,
              restricted ? 2_147_483_647 : exact ? Math.max(total, 1) : k,
              g.id,
              limit,
              ...fparams,
            ],
            tx,
          );
          if (rows.length >= limit || exact) break;
          if (total === Number.POSITIVE_INFINITY) {
            const [count] = await this.#q(
              `SELECT count(*)::int AS total FROM ${t.chunks} WHERE gen = $1`,
              [g.id],
              tx,
            );
            total = Number(count?.total ?? 0);
          }
          k *= 4;
        }
        const hits: Hit<PgKey>[] = rows.map((r) => ({
          doc: r.doc as PgKey,
          chunkIndex: Number(r.chunk_index),
          score: 1 - Number(r.distance),
          start: Number(r.start_off),
          end: Number(r.end_off),
        }));
        if (!opts.hybrid || opts.text === undefined) return hits;
        return fuseHybrid(
          hits,
          await this.#textDocs(tx, g, opts.text, limit * 2, opts.filter),
          limit,
        );
      },
      { readOnly: true },
    );
  }

  /**
   * The full-text side alone, for a query the generation's encoder cannot
   * embed (a word its vocabulary lacks, an identifier) or cannot reach:
   * documents ranked by Postgres full-text search, only from existing rows
   * with a current stamp of `gen`, scored as hybrid search scores a
   * full-text-only match.
   */
  async queryFullText(
    gen: string,
    text: string,
    limit: number,
    opts: Omit<QueryOptions<PgFilter>, 'text' | 'hybrid'> = {},
  ): Promise<Hit<PgKey>[]> {
    const g = await this.#liveGen(gen);
    if (!Number.isSafeInteger(limit) || limit < 1)
      throw new RangeError(`limit must be a positive integer, got ${limit}`);
    opts.signal?.throwIfAborted();
    return this.#tx(
      async (tx) => fuseHybrid([], await this.#textDocs(tx, g, text, limit, opts.filter), limit),
      { readOnly: true },
    );
  }

  /** Up to `want` documents matching `text`, best first, fresh for `g`. */
  async #textDocs(
    tx: PgQueryable,
    g: GenRow,
    text: string,
    want: number,
    filter: PgFilter | undefined,
  ): Promise<PgKey[]> {
    // PostgreSQL text cannot hold NUL; a query containing one searches as if it were a space.
    const words = text.replaceAll('\0', ' ');
    if (!words.trim()) return [];
    const s = this.schema;
    const t = this.#t;
    const where = filter
      ? ` AND (${filter.where.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + 3}`)})`
      : '';
    const rows = await this.#q(
      `SELECT d.${s.id} AS doc FROM ${s.docs} d
       JOIN ${t.stamps} s ON s.gen = $1 AND s.doc = d.${s.id}
       WHERE to_tsvector('${s.tsConfig}', d.${s.content}) @@ plainto_tsquery('${s.tsConfig}', $2)
         AND ${coveredPg(s)} AND s.chunks > 0${where}
       ORDER BY ts_rank(to_tsvector('${s.tsConfig}', d.${s.content}), plainto_tsquery('${s.tsConfig}', $2)) DESC
       LIMIT $3`,
      [g.id, words, want, ...(filter?.params ?? [])],
      tx,
    );
    return rows.map((r) => r.doc as PgKey);
  }

  // ---------------------------------------------------------------- index

  /** Listener for index builds started by `pendingForGeneration` or `activate` (the CLI draws its bar from it). */
  onIndexProgress: ((progress: PgIndexProgress) => void) | undefined = undefined;

  /** Whether `gen`'s HNSW index exists, is valid, and its size. */
  async indexStatus(gen: string, via?: PgQueryable): Promise<PgIndexStatus> {
    const g = await this.#gen(gen, via);
    const [row] = await this.#q(
      `SELECT i.indisvalid AND i.indisready AS valid, pg_relation_size(i.indexrelid)::float8 AS bytes
       FROM pg_index i WHERE i.indexrelid = to_regclass($1)`,
      [this.#t.hnsw(g.id)],
      via,
    );
    if (!row) return { present: false, valid: false, bytes: 0 };
    return { present: true, valid: Boolean(row.valid), bytes: Number(row.bytes) };
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
  async buildIndex(gen: string, opts: PgBuildIndexOptions = {}): Promise<{ built: boolean }> {
    const g = await this.#liveGen(gen);
    const t = this.#t;
    const onProgress = opts.onProgress ?? this.onIndexProgress;
    const pool =
      'totalCount' in this.client && typeof (this.client as PgPoolLike).connect === 'function'
        ? (this.client as PgPoolLike)
        : undefined;
    const pglite = 'transaction' in this.client;
    if (pglite) {
      // One session: a transaction makes the check and the build one step.
      return this.#tx(async (tx) => {
        const status = await this.indexStatus(gen, tx);
        if (status.valid) return { built: false };
        if (status.present) await this.#q(`DROP INDEX IF EXISTS ${t.hnsw(g.id)}`, [], tx);
        await this.#q(
          `CREATE INDEX ${this.schema.indexName(`vec_${g.id}_hnsw`)} ON ${t.vec(g.id)} USING hnsw (embedding vector_cosine_ops)`,
          [],
          tx,
        );
        onProgress?.({ generation: gen, phase: 'done', done: 0, total: 0 });
        return { built: true };
      });
    }
    const conn: PgQueryable & { release?: () => void } = pool ? await pool.connect() : this.client;
    const lockKey = [`vecfill-index`, t.vec(g.id)];
    try {
      // A session-level lock, taken by polling: a session blocked in a statement would hold a
      // snapshot that CREATE INDEX CONCURRENTLY waits for, while it waits for the lock.
      if (!pglite) {
        for (;;) {
          const [r] = await this.#q(
            'SELECT pg_try_advisory_lock(hashtext($1), hashtext($2)) AS ok',
            lockKey,
            conn,
          );
          if (r?.ok) break;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
      try {
        const status = await this.indexStatus(gen, conn);
        if (status.valid) return { built: false };
        const concurrently = pglite ? '' : ' CONCURRENTLY';
        if (status.present)
          await this.#q(`DROP INDEX${concurrently} IF EXISTS ${t.hnsw(g.id)}`, [], conn);
        const [size] = await this.#q(`SELECT count(*)::float8 AS n FROM ${t.vec(g.id)}`, [], conn);
        const rows = Number(size?.n ?? 0);
        const mb = Math.ceil(
          Math.min(2048, Math.max(64, (rows * (g.dimensions * 4 + 300) * 1.5) / 2 ** 20)),
        );
        const memory = opts.maintenanceWorkMem ?? `${mb}MB`;
        if (!/^\d+\s*(kB|MB|GB)?$/.test(memory))
          throw new RangeError(`maintenanceWorkMem must look like '512MB' or '1GB', got ${memory}`);
        const workers = Math.max(0, Math.floor(opts.parallelWorkers ?? 2));
        await this.#q(`SET maintenance_work_mem = '${memory}'`, [], conn);
        await this.#q(`SET max_parallel_maintenance_workers = ${workers}`, [], conn);
        let polling: ReturnType<typeof setInterval> | undefined;
        if (onProgress && pool) {
          let busy = false;
          polling = setInterval(() => {
            if (busy) return;
            busy = true;
            this.#q(
              `SELECT phase, coalesce(nullif(tuples_total, 0), blocks_total)::float8 AS total,
                 (CASE WHEN tuples_total > 0 THEN tuples_done ELSE blocks_done END)::float8 AS done
               FROM pg_stat_progress_create_index WHERE relid = to_regclass($1)`,
              [t.vec(g.id)],
            )
              .then(([p]) => {
                if (p)
                  onProgress({
                    generation: gen,
                    phase: String(p.phase),
                    done: Number(p.done),
                    total: Number(p.total),
                  });
              })
              .catch(() => {})
              .finally(() => {
                busy = false;
              });
          }, 500);
        }
        try {
          await this.#q(
            `CREATE INDEX${concurrently} IF NOT EXISTS ${this.schema.indexName(`vec_${g.id}_hnsw`)} ON ${t.vec(g.id)} USING hnsw (embedding vector_cosine_ops)`,
            [],
            conn,
          );
        } finally {
          if (polling) clearInterval(polling);
          await this.#q('RESET maintenance_work_mem', [], conn).catch(() => {});
          await this.#q('RESET max_parallel_maintenance_workers', [], conn).catch(() => {});
        }
        onProgress?.({ generation: gen, phase: 'done', done: rows, total: rows });
        return { built: true };
      } finally {
        if (!pglite)
          await this.#q(
            'SELECT pg_advisory_unlock(hashtext($1), hashtext($2))',
            lockKey,
            conn,
          ).catch(() => {});
      }
    } finally {
      conn.release?.();
    }
  }

  // ------------------------------------------------------------ lifecycle

  async ensureGeneration(
    gen: string,
    generation: Generation,
    state: 'building' | 'active' = 'building',
  ): Promise<GenerationInfo<string>> {
    if (typeof gen !== 'string' || gen === '')
      throw new TypeError('generation key must be a non-empty string');
    validateGeneration(generation);
    const fp = fingerprint(generation);
    const t = this.#t;
    const row = await this.#tx(async (tx) => {
      // Two sessions ensuring the same new generation: the second waits, then finds it.
      await this.#lockStore(tx);
      const [existing] = (await this.#q(
        `SELECT * FROM ${t.gens} WHERE key = $1 FOR UPDATE`,
        [gen],
        tx,
      )) as unknown as GenRow[];
      if (existing) {
        if (existing.dimensions !== generation.dimensions) {
          throw new GenerationConflictError(
            gen,
            `${existing.dimensions} dimensions, not ${generation.dimensions}`,
          );
        }
        if (existing.fingerprint !== fp) {
          throw new GenerationConflictError(
            gen,
            `fingerprint ${existing.fingerprint} (${existing.generation}), not ${fp}`,
          );
        }
        if (!existing.reclaimed) return existing;
        await this.#setState(tx, gen, state);
        await this.#q(`UPDATE ${t.gens} SET reclaimed = false WHERE id = $1`, [existing.id], tx);
        await this.#createVec(tx, existing.id, existing.dimensions, state);
        return this.#gen(gen, tx);
      }
      let created: GenRow | undefined;
      try {
        [created] = (await this.#q(
          `INSERT INTO ${t.gens} (key, generation, fingerprint, dimensions, state) VALUES ($1, $2, $3, $4, $5) RETURNING *`,
          [gen, JSON.stringify(generation), fp, generation.dimensions, state],
          tx,
        )) as unknown as GenRow[];
      } catch (e) {
        throw await this.#stateConflict(e, gen, state);
      }
      await this.#createVec(tx, created!.id, generation.dimensions, state);
      return created!;
    });
    return toInfo(row);
  }

  /**
   * Creates a generation's vector table. Only an active generation gets its
   * HNSW index now; a building one fills without it (inserting into an HNSW
   * graph row by row is ~9x slower than building it once after the load) and
   * gets it from `buildIndex` when its backlog reaches zero or at `activate`.
   */
  async #createVec(tx: PgQueryable, id: number, dims: number, state: string): Promise<void> {
    const t = this.#t;
    await this.#q(
      `CREATE TABLE IF NOT EXISTS ${t.vec(id)} (id bigint PRIMARY KEY, embedding vector(${Math.floor(dims)}) NOT NULL)`,
      [],
      tx,
    );
    if (state !== 'active') return;
    await this.#q(
      `CREATE INDEX IF NOT EXISTS ${this.schema.indexName(`vec_${id}_hnsw`)} ON ${t.vec(id)} USING hnsw (embedding vector_cosine_ops)`,
      [],
      tx,
    );
  }

  async #setState(tx: PgQueryable, key: string, state: GenerationState): Promise<void> {
    try {
      await this.#q(`UPDATE ${this.#t.gens} SET state = $1 WHERE key = $2`, [state, key], tx);
    } catch (e) {
      throw await this.#stateConflict(e, key, state);
    }
  }

  async #stateConflict(e: unknown, gen: string, state: string): Promise<unknown> {
    const code = (e as { code?: string }).code;
    if (code === '23505' || (e instanceof Error && /duplicate key|unique/i.test(e.message))) {
      return new LifecycleError(
        `generation ${JSON.stringify(gen)} cannot be ${state}: another generation already is (at most one active and one building); ${state === 'building' ? 'activate or retire it first' : 'create the new one as building, fill it, then activate it'}`,
      );
    }
    return e;
  }

  async generations(): Promise<GenerationInfo<string>[]> {
    return (
      (await this.#q(`SELECT * FROM ${this.#t.gens} ORDER BY id`)) as unknown as GenRow[]
    ).map(toInfo);
  }

  async coverage(gen: string, via?: PgQueryable): Promise<Coverage> {
    const g = await this.#gen(gen, via);
    const s = this.schema;
    const covered = coveredPg(s);
    const [row] = await this.#q(
      `SELECT count(*)::int AS total,
         count(*) FILTER (WHERE ${covered} AND s.chunks > 0)::int AS embedded,
         count(*) FILTER (WHERE ${covered} AND s.chunks = 0)::int AS skipped
       FROM ${s.docs} d LEFT JOIN ${this.#t.stamps} s ON s.gen = $1 AND s.doc = d.${s.id}`,
      [g.id],
      via,
    );
    const total = Number(row!.total);
    if (g.reclaimed) return { embedded: 0, skipped: 0, backlog: total };
    const embedded = Number(row!.embedded);
    const skipped = Number(row!.skipped);
    return { embedded, skipped, backlog: total - embedded - skipped };
  }

  /**
   * Why `gen`'s current skip stamps were saved, most frequent reason first
   * (blank documents are not listed).
   */
  async skipReasons(gen: string, via?: PgQueryable): Promise<SkipReason[]> {
    const g = await this.#gen(gen, via);
    if (g.reclaimed) return [];
    const s = this.schema;
    const rows = await this.#q(
      `SELECT s.reason AS reason, count(*)::int AS documents
       FROM ${s.docs} d JOIN ${this.#t.stamps} s ON s.gen = $1 AND s.doc = d.${s.id}
       WHERE ${coveredPg(s)} AND s.chunks = 0 AND s.reason IS NOT NULL
       GROUP BY s.reason ORDER BY documents DESC, s.reason`,
      [g.id],
      via,
    );
    return rows.map((r) => ({ reason: String(r.reason), documents: Number(r.documents) }));
  }

  /**
   * Forgets `gen`'s skip stamps (documents stamped with no vectors), so the
   * next fill tries them again: skips saved after encoder errors, and those
   * of stores written before skip reasons were kept. Blank documents are
   * among them; the fill re-stamps those without calling the encoder.
   * Returns how many became pending.
   */
  async resetSkipped(gen: string): Promise<number> {
    const g = await this.#liveGen(gen);
    const rows = await this.#q(
      `DELETE FROM ${this.#t.stamps} WHERE gen = $1 AND chunks = 0 RETURNING 1`,
      [g.id],
    );
    return rows.length;
  }

  /**
   * Makes `gen` the active generation. Its HNSW index is built first when it
   * is missing or invalid (a deferred or interrupted build), so an active
   * generation always has its index; a build that fails refuses activation.
   */
  async activate(gen: string, options: ActivateOptions = {}): Promise<void> {
    const before = await this.#liveGen(gen);
    const { backlog } = await this.coverage(gen);
    if (backlog > 0) throw new UncoveredError(gen, backlog, uncoveredNext(before.state));
    if (!(await this.indexStatus(gen)).valid) {
      try {
        await this.buildIndex(gen);
      } catch (e) {
        throw new LifecycleError(
          `generation ${JSON.stringify(gen)} was not activated: its HNSW index could not be built (${(e as Error).message}); fix the cause (often maintenance_work_mem or disk space) and activate again`,
        );
      }
    }
    await this.#tx(async (tx) => {
      const g = await this.#liveGen(gen, tx);
      await this.#q(`LOCK TABLE ${this.#t.gens} IN EXCLUSIVE MODE`, [], tx);
      const { backlog, embedded } = await this.coverage(gen, tx);
      if (backlog > 0) throw new UncoveredError(gen, backlog, uncoveredNext(g.state));
      checkSkippedShare(gen, embedded, await this.skipReasons(gen, tx), options);
      await this.#q(
        `UPDATE ${this.#t.gens} SET state = 'retired' WHERE state IN ('building', 'active') AND id <> $1`,
        [g.id],
        tx,
      );
      await this.#setState(tx, gen, 'active');
    });
  }

  /**
   * Takes `gen` out of search. Its vectors stay until `reclaim`. Retiring the
   * active generation is refused with `LifecycleError` unless
   * `{ force: true }` (activate another one instead; that retires it safely).
   */
  async retire(gen: string, opts: { force?: boolean } = {}): Promise<void> {
    await this.#gen(gen);
    await this.#tx(async (tx) => {
      await this.#q(`LOCK TABLE ${this.#t.gens} IN EXCLUSIVE MODE`, [], tx);
      const g = await this.#gen(gen, tx);
      if (g.state === 'active' && !opts.force) throw refuseRetireActive(gen);
      await this.#setState(tx, gen, 'retired');
    });
  }

  /**
   * Brings a retired generation back as `building`, keeping its vectors:
   * `fill` re-embeds only the documents changed since, then `activate` it to
   * roll a migration back. Refuses a reclaimed or live generation.
   */
  async reopen(gen: string): Promise<void> {
    await this.#gen(gen);
    await this.#tx(async (tx) => {
      await this.#q(`LOCK TABLE ${this.#t.gens} IN EXCLUSIVE MODE`, [], tx);
      const g = await this.#gen(gen, tx);
      checkReopen(gen, g.state, Boolean(g.reclaimed));
      await this.#setState(tx, gen, 'building');
    });
  }

  async reclaim(gen: string): Promise<void> {
    await this.#tx(async (tx) => {
      const g = await this.#gen(gen, tx);
      if (g.state !== 'retired')
        throw new LifecycleError(
          `generation ${JSON.stringify(gen)} is ${g.state}; retire it before reclaiming its storage`,
        );
      if (g.reclaimed) return;
      await this.#q(`DROP TABLE IF EXISTS ${this.#t.vec(g.id)}`, [], tx);
      await this.#q(`DELETE FROM ${this.#t.chunks} WHERE gen = $1`, [g.id], tx);
      await this.#q(`DELETE FROM ${this.#t.stamps} WHERE gen = $1`, [g.id], tx);
      await this.#q(`UPDATE ${this.#t.gens} SET reclaimed = true WHERE id = $1`, [g.id], tx);
      this.#cursor.delete(g.id);
    });
  }

  async deleteVectors(doc: PgKey): Promise<void> {
    await this.#tx(async (tx) => {
      for (const g of (await this.#q(
        `SELECT * FROM ${this.#t.gens}`,
        [],
        tx,
      )) as unknown as GenRow[])
        await this.#dropChunks(tx, g, doc);
      await this.#q(`DELETE FROM ${this.#t.stamps} WHERE doc = $1`, [doc], tx);
    });
  }

  /** Chunk count and vector bytes of a generation. */
  async stats(gen: string): Promise<{
    chunks: number;
    vectorBytes: number;
    skippedChunks: number;
    /** `hnsw`, `hnsw (invalid: rebuilt at activate)`, `none (deferred until filled)`. */
    index: string;
    indexBytes: number;
  }> {
    const g = await this.#gen(gen);
    const s = this.schema;
    const [row] = await this.#q(`SELECT count(*)::int AS n FROM ${this.#t.chunks} WHERE gen = $1`, [
      g.id,
    ]);
    const [skipped] = await this.#q(
      `SELECT coalesce(sum(s.skipped_chunks), 0)::int AS n FROM ${s.docs} d
       JOIN ${this.#t.stamps} s ON s.gen = $1 AND s.doc = d.${s.id}
       WHERE ${coveredPg(s)}`,
      [g.id],
    );
    const chunks = Number(row?.n ?? 0);
    const ix = g.reclaimed
      ? { present: false, valid: false, bytes: 0 }
      : await this.indexStatus(gen);
    return {
      chunks,
      vectorBytes: chunks * Number(g.dimensions) * 4,
      skippedChunks: g.reclaimed ? 0 : Number(skipped?.n ?? 0),
      index: g.reclaimed
        ? 'none'
        : ix.valid
          ? 'hnsw'
          : ix.present
            ? 'hnsw (building, or invalid: rebuilt at activate)'
            : 'none (deferred: built when filled)',
      indexBytes: ix.bytes,
    };
  }

  /** Drops vectors of documents whose rows were deleted outside vecfill. Returns how many documents. */
  async prune(): Promise<number> {
    const s = this.schema;
    const t = this.#t;
    const gone = await this.#q(
      `SELECT DISTINCT c.doc FROM ${t.chunks} c WHERE NOT EXISTS (SELECT 1 FROM ${s.docs} d WHERE d.${s.id} = c.doc)
       UNION SELECT DISTINCT st.doc FROM ${t.stamps} st WHERE NOT EXISTS (SELECT 1 FROM ${s.docs} d WHERE d.${s.id} = st.doc)`,
    );
    for (const r of gone) await this.deleteVectors(r.doc as PgKey);
    return gone.length;
  }
}

function toInfo(row: GenRow): GenerationInfo<string> {
  return {
    key: row.key,
    generation: JSON.parse(row.generation) as Generation,
    fingerprint: row.fingerprint,
    dimensions: Number(row.dimensions),
    state: row.state,
    reclaimed: Boolean(row.reclaimed),
    createdAt:
      row.created_at instanceof Date ? row.created_at.toISOString() : String(row.created_at),
  };
}

/** pgvector's text form; bound as a parameter and cast with `::vector`. */
export function vectorLiteral(v: Float32Array): string {
  let out = '[';
  for (let i = 0; i < v.length; i++) out += (i ? ',' : '') + String(v[i]);
  return `${out}]`;
}
