import { hostname } from 'node:os';
import type Database from 'better-sqlite3';
import {
  type ActivateOptions,
  type ChunkVector,
  type Coverage,
  checkSkippedShare,
  DimensionMismatchError,
  DuplicateKeyError,
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
  VecfillError,
  validateGeneration,
  type WaitForChangeOptions,
} from '../core/index.js';
import { checkReopen, refuseRetireActive, uncoveredNext } from '../core/lifecycle.js';
import {
  checkExistingGeneration,
  checkGenerationKey,
  checkReclaimable,
  checkSave,
  coverageOf,
  coverageSql,
  coveredSql,
  dropLeasesOfSql,
  dropOtherStampsSql,
  expireLeasesSql,
  generationInfo,
  leaseOwnersSql,
  liveGenerationsSql,
  orphanDocsSql,
  pendingSql,
  reclaimedError,
  reclaimSql,
  requireRevision,
  resetSkippedSql,
  retireOthersSql,
  ScanCursor,
  SQLITE,
  type SqlNames,
  setEmbedGenSql,
  setStateSql,
  skippedChunksSql,
  skipReasonsSql,
  slots,
  stampSql,
  stampValues,
  stateConflict,
  takeLeaseSql,
  unleaseSql,
} from '../sql/index.js';
import { dataVersion, waitForCommit } from './data-version.js';
import { ftsMatch, ftsTerms } from './full-text.js';
import type { GenerationIndex } from './index/generation-index.js';
import { type GenerationSource, ScanIndexes, type ScanStatus } from './index/scan-indexes.js';
import { packRows, readVec0Chunks, readVec0Rows } from './index/vec0-rows.js';
import { loadVec } from './open-database.js';
import {
  columnType,
  defaultOversample,
  floats,
  type GenerationOptions,
  QUANTIZATIONS,
  type Quantization,
  quantize,
  quantizedBytes,
  rescore,
} from './quantize.js';
import {
  quoted,
  type SqliteSchema,
  sqliteNames,
  type ValidSqliteSchema,
  validateSchema,
} from './sqlite-schema.js';

type SqliteDatabase = Database.Database;

/** A document key as SQLite stores it. */
export type SqliteKey = string | number | bigint;
/** A value SQLite can bind. */
export type SqliteValue = string | number | bigint | Buffer | null;

/**
 * A metadata filter: trusted SQL over the documents table, which is aliased
 * `d`, with `?` placeholders bound to `params`. Applied before the result
 * limit, so filtered-out rows never use up results.
 *
 * @example
 * ```ts
 * { where: "d.lang = ? AND d.created_at > ?", params: ['en', '2026-01-01'] }
 * ```
 */
export interface SqliteFilter {
  where: string;
  params?: readonly SqliteValue[];
}

/** Storage a generation uses. */
export interface GenerationStats {
  chunks: number;
  /** Chunks the encoder rejected in documents saved with their other chunks (current stamps only). */
  skippedChunks: number;
  /** Bytes of float32 vector data (chunks × dimensions × 4). */
  vectorBytes: number;
  /** Bytes of the quantized index beside the float vectors (0 without quantization). */
  indexBytes: number;
  quantization?: Quantization;
  /**
   * How searches scan the generation (`float32`, `int8` or `binary` in
   * memory, or `sqlite-vec`), the bytes of memory that scan holds in this
   * process (or will hold once the generation is searched), and, when it
   * falls back to sqlite-vec against the asked kind, why.
   */
  scan: ScanStatus;
}

interface GenRow {
  id: number;
  key: string;
  generation: string;
  fingerprint: string;
  dimensions: number;
  state: GenerationState;
  reclaimed: number;
  created_at: string;
  quantization: Quantization | null;
  oversample: number | null;
  /** Bumped by every write to a binary generation's codes; keys the in-memory copy. */
  writes: number;
  /** float32 mean of a binary generation's vectors, set by `recenter`; codes are signs around it. */
  centre: Buffer | null;
}

interface DocRow {
  id: SqliteKey;
  embed_gen?: SqliteValue;
}

/** A chunk hit as read with safe integers: every integer column is a bigint. */
interface ChunkRow {
  doc: SqliteKey;
  chunkIndex: number | bigint;
  start: number | bigint;
  end: number | bigint;
  distance: number | bigint;
}

/** Stamps the incremental prune looks at per save transaction, plus per saved document. */
const PRUNE_PER_SAVE = 256;
const PRUNE_PER_DOC = 16;
/** Codes `recenter` rewrites per write transaction (a few milliseconds each). */
const RECENTER_BATCH = 5000;
/** sqlite-vec refuses a KNN `k` above this. */
const VEC_MAX_K = 4096;
/** A filter keeping at most this share of the documents is answered by scoring the matching rows exactly. */
const FILTER_SCAN_SHARE = 0.1;
/**
 * The same for a generation scanned in memory: a full scan costs a few
 * milliseconds whatever k is, so a window sized by the selectivity is
 * cheaper than listing the matching chunks in SQL until the filter keeps
 * very few rows.
 */
const MEMORY_FILTER_SHARE = 0.02;

/**
 * The SQLite store: embeddings of a table you own, kept beside it in the same
 * database, searched with sqlite-vec.
 *
 * The caller owns the documents table; the store owns `<prefix>_generations`,
 * `<prefix>_chunks`, `<prefix>_stamps`, `<prefix>_keys`, `<prefix>_fts` and
 * one cosine vec0 table per generation (`<prefix>_vec_<n>`). Every
 * identifier is validated before it is put into SQL; values are always bound.
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
export class SqliteStore implements LifecycleStore<SqliteKey, string, SqliteFilter> {
  readonly db: SqliteDatabase;
  readonly schema: ValidSqliteSchema;
  readonly #t: Tables;
  /** The shared SQL builders' names for this schema. */
  readonly #n: SqlNames;
  /** Per-generation scan cursor: each page continues after the last, wrapping once. */
  readonly #cursor = new ScanCursor<SqliteKey>();
  readonly #statements = new Map<string, Database.Statement>();
  /** In-memory SIMD-scanned indexes per generation, kept current by the change log. */
  readonly #scans: ScanIndexes;
  /** Identifies this store's leases when `leaseMs` is set. */
  readonly #owner = `${hostname()}/${process.pid}/${Math.random().toString(36).slice(2)}`;
  /** When `#freeDeadLeases` last looked. */
  #leasesCheckedAt = 0;
  readonly #saveOne: Database.Transaction<(gen: GenRow, item: SaveItem<SqliteKey>) => void>;
  /** The `data_version` the last `waitForChange` saw. */
  #seenVersion: number | undefined;

  private constructor(db: SqliteDatabase, schema: ValidSqliteSchema) {
    this.db = db;
    this.schema = schema;
    this.#n = sqliteNames(schema);
    const p = schema.vectorsPrefix;
    this.#t = {
      docs: quoted(schema.docsTable),
      gens: `${p}_generations`,
      chunks: `${p}_chunks`,
      stamps: `${p}_stamps`,
      keys: `${p}_keys`,
      leases: `${p}_leases`,
      fts: `${p}_fts`,
      vec: (id: number) => `${p}_vec_${id}`,
      full: (id: number) => `${p}_full_${id}`,
    };
    this.#scans = new ScanIndexes(db, p, schema.scan);
    this.#saveOne = db.transaction((gen: GenRow, item: SaveItem<SqliteKey>) => {
      this.#save(gen, item);
      this.#pruneSome(gen, PRUNE_PER_SAVE + PRUNE_PER_DOC);
    });
  }

  /**
   * Opens a store over `db`: validates the schema, checks that the documents
   * table and its columns exist, loads sqlite-vec if needed, and creates the
   * store's own tables if they are missing.
   */
  static open(db: SqliteDatabase, schema: SqliteSchema): SqliteStore {
    const valid = validateSchema(schema);
    loadVec(db);
    const store = new SqliteStore(db, valid);
    store.#createTables();
    return store;
  }

  #createTables(): void {
    const t = this.#t;
    const s = this.schema;
    const columns = this.db.prepare(`PRAGMA table_info(${t.docs})`).all() as {
      name: string;
      type: string;
    }[];
    if (columns.length === 0) {
      throw new LifecycleError(
        `documents table ${s.docsTable} does not exist in this database; create it first or fix schema.docsTable`,
      );
    }
    const byName = new Map(columns.map((c) => [c.name.toLowerCase(), c]));
    for (const [role, name] of Object.entries({
      idColumn: s.idColumn,
      contentColumn: s.contentColumn,
      revisionColumn: s.revisionColumn,
      embedGenColumn: s.embedGenColumn,
    })) {
      if (name !== undefined && !byName.has(name.toLowerCase())) {
        throw new LifecycleError(
          `table ${s.docsTable} has no column ${name} (schema.${role}); columns are: ${columns.map((c) => c.name).join(', ')}`,
        );
      }
    }
    this.#checkUnique(columns as { name: string; type: string; pk: number }[]);
    // Key columns take the affinity of the caller's id column, so joins on
    // them compare like with like and can use their indexes.
    const docType = affinityOf(byName.get(s.idColumn.toLowerCase())!.type);
    const p = s.vectorsPrefix;
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS ${t.gens} (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        generation TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        dimensions INTEGER NOT NULL CHECK (dimensions > 0),
        state TEXT NOT NULL CHECK (state IN ('building', 'active', 'retired')),
        reclaimed INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        quantization TEXT CHECK (quantization IN ('binary', 'int8')),
        oversample INTEGER CHECK (oversample > 0),
        writes INTEGER NOT NULL DEFAULT 0,
        centre BLOB,
        prune_after
      );
      CREATE UNIQUE INDEX IF NOT EXISTS ${p}_one_active ON ${t.gens}(state) WHERE state = 'active';
      CREATE UNIQUE INDEX IF NOT EXISTS ${p}_one_building ON ${t.gens}(state) WHERE state = 'building';
      CREATE TABLE IF NOT EXISTS ${t.chunks} (
        id INTEGER PRIMARY KEY,
        gen INTEGER NOT NULL,
        doc ${docType} NOT NULL,
        chunk_index INTEGER NOT NULL,
        start INTEGER NOT NULL,
        "end" INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS ${p}_chunks_doc ON ${t.chunks}(gen, doc);
      CREATE TABLE IF NOT EXISTS ${t.stamps} (
        gen INTEGER NOT NULL,
        doc ${docType} NOT NULL,
        revision,
        chunks INTEGER NOT NULL,
        PRIMARY KEY (gen, doc)
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS ${p}_stamps_doc ON ${t.stamps}(doc);
    `);
    // Databases made before quantization existed lack its two columns.
    const genColumns = this.db.prepare(`PRAGMA table_info(${t.gens})`).all() as { name: string }[];
    if (!genColumns.some((c) => c.name === 'quantization')) {
      this.db.exec(`ALTER TABLE ${t.gens} ADD COLUMN quantization TEXT CHECK (quantization IN ('binary', 'int8'));
        ALTER TABLE ${t.gens} ADD COLUMN oversample INTEGER CHECK (oversample > 0);
        ALTER TABLE ${t.gens} ADD COLUMN writes INTEGER NOT NULL DEFAULT 0;`);
    }
    if (!genColumns.some((c) => c.name === 'centre')) {
      this.db.exec(`ALTER TABLE ${t.gens} ADD COLUMN centre BLOB`);
    }
    if (!genColumns.some((c) => c.name === 'prune_after')) {
      this.db.exec(`ALTER TABLE ${t.gens} ADD COLUMN prune_after`);
    }
    this.#scans.log.create();
    // Why a document was skipped (NULL for embedded and blank documents).
    const stampColumns = this.db.prepare(`PRAGMA table_info(${t.stamps})`).all() as {
      name: string;
    }[];
    if (!stampColumns.some((c) => c.name === 'reason')) {
      this.db.exec(`ALTER TABLE ${t.stamps} ADD COLUMN reason TEXT`);
    }
    // Chunks the encoder rejected in a document saved with its other chunks.
    if (!stampColumns.some((c) => c.name === 'skipped_chunks')) {
      this.db.exec(`ALTER TABLE ${t.stamps} ADD COLUMN skipped_chunks INTEGER NOT NULL DEFAULT 0`);
    }
    if (s.leaseMs !== undefined) {
      this.db.exec(`CREATE TABLE IF NOT EXISTS ${t.leases} (
        gen INTEGER NOT NULL, doc ${docType} NOT NULL, owner TEXT NOT NULL, expires REAL NOT NULL,
        PRIMARY KEY (gen, doc)
      ) WITHOUT ROWID`);
    }
    if (s.fullText) {
      this.db.exec(`
        CREATE TABLE IF NOT EXISTS ${t.keys} (id INTEGER PRIMARY KEY, doc ${docType} NOT NULL UNIQUE);
        CREATE VIRTUAL TABLE IF NOT EXISTS ${t.fts} USING fts5(body, tokenize = 'unicode61 remove_diacritics 2');
        CREATE VIRTUAL TABLE IF NOT EXISTS ${t.fts}_vocab USING fts5vocab(${t.fts}, 'row');
      `);
    }
  }

  /**
   * Refuses an id column that is not unique, before anything is saved: stamps
   * and vectors are keyed by it, so two rows sharing a key would share (and
   * overwrite) each other's vectors. A PRIMARY KEY or a single-column UNIQUE
   * index proves it; otherwise the rows are checked once here (and every
   * save checks its own key).
   */
  #checkUnique(columns: { name: string; type: string; pk: number }[]): void {
    const s = this.schema;
    const id = s.idColumn.toLowerCase();
    const pk = columns.filter((c) => c.pk > 0);
    if (pk.length === 1 && pk[0]!.name.toLowerCase() === id) return;
    const indexes = this.db.prepare(`PRAGMA index_list(${this.#t.docs})`).all() as {
      name: string;
      unique: number;
      partial: number;
    }[];
    for (const ix of indexes) {
      if (!ix.unique || ix.partial) continue;
      const cols = this.db.prepare(`PRAGMA index_info(${quoted(ix.name)})`).all() as {
        name: string | null;
      }[];
      if (cols.length === 1 && cols[0]!.name?.toLowerCase() === id) return;
    }
    const dup = this.db
      .prepare(
        `SELECT ${quoted(s.idColumn)} FROM ${this.#t.docs} GROUP BY ${quoted(s.idColumn)} HAVING count(*) > 1 LIMIT 1`,
      )
      .pluck()
      .get();
    if (dup !== undefined) throw new DuplicateKeyError(s.docsTable, s.idColumn, dup);
  }

  #stmt(key: string, sql: () => string): Database.Statement {
    let st = this.#statements.get(key);
    if (!st) {
      st = this.db.prepare(sql());
      this.#statements.set(key, st);
    }
    return st;
  }

  /**
   * A statement that reads keys or revisions: it returns every integer as a
   * bigint (better-sqlite3's safe integers), so ids and revisions above 2^53
   * (snowflake ids, nanosecond timestamps) survive exactly; `keyOf` turns
   * the safe ones back into numbers.
   */
  #keyStmt(key: string, sql: () => string): Database.Statement {
    let st = this.#statements.get(key);
    if (!st) {
      st = this.db.prepare(sql()).safeIntegers(true);
      this.#statements.set(key, st);
    }
    return st;
  }

  #gen(key: string): GenRow {
    const row = this.#stmt('gen', () => `SELECT * FROM ${this.#t.gens} WHERE key = ?`).get(key) as
      | GenRow
      | undefined;
    if (!row) throw new UnknownGenerationError(key);
    return row;
  }

  #liveGen(key: string): GenRow {
    const row = this.#gen(key);
    if (row.reclaimed) throw reclaimedError(key);
    return row;
  }

  // ---------------------------------------------------------------- Store

  /** Documents not covered by `gen`, in id order, continuing after the previous page (wrapping once). */
  pendingForGeneration(gen: string, limit: number): Pending<SqliteKey>[] {
    const g = this.#liveGen(gen);
    const leaseMs = this.schema.leaseMs;
    if (leaseMs === undefined) return this.#scan(g, limit);
    // Several workers. The scan is a read (it skips documents leased by
    // someone else), so the application's writers never wait for it; then
    // one short write transaction takes the leases, each only if it is free,
    // expired or already ours, so two workers never lease the same document.
    const now = Date.now();
    this.#freeDeadLeases(now);
    const rows = this.#scan(g, limit, now);
    if (rows.length === 0) return rows;
    const take = this.#stmt('lease', () => takeLeaseSql(this.#n, slots(SQLITE)));
    const owner = this.#owner;
    const run = this.db.transaction(() =>
      rows.filter(
        (r) => take.run({ gen: g.id, doc: r.doc, owner, expires: now + leaseMs, now }).changes > 0,
      ),
    );
    return run.immediate();
  }

  /**
   * Frees the leases of fillers that are gone: expired ones, and those of a
   * process on this machine that no longer runs (killed, or stopped with a
   * second Ctrl-C), so a rerun takes over their documents at once instead
   * of after the lease time. Checked at most once a second.
   */
  #freeDeadLeases(now: number): void {
    if (now - this.#leasesCheckedAt < 1000) return;
    this.#leasesCheckedAt = now;
    const owners = this.#stmt('leaseOwners', () => leaseOwnersSql(this.#n, slots(SQLITE)))
      .pluck()
      .all({ owner: this.#owner }) as string[];
    const dead = owners.filter((o) => {
      const [host, pid] = o.split('/');
      return host === hostname() && !processRuns(Number(pid));
    });
    this.db
      .transaction(() => {
        this.#stmt('leaseExpire', () => expireLeasesSql(this.#n, slots(SQLITE))).run({ now });
        const drop = this.#stmt('leaseDrop', () => dropLeasesOfSql(this.#n, slots(SQLITE)));
        for (const owner of dead) drop.run({ owner });
      })
      .immediate();
  }

  /**
   * Gives back every lease this store holds (with `leaseMs`), so other
   * workers, or a rerun, take over those documents at once. Call it when a
   * worker stops early; the CLI does after every fill.
   */
  releaseLeases(): number {
    if (this.schema.leaseMs === undefined) return 0;
    return this.#stmt('leaseDrop', () => dropLeasesOfSql(this.#n, slots(SQLITE))).run({
      owner: this.#owner,
    }).changes;
  }

  /** The pending scan: the negated freshness predicate, from the cursor on, wrapping once. */
  #scan(g: GenRow, limit: number, leasedAt?: number): Pending<SqliteKey>[] {
    const leased = leasedAt !== undefined;
    const values = { gen: g.id, limit, owner: this.#owner, now: leasedAt ?? 0 };
    const page = (after: boolean, extra: object = {}) =>
      normalize(
        this.#keyStmt(`pending${after ? 'After' : 'Head'}${leased ? 'Leased' : ''}`, () =>
          pendingSql(this.#n, SQLITE, slots(SQLITE), { after, leased }),
        ).all({ ...values, ...extra }) as Pending<SqliteKey>[],
      );
    const after = this.#cursor.after(g.id);
    const rows = this.#cursor.merge(
      g.id,
      after === undefined ? [] : page(true, { after }),
      () => page(false),
      limit,
    );
    for (const r of rows) r.content = textOf(r.content);
    return rows;
  }

  saveVectors(
    gen: string,
    doc: SqliteKey,
    revision: Revision | undefined,
    vectors: ChunkVector[],
    options: SaveOptions = {},
  ): void {
    const g = this.#liveGen(gen);
    const item: SaveItem<SqliteKey> = { doc, revision, vectors };
    if (options.skipReason !== undefined) item.skipReason = options.skipReason;
    if (options.skippedChunks !== undefined) item.skippedChunks = options.skippedChunks;
    this.#saveOne.immediate(g, item);
  }

  /** Saves many documents in one transaction; each item is atomic on its own (a savepoint). */
  saveMany(gen: string, items: readonly SaveItem<SqliteKey>[]): (Error | null)[] {
    const g = this.#liveGen(gen);
    const all = this.db.transaction(() => {
      const outcomes = items.map((item) => {
        try {
          // #save checks (missing, stale, dimensions) before it writes, so a
          // refused item has written nothing and needs no savepoint.
          this.#save(g, item);
          return null;
        } catch (e) {
          if (e instanceof StaleError || e instanceof MissingDocumentError) return e;
          throw e;
        }
      });
      this.#pruneSome(g, PRUNE_PER_SAVE + PRUNE_PER_DOC * items.length);
      return outcomes;
    });
    return all.immediate();
  }

  /** Runs inside a transaction (or a savepoint, from saveMany). */
  #save(g: GenRow, item: SaveItem<SqliteKey>): void {
    const s = this.schema;
    const t = this.#t;
    const { doc, revision, vectors } = item;
    requireRevision(s.revisionColumn, doc, revision);
    // One lookup answers both questions: does the row exist, and is its revision the one scanned?
    const rows = this.#keyStmt(
      'docRow',
      () =>
        `SELECT d.${quoted(s.idColumn)} AS id${s.embedGenColumn ? `, d.${quoted(s.embedGenColumn)} AS embed_gen` : ''}${
          s.revisionColumn ? `, d.${quoted(s.revisionColumn)} IS ? AS same` : ''
        } FROM ${t.docs} d WHERE d.${quoted(s.idColumn)} = ? LIMIT 2`,
    ).all(...(s.revisionColumn ? [revision, doc] : [doc])) as (DocRow & { same?: number })[];
    const row = rows[0];
    checkSave({
      gen: g.key,
      doc,
      revision,
      revisionColumn: s.revisionColumn,
      dimensions: g.dimensions,
      vectors,
      lookup: { found: row !== undefined, duplicate: rows.length > 1, same: Boolean(row?.same) },
      docsTable: s.docsTable,
      idColumn: s.idColumn,
    });
    const key = row!.id;
    this.#dropChunks(g, key);
    const insChunk = this.#stmt(
      'insChunk',
      () => `INSERT INTO ${t.chunks} (gen, doc, chunk_index, start, "end") VALUES (?, ?, ?, ?, ?)`,
    );
    const q = g.quantization;
    const insVec = this.#stmt(
      `insVec${g.id}`,
      () =>
        `INSERT INTO ${t.vec(g.id)} (rowid, embedding) VALUES (?, ${q === 'int8' ? 'vec_int8(?)' : '?'})`,
    );
    const insFull = q
      ? this.#stmt(`insFull${g.id}`, () => `INSERT INTO ${t.full(g.id)} (id, v) VALUES (?, ?)`)
      : undefined;
    if (q === 'binary' && vectors.length > 0) this.#bumpWrites(g);
    // The centre as of this transaction (another process may have re-centred since `g` was read).
    const centreBlob =
      q === 'binary'
        ? (this.#stmt('centreOf', () => `SELECT centre FROM ${t.gens} WHERE id = ?`)
            .pluck()
            .get(g.id) as Buffer | null)
        : null;
    const centre = centreBlob ? floats(centreBlob) : undefined;
    const written: bigint[] = [];
    for (const cv of vectors) {
      const id = BigInt(insChunk.run(g.id, key, cv.index, cv.start, cv.end).lastInsertRowid);
      if (q) {
        insVec.run(id, quantize(q, cv.vector, centre));
        insFull!.run(id, f32(cv.vector));
      } else {
        insVec.run(id, f32(cv.vector));
      }
      written.push(id);
    }
    this.#scans.log.record(g.id, written, false);
    const embedGen = s.embedGenColumn;
    if (embedGen) {
      if (row!.embed_gen === null) {
        // The caller invalidated this document: every other generation's
        // stamp is void too, not just the one being saved now.
        const others = this.db
          .prepare(`SELECT * FROM ${t.gens} WHERE id <> ?`)
          .all(g.id) as GenRow[];
        for (const other of others) this.#dropChunks(other, key);
        this.#stmt('dropOtherStamps', () => dropOtherStampsSql(this.#n, slots(SQLITE))).run({
          doc: key,
          gen: g.id,
        });
      }
      this.#stmt('setEmbedGen', () =>
        setEmbedGenSql({ ...this.#n, embedGen: quoted(embedGen) }, slots(SQLITE)),
      ).run({ key: g.key, doc: key });
    }
    this.#stmt('stamp', () => stampSql(this.#n, slots(SQLITE))).run({
      gen: g.id,
      doc: key,
      ...stampValues(item),
    });
    // Full text belongs to the document, not to this generation: a stamp-skip
    // (no vectors) still indexes it, since another generation may rely on it.
    if (s.fullText) this.#indexText(key);
    if (s.leaseMs !== undefined) {
      this.#stmt('unlease', () => unleaseSql(this.#n, slots(SQLITE))).run({ gen: g.id, doc: key });
    }
  }

  /** Marks every in-memory copy of `g`'s binary codes (in any process) out of date. */
  #bumpWrites(g: GenRow): void {
    this.#stmt(
      'bumpWrites',
      () => `UPDATE ${this.#t.gens} SET writes = writes + 1 WHERE id = ?`,
    ).run(g.id);
  }

  #dropChunks(g: GenRow, key: SqliteKey): void {
    const t = this.#t;
    const ids = this.#stmt('chunkIds', () => `SELECT id FROM ${t.chunks} WHERE gen = ? AND doc = ?`)
      .pluck()
      .all(g.id, key) as number[];
    if (ids.length === 0) return;
    if (!g.reclaimed) {
      const del = this.#stmt(`delVec${g.id}`, () => `DELETE FROM ${t.vec(g.id)} WHERE rowid = ?`);
      for (const id of ids) del.run(BigInt(id));
      this.#scans.log.record(g.id, ids, true);
      if (g.quantization === 'binary') this.#bumpWrites(g);
      if (g.quantization) {
        const delFull = this.#stmt(
          `delFull${g.id}`,
          () => `DELETE FROM ${t.full(g.id)} WHERE id = ?`,
        );
        for (const id of ids) delFull.run(id);
      }
    }
    this.#stmt('delChunks', () => `DELETE FROM ${t.chunks} WHERE gen = ? AND doc = ?`).run(
      g.id,
      key,
    );
  }

  /**
   * Replaces the document's full-text row with its current content. One row
   * per document, shared by every generation: it is removed only with the
   * document (`deleteVectors`, `prune`), never by one generation's decision.
   */
  #indexText(key: SqliteKey): void {
    const t = this.#t;
    const s = this.schema;
    this.#stmt(
      'keyIns',
      () => `INSERT INTO ${t.keys} (doc) VALUES (?) ON CONFLICT (doc) DO NOTHING`,
    ).run(key);
    const id = this.#stmt('keyId', () => `SELECT id FROM ${t.keys} WHERE doc = ?`)
      .pluck()
      .get(key) as number;
    this.#stmt('ftsDel', () => `DELETE FROM ${t.fts} WHERE rowid = ?`).run(id);
    this.#stmt(
      'ftsIns',
      () =>
        `INSERT INTO ${t.fts} (rowid, body) SELECT ?, d.${quoted(s.contentColumn)} FROM ${t.docs} d WHERE d.${quoted(s.idColumn)} = ?`,
    ).run(id, key);
  }

  /**
   * Resolves `true` once another connection (another process, another
   * `Database` handle) committed to this database since the previous call,
   * by polling `PRAGMA data_version` every `pollMs` (a few microseconds a
   * poll); `false` after `timeoutMs`. This connection's own writes are not
   * seen: tell `follow` about those through its `subscribe` option.
   */
  async waitForChange(opts: WaitForChangeOptions): Promise<boolean> {
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
    const t = this.#t;
    const run = this.db.transaction(() => {
      const gens = this.db.prepare(`SELECT * FROM ${t.gens}`).all() as GenRow[];
      for (const g of gens) this.#dropChunks(g, to);
      this.db.prepare(`DELETE FROM ${t.stamps} WHERE doc = ?`).run(to);
      this.db.prepare(`UPDATE ${t.chunks} SET doc = ? WHERE doc = ?`).run(to, from);
      this.db.prepare(`UPDATE ${t.stamps} SET doc = ? WHERE doc = ?`).run(to, from);
      if (this.schema.leaseMs !== undefined)
        this.db.prepare(`DELETE FROM ${t.leases} WHERE doc = ? OR doc = ?`).run(from, to);
      if (this.schema.fullText) {
        const old = this.db.prepare(`SELECT id FROM ${t.keys} WHERE doc = ?`).pluck().get(to);
        if (old !== undefined) {
          this.db.prepare(`DELETE FROM ${t.fts} WHERE rowid = ?`).run(old);
          this.db.prepare(`DELETE FROM ${t.keys} WHERE id = ?`).run(old);
        }
        this.db.prepare(`UPDATE ${t.keys} SET doc = ? WHERE doc = ?`).run(to, from);
      }
    });
    run.immediate();
  }

  /** Building first, then active: the most preferred generation leads. */
  liveGenerations(): string[] {
    return this.#stmt('live', () => liveGenerationsSql(this.#n))
      .pluck()
      .all() as string[];
  }

  /**
   * Chunk hits for `query`, best first, only from rows that exist and whose
   * stamp is current. The vec0 KNN runs once, materialized, before the joins;
   * when stale, deleted or filtered-out rows take up slots, the KNN window
   * widens until `limit` eligible hits are found or the index is exhausted.
   * Score is cosine similarity (1 − cosine distance). With `hybrid` and
   * `text`, full-text hits are fused with the vector hits by reciprocal rank.
   */
  queryGeneration(
    gen: string,
    query: Float32Array,
    limit: number,
    opts: QueryOptions<SqliteFilter> = {},
  ): Hit<SqliteKey>[] {
    const g = this.#liveGen(gen);
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
    return this.#readOnly(() => {
      const rows = this.#vectorRows(g, query, limit, opts.filter);
      const hits: Hit<SqliteKey>[] = rows.map((r) => ({
        doc: keyOf(r.doc),
        chunkIndex: Number(r.chunkIndex),
        score: 1 - Number(r.distance),
        start: Number(r.start),
        end: Number(r.end),
      }));
      if (!opts.hybrid || opts.text === undefined || !this.schema.fullText) return hits;
      return this.#fuse(g, hits, opts.text, limit, opts.filter);
    });
  }

  /**
   * Runs a search with `PRAGMA query_only` on: the filter is the caller's
   * SQL, trusted like any other, and a search must never write, whatever it
   * contains. The call is synchronous, so no other work on this connection
   * runs while the pragma is on; it is restored afterwards.
   */
  #readOnly<T>(fn: () => T): T {
    const was = this.db.pragma('query_only', { simple: true }) as number;
    if (was) return fn();
    this.db.pragma('query_only = ON');
    try {
      return fn();
    } finally {
      this.db.pragma('query_only = OFF');
    }
  }

  #vectorRows(
    g: GenRow,
    query: Float32Array,
    limit: number,
    filter: SqliteFilter | undefined,
  ): ChunkRow[] {
    const q = f32(query);
    const filterParams = filter?.params ?? [];
    const where = filter ? ` AND (${filter.where})` : '';
    const quant = g.quantization;
    const over = quant ? (g.oversample ?? defaultOversample(quant)) : 2;
    const index = this.#scanIndex(g);
    // An in-memory index has no window limit; sqlite-vec's KNN has VEC_MAX_K.
    const maxK = index ? Number.MAX_SAFE_INTEGER : VEC_MAX_K;
    let k = Math.min(maxK, Math.max(limit * over, 16));
    if (filter && index?.candidatesWhere) {
      // From memory: one scan, then the rows in score order through the
      // filter in SQL until enough pass; a filter that keeps very few rows
      // is answered by listing them.
      return (
        this.#filteredRows(g, index, query, where, filterParams, limit, k) ??
        this.#memoryRows(g, index, query, where, filterParams, limit, k)
      );
    }
    if (filter) {
      // Size the search by the filter's selectivity. A KNN reads every
      // vector whatever k is, so when few rows match, scoring just those
      // rows is cheaper than widening the window round after round
      // (measured at 100k × 384: 1 % of rows, 13 ms vs 381 ms; 10 %, 58 ms
      // vs 161 ms).
      const share = this.#filterShare(where, filterParams);
      if (share === 0) return [];
      if (index && share <= MEMORY_FILTER_SHARE)
        return this.#memoryRows(g, index, query, where, filterParams, limit, k);
      if (!index && share <= FILTER_SCAN_SHARE)
        return this.#exactRows(g, q, where, filterParams, limit);
      k = Math.min(maxK, Math.max(k, Math.ceil((limit * over) / share)));
    }
    // A binary generation has no KNN table: over the memory cap it is scanned exactly.
    if (!index && quant === 'binary') return this.#exactRows(g, q, where, filterParams, limit);
    for (;;) {
      let rows: ChunkRow[];
      let exhausted: boolean;
      if (index || quant) {
        const ranked = index ? index.candidates(query, k) : this.#candidates(g, query, k);
        exhausted = ranked.length < k;
        rows = this.#keyStmt(`rerank${g.id}:${where}`, () => this.#rerankSql(where)).all(
          JSON.stringify(ranked),
          g.id,
          ...filterParams,
          limit,
        ) as ChunkRow[];
      } else {
        rows = this.#keyStmt(`knn${g.id}:${where}`, () => this.#knnSql(g, where)).all(
          q,
          k,
          g.id,
          ...filterParams,
          limit,
        ) as ChunkRow[];
        exhausted = rows.length < limit && k >= this.#chunkCount(g);
      }
      if (rows.length >= limit || exhausted) return rows;
      if (k >= VEC_MAX_K) {
        // The KNN window cannot grow past sqlite-vec's limit: finish with an
        // exact scan over the float vectors, still filtered by the same
        // freshness predicate.
        return this.#exactRows(g, q, where, filterParams, limit);
      }
      k = Math.min(maxK, k * 4);
    }
  }

  /**
   * The in-memory index of `g`, current to the change log, or null when
   * sqlite-vec scans it (asked for, or over the memory cap).
   */
  #scanIndex(g: GenRow): GenerationIndex | null {
    return this.#scans.fresh(g, this.#source(g));
  }

  /** Where `g`'s float vectors are stored: the vec0 table, or beside a quantized index. */
  #source(g: GenRow): GenerationSource {
    const t = this.#t;
    const [table, id, v] = g.quantization
      ? [t.full(g.id), 'id', 'v']
      : [t.vec(g.id), 'rowid', 'embedding'];
    const asRows = (rows: unknown[]) =>
      (rows as [number | bigint, Buffer][]).map(([i, b]) => [Number(i), b] as const);
    return {
      all: () =>
        (!g.quantization && readVec0Chunks(this.db, t.vec(g.id), g.dimensions)) || [
          packRows(
            asRows(this.db.prepare(`SELECT ${id}, ${v} FROM ${table}`).raw().all()),
            g.dimensions,
          ),
        ],
      some: (ids) => {
        if (!g.quantization) {
          const rows = readVec0Rows(this.db, t.vec(g.id), g.dimensions, ids);
          if (rows) return rows;
        }
        // One query for all ids (a plain table, or a vec0 table of another layout).
        return asRows(
          this.#stmt(
            `vectors${g.id}`,
            () =>
              `SELECT v.${id}, v.${v} FROM json_each(?) j CROSS JOIN ${table} v ON v.${id} = j.value`,
          )
            .raw()
            .all(JSON.stringify(ids)),
        );
      },
      centre: () => {
        const blob = this.#stmt('centreOf', () => `SELECT centre FROM ${t.gens} WHERE id = ?`)
          .pluck()
          .get(g.id) as Buffer | null;
        return blob ? floats(blob) : undefined;
      },
      count: () => this.#chunkCount(g),
    };
  }

  /**
   * A filtered search from memory (`GenerationIndex.candidatesWhere`): the
   * chunks in score order are checked against the filter and the freshness
   * predicate in SQL, a window at a time; null when the filter keeps so few
   * rows that listing them is cheaper.
   */
  #filteredRows(
    g: GenRow,
    index: GenerationIndex,
    query: Float32Array,
    where: string,
    filterParams: readonly SqliteValue[],
    limit: number,
    k: number,
  ): ChunkRow[] | null {
    const s = this.schema;
    const t = this.#t;
    const check = this.#stmt(
      `keep${g.id}:${where}`,
      () => `SELECT c.id FROM json_each(?) j
        CROSS JOIN ${t.chunks} c ON c.id = j.value
        CROSS JOIN ${t.docs} d ON d.${quoted(s.idColumn)} = c.doc
        LEFT JOIN ${t.stamps} s ON s.gen = ? AND s.doc = d.${quoted(s.idColumn)}
        WHERE ${coveredSql(this.#n, SQLITE)}${where}`,
    ).pluck();
    const keep = (ids: readonly number[]) =>
      new Set(check.all(JSON.stringify(ids), g.id, ...filterParams) as number[]);
    // Checking a row costs a few microseconds; listing the matching rows
    // costs a pass over the documents table.
    const budget = Math.max(1024, index.size / 32);
    // The rows found already passed the filter and the freshness predicate,
    // so `limit` of them is enough unless a write lands in between.
    k = limit;
    for (;;) {
      const ranked = index.candidatesWhere!(query, k, keep, budget);
      if (!ranked) return null;
      const rows = this.#stmt(`rerank${g.id}:${where}`, () => this.#rerankSql(where)).all(
        JSON.stringify(ranked),
        g.id,
        ...filterParams,
        limit,
      ) as ChunkRow[];
      if (rows.length >= limit || ranked.length < k) return rows;
      k *= 4;
    }
  }

  /**
   * A filtered search over few rows, from memory: the chunks of the fresh,
   * matching documents (found in SQL, no vector read), scored by the index.
   */
  #memoryRows(
    g: GenRow,
    index: GenerationIndex,
    query: Float32Array,
    where: string,
    filterParams: readonly SqliteValue[],
    limit: number,
    k: number,
  ): ChunkRow[] {
    const s = this.schema;
    const t = this.#t;
    const among = this.#stmt(
      `among${g.id}:${where}`,
      () => `SELECT c.id FROM ${t.docs} d
        CROSS JOIN ${t.stamps} s ON s.gen = ? AND s.doc = d.${quoted(s.idColumn)}
        CROSS JOIN ${t.chunks} c ON c.gen = ? AND c.doc = d.${quoted(s.idColumn)}
        WHERE ${coveredSql(this.#n, SQLITE)}${where}`,
    )
      .pluck()
      .all(g.id, g.id, ...filterParams) as number[];
    for (;;) {
      const ranked = index.candidates(query, k, among);
      const rows = this.#stmt(`rerank${g.id}:${where}`, () => this.#rerankSql(where)).all(
        JSON.stringify(ranked),
        g.id,
        ...filterParams,
        limit,
      ) as ChunkRow[];
      if (rows.length >= limit || ranked.length < k) return rows;
      k *= 4;
    }
  }

  /** Exact nearest chunks: every live, fresh, matching chunk scored, best first. */
  #exactRows(
    g: GenRow,
    q: Buffer,
    where: string,
    filterParams: readonly SqliteValue[],
    limit: number,
  ): ChunkRow[] {
    return this.#keyStmt(`scan${g.id}:${where}`, () => this.#scanSql(g, where)).all(
      q,
      g.id,
      g.id,
      ...filterParams,
      limit,
    ) as ChunkRow[];
  }

  /** The share of the documents table a filter keeps (0 to 1). */
  #filterShare(where: string, params: readonly SqliteValue[]): number {
    const t = this.#t;
    const row = this.#stmt(
      `share:${where}`,
      () =>
        `SELECT (SELECT count(*) FROM ${t.docs} d WHERE 1${where}) AS kept, (SELECT count(*) FROM ${t.docs}) AS total`,
    ).get(...params) as { kept: number; total: number };
    return row.total === 0 ? 0 : row.kept / row.total;
  }

  #chunkCount(g: GenRow): number {
    return this.#stmt('chunkCount', () => `SELECT count(*) FROM ${this.#t.chunks} WHERE gen = ?`)
      .pluck()
      .get(g.id) as number;
  }

  /**
   * A quantized generation's candidates: `k` nearest by the quantized
   * column, re-ranked by exact cosine distance over their float vectors.
   * Returns `[chunk id, distance]`, best first.
   */
  #candidates(g: GenRow, query: Float32Array, k: number): (readonly [number, number])[] {
    const t = this.#t;
    const ids = this.#stmt(
      `cand${g.id}`,
      () => `SELECT rowid FROM ${t.vec(g.id)} WHERE embedding MATCH vec_int8(?) AND k = ?`,
    )
      .pluck()
      .all(quantize('int8', query), k) as number[];
    if (ids.length === 0) return [];
    const blobs = this.#stmt(
      `full${g.id}`,
      () => `SELECT id, v FROM ${t.full(g.id)} WHERE id IN (SELECT value FROM json_each(?))`,
    )
      .raw()
      .all(JSON.stringify(ids)) as [number, Buffer][];
    return rescore(query, blobs);
  }

  /** The search plan: KNN first (materialized, run once), then the joins. Exposed for EXPLAIN in tests. */
  knnSql(gen: string, filterWhere?: string): string {
    const g = this.#liveGen(gen);
    const where = filterWhere ? ` AND (${filterWhere})` : '';
    return g.quantization ? this.#rerankSql(where) : this.#knnSql(g, where);
  }

  #knnSql(g: GenRow, where: string): string {
    return this.#joinSql(
      `SELECT rowid AS id, distance FROM ${this.#t.vec(g.id)} WHERE embedding MATCH ? AND k = ?`,
      where,
    );
  }

  /** Joins rescored candidates, bound as a JSON array of `[chunk id, distance]`. */
  #rerankSql(where: string): string {
    return this.#joinSql(
      'SELECT value ->> 0 AS id, value ->> 1 AS distance FROM json_each(?)',
      where,
    );
  }

  /** Joins nearest chunks (`knnSource` yields `id, distance`) back to live, freshly stamped rows. */
  #joinSql(knnSource: string, where: string): string {
    const s = this.schema;
    const t = this.#t;
    return `WITH knn AS MATERIALIZED (
        ${knnSource}
      )
      SELECT c.doc AS doc, c.chunk_index AS chunkIndex, c.start AS start, c."end" AS "end", knn.distance AS distance
      FROM knn
      JOIN ${t.chunks} c ON c.id = knn.id
      JOIN ${t.docs} d ON d.${quoted(s.idColumn)} = c.doc
      LEFT JOIN ${t.stamps} s ON s.gen = ? AND s.doc = d.${quoted(s.idColumn)}
      WHERE ${coveredSql(this.#n, SQLITE)}${where}
      ORDER BY knn.distance
      LIMIT ?`;
  }

  #scanSql(g: GenRow, where: string): string {
    const s = this.schema;
    const t = this.#t;
    // A quantized generation keeps its exact vectors in the plain float table.
    const vectors = g.quantization
      ? `${t.full(g.id)} v ON v.id = c.id`
      : `${t.vec(g.id)} v ON v.rowid = c.id`;
    const column = g.quantization ? 'v.v' : 'v.embedding';
    // Driven from the documents table, in this order (CROSS JOIN fixes it):
    // the filter and the freshness predicate prune rows before any vector
    // is read, and each vector is fetched by its rowid.
    return `SELECT c.doc AS doc, c.chunk_index AS chunkIndex, c.start AS start, c."end" AS "end",
        vec_distance_cosine(${column}, ?) AS distance
      FROM ${t.docs} d
      CROSS JOIN ${t.stamps} s ON s.gen = ? AND s.doc = d.${quoted(s.idColumn)}
      CROSS JOIN ${t.chunks} c ON c.gen = ? AND c.doc = d.${quoted(s.idColumn)}
      CROSS JOIN ${vectors}
      WHERE ${coveredSql(this.#n, SQLITE)}${where}
      ORDER BY distance
      LIMIT ?`;
  }

  /**
   * The full-text query for hybrid search: the query's rare words — those
   * found in at most 5 % of the indexed documents, the 8 rarest — joined
   * with OR. Common words carry little BM25 weight (FTS5's IDF falls to ~0
   * at half the documents) yet make FTS5 score every document containing
   * them: "the" in a natural-language query would score most of the table.
   * The vector side already covers what the text means; the text side is
   * there for rare, exact words (names, codes, jargon). When every word is
   * common, documents must contain all of them (AND), as Lucene's
   * common-terms query does, which keeps the scored set small.
   */
  #textQuery(text: string): string | null {
    const terms = ftsTerms(text);
    if (terms.length === 0) return null;
    const t = this.#t;
    const total = this.#stmt('ftsTotal', () => `SELECT count(*) FROM ${t.fts}_docsize`)
      .pluck()
      .get() as number;
    const df = this.#stmt('ftsDf', () => `SELECT doc FROM ${t.fts}_vocab WHERE term = ?`).pluck();
    const withDf = terms.map((term) => ({ term, n: (df.get(term) as number | undefined) ?? 0 }));
    withDf.sort((a, b) => a.n - b.n);
    const rare = withDf.filter((x) => x.n * 20 <= total).slice(0, 8);
    if (rare.length > 0) return ftsMatch(rare.map((x) => x.term));
    return ftsMatch(
      withDf.slice(0, 8).map((x) => x.term),
      'AND',
    );
  }

  /** Reciprocal-rank fusion of the vector hits with full-text hits, one hit per document. */
  #fuse(
    g: GenRow,
    hits: Hit<SqliteKey>[],
    text: string,
    limit: number,
    filter: SqliteFilter | undefined,
  ): Hit<SqliteKey>[] {
    return fuseHybrid(hits, this.#textDocs(g, text, limit * 2, filter), limit);
  }

  /**
   * The full-text side alone, for a query the generation's encoder cannot
   * embed (a word its vocabulary lacks, an identifier, an emoji) or cannot
   * reach: documents ranked by FTS5, only from existing rows with a current
   * stamp of `gen`, scored as hybrid search scores a full-text-only match.
   * Throws (`code: 'NO_FULL_TEXT'`) when the store was opened with `fullText: false`.
   */
  queryFullText(
    gen: string,
    text: string,
    limit: number,
    opts: Omit<QueryOptions<SqliteFilter>, 'text' | 'hybrid'> = {},
  ): Hit<SqliteKey>[] {
    const g = this.#liveGen(gen);
    if (!Number.isSafeInteger(limit) || limit < 1)
      throw new RangeError(`limit must be a positive integer, got ${limit}`);
    opts.signal?.throwIfAborted();
    if (!this.schema.fullText) {
      // No full-text side: a search must not mistake that for "no match".
      throw new VecfillError(
        'NO_FULL_TEXT',
        'this store was opened with fullText: false, so it has no full-text index to answer a query without a vector',
      );
    }
    return fuseHybrid([], this.#textDocs(g, text, limit, opts.filter), limit);
  }

  /** Up to `want` documents matching `text` in FTS5, best first, fresh for `g` (widening past stale rows). */
  #textDocs(g: GenRow, text: string, want: number, filter: SqliteFilter | undefined): SqliteKey[] {
    const match = this.#textQuery(text);
    if (match === null) return [];
    const s = this.schema;
    const t = this.#t;
    const where = filter ? ` AND (${filter.where})` : '';
    // Rank the full-text matches first (materialized, limited), then join
    // only those back, in that order (CROSS JOIN fixes SQLite's join
    // order: left alone, it may scan every stamp of the generation first);
    // widen like the vector window when stale, deleted or filtered-out
    // rows take up places.
    const st = this.#keyStmt(
      `fts:${where}`,
      () =>
        `WITH m AS MATERIALIZED (
           SELECT rowid AS id, rank FROM ${t.fts} WHERE ${t.fts} MATCH ? ORDER BY rank LIMIT ?
         )
         SELECT k.doc FROM m
         CROSS JOIN ${t.keys} k ON k.id = m.id
         CROSS JOIN ${t.docs} d ON d.${quoted(s.idColumn)} = k.doc
         CROSS JOIN ${t.stamps} s ON s.gen = ? AND s.doc = d.${quoted(s.idColumn)}
         WHERE ${coveredSql(this.#n, SQLITE)} AND s.chunks > 0${where}
         ORDER BY m.rank
         LIMIT ?`,
    ).pluck();
    const matches = this.#stmt(
      'ftsCount',
      () => `SELECT count(*) FROM ${t.fts} WHERE ${t.fts} MATCH ?`,
    ).pluck();
    let total: number | undefined;
    let textDocs: SqliteKey[] = [];
    for (let window = want * 2; ; window *= 4) {
      textDocs = (st.all(match, window, g.id, ...(filter?.params ?? []), want) as SqliteKey[]).map(
        keyOf,
      );
      if (textDocs.length >= want) break;
      total ??= matches.get(match) as number;
      if (window >= total) break;
    }
    return textDocs;
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
    generation: Generation,
    state: 'building' | 'active' = 'building',
    options: GenerationOptions = {},
  ): GenerationInfo<string> {
    checkGenerationKey(gen);
    validateGeneration(generation);
    const { quantization, oversample } = validateOptions(options);
    const fp = fingerprint(generation);
    const t = this.#t;
    const run = this.db.transaction((): GenRow => {
      const existing = this.db.prepare(`SELECT * FROM ${t.gens} WHERE key = ?`).get(gen) as
        | GenRow
        | undefined;
      if (existing) {
        checkExistingGeneration(existing, gen, generation, fp);
        if (options.quantization !== undefined && existing.quantization !== quantization) {
          throw new GenerationConflictError(
            gen,
            `index ${existing.quantization ?? 'float (no quantization)'}, not ${quantization}; use a new generation key to re-index with another quantization`,
          );
        }
        if (options.oversample !== undefined && !existing.quantization) {
          throw new TypeError(
            `oversample applies to a quantized generation; ${JSON.stringify(gen)} uses exact float search`,
          );
        }
        if (options.oversample !== undefined) {
          // Oversampling only changes how search reads the index: it may change.
          this.db
            .prepare(`UPDATE ${t.gens} SET oversample = ? WHERE id = ?`)
            .run(oversample, existing.id);
        }
        if (!existing.reclaimed) return this.#gen(gen);
        this.#setState(existing.key, state);
        this.db
          .prepare(`UPDATE ${t.gens} SET reclaimed = 0, centre = NULL WHERE id = ?`)
          .run(existing.id);
        this.#createVec(this.#gen(gen));
        return this.#gen(gen);
      }
      if (options.oversample !== undefined && !quantization) {
        throw new TypeError('oversample applies to a quantized generation; set quantization too');
      }
      try {
        this.db
          .prepare(
            `INSERT INTO ${t.gens} (key, generation, fingerprint, dimensions, state, quantization, oversample) VALUES (?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            gen,
            JSON.stringify(generation),
            fp,
            generation.dimensions,
            state,
            quantization ?? null,
            quantization ? oversample : null,
          );
      } catch (e) {
        throw this.#stateConflict(e, gen, state);
      }
      const row = this.#gen(gen);
      this.#createVec(row);
      return row;
    });
    return toInfo(run.immediate());
  }

  #createVec(g: GenRow): void {
    const d = Math.floor(g.dimensions);
    const q = g.quantization;
    if (!q) {
      this.db.exec(
        `CREATE VIRTUAL TABLE IF NOT EXISTS ${this.#t.vec(g.id)} USING vec0(embedding float[${d}] distance_metric=cosine)`,
      );
      return;
    }
    // Binary codes: a plain table (see #candidates); int8: a cosine vec0 table.
    const index =
      q === 'binary'
        ? `CREATE TABLE IF NOT EXISTS ${this.#t.vec(g.id)} (id INTEGER PRIMARY KEY, embedding BLOB NOT NULL)`
        : `CREATE VIRTUAL TABLE IF NOT EXISTS ${this.#t.vec(g.id)} USING vec0(embedding ${columnType(d)} distance_metric=cosine)`;
    this.db.exec(`
      ${index};
      CREATE TABLE IF NOT EXISTS ${this.#t.full(g.id)} (id INTEGER PRIMARY KEY, v BLOB NOT NULL);
    `);
  }

  #setState(key: string, state: GenerationState): void {
    try {
      this.#stmt('setState', () => setStateSql(this.#n, slots(SQLITE))).run({ state, key });
    } catch (e) {
      throw this.#stateConflict(e, key, state);
    }
  }

  #stateConflict(e: unknown, gen: string, state: string): unknown {
    if (!SQLITE.isUniqueViolation(e)) return e;
    const other = this.db
      .prepare(`SELECT key FROM ${this.#t.gens} WHERE state = ?`)
      .pluck()
      .get(state) as string | undefined;
    return stateConflict(gen, state, other);
  }

  generations(): GenerationInfo<string>[] {
    return (this.db.prepare(`SELECT * FROM ${this.#t.gens} ORDER BY id`).all() as GenRow[]).map(
      toInfo,
    );
  }

  /** How much of the documents table `gen` covers, by the shared freshness predicate. */
  coverage(gen: string): Coverage {
    const g = this.#gen(gen);
    const row = this.#stmt('coverage', () => coverageSql(this.#n, SQLITE, slots(SQLITE))).get({
      gen: g.id,
    }) as { total: number; embedded: number; skipped: number };
    return coverageOf(row, Boolean(g.reclaimed));
  }

  /**
   * Why `gen`'s current skip stamps were saved, most frequent reason first
   * (blank documents are not listed).
   */
  skipReasons(gen: string): SkipReason[] {
    const g = this.#gen(gen);
    if (g.reclaimed) return [];
    return this.#stmt('skipReasons', () => skipReasonsSql(this.#n, SQLITE, slots(SQLITE))).all({
      gen: g.id,
    }) as SkipReason[];
  }

  /**
   * Forgets `gen`'s skip stamps (documents stamped with no vectors), so the
   * next fill tries them again: skips saved after encoder errors, and those
   * of stores written before skip reasons were kept. Blank documents are
   * among them; the fill re-stamps those without calling the encoder.
   * Returns how many became pending.
   */
  resetSkipped(gen: string): number {
    const g = this.#liveGen(gen);
    return this.#stmt('resetSkipped', () => resetSkippedSql(this.#n, slots(SQLITE))).run({
      gen: g.id,
    }).changes;
  }

  /**
   * Makes `gen` the single active generation and retires every other live
   * one, in one transaction. Refuses with `UncoveredError` while any document
   * is not covered, so search never loses documents at the switch, and with
   * `TooManySkippedError` when it embedded nothing or skipped more than
   * `maxSkippedShare` (default 1 %) of the documents after encoder errors,
   * unless `force`. A binary generation is re-centred first (`recenter`, in
   * short transactions of its own), so the switch itself stays short.
   */
  activate(gen: string, options: ActivateOptions = {}): void {
    const check = (): GenRow => {
      const g = this.#liveGen(gen);
      const { backlog, embedded } = this.coverage(gen);
      if (backlog > 0) throw new UncoveredError(gen, backlog, uncoveredNext(g.state));
      checkSkippedShare(gen, embedded, this.skipReasons(gen), options);
      return g;
    };
    // A complete binary generation gets its codes centred on its own mean;
    // refused activations do no such work.
    if (check().quantization === 'binary') this.recenter(gen);
    const run = this.db.transaction(() => {
      const g = check();
      this.#stmt('retireOthers', () => retireOthersSql(this.#n, slots(SQLITE))).run({ gen: g.id });
      this.#setState(gen, 'active');
    });
    run.immediate();
  }

  /**
   * Re-centres a binary generation's codes on the mean of its vectors: each
   * bit then says whether a component is above that mean, not above zero.
   * Embeddings that share a dominant direction (most sentence encoders'
   * vectors do) otherwise get nearly identical sign bits, and recall drops.
   * `activate` runs it for a binary generation; call it yourself after
   * filling a generation created active. No-op for other generations or
   * when empty. Returns the number of codes rewritten.
   *
   * It never holds the write lock for long, so the application's own
   * writers keep going: the mean is computed by reading the float vectors
   * page by page (memory independent of the row count), the new centre is published in
   * one short transaction (searches code queries against it from then on,
   * and new saves use it), and the stored codes are rewritten in
   * transactions of `RECENTER_BATCH` rows, each followed by a pause half as
   * long as it held the lock, so a waiting writer gets its turn. Scores stay exact throughout
   * (candidates are rescored with the float vectors); only which candidates
   * a fallback scan of the stored codes picks can differ until it finishes.
   */
  recenter(gen: string): number {
    const g = this.#liveGen(gen);
    if (g.quantization !== 'binary') return 0;
    const t = this.#t;
    // Pages by id (keyset), each read on its own: memory stays one page.
    const page = this.db
      .prepare(`SELECT id, v FROM ${t.full(g.id)} WHERE id > ? ORDER BY id LIMIT ?`)
      .raw();
    const sum = new Float64Array(g.dimensions);
    let n = 0;
    for (let after = -1; ; ) {
      const rows = page.all(after, RECENTER_BATCH) as [number, Buffer][];
      for (const [, blob] of rows) {
        const v = floats(blob);
        for (let i = 0; i < sum.length; i++) sum[i]! += v[i]!;
      }
      n += rows.length;
      if (rows.length < RECENTER_BATCH) break;
      after = rows.at(-1)![0];
    }
    if (n === 0) return 0;
    const centre = Float32Array.from(sum, (x) => x / n);
    const blob = f32(centre);
    // Publishing resets the change log (every reader reloads); trim it
    // first in short steps so the publishing transaction stays short.
    this.#scans.log.trimInSteps(g.id);
    this.db
      .transaction(() => {
        this.db.prepare(`UPDATE ${t.gens} SET centre = ? WHERE id = ?`).run(blob, g.id);
        this.#bumpWrites(g);
        this.#scans.log.reset(g.id);
      })
      .immediate();
    const update = this.db.prepare(`UPDATE ${t.vec(g.id)} SET embedding = ? WHERE id = ?`);
    const current = this.db.prepare(`SELECT centre FROM ${t.gens} WHERE id = ?`).pluck();
    let after = -1;
    let rewritten = 0;
    const batch = this.db.transaction((): number => {
      // Another recenter published another centre: it rewrites every code.
      const now = current.get(g.id) as Buffer | null;
      if (!now?.equals(blob)) return -1;
      const rows = page.all(after, RECENTER_BATCH) as [number, Buffer][];
      for (const [id, v] of rows) update.run(quantize('binary', floats(v), centre), id);
      if (rows.length > 0) {
        after = rows.at(-1)![0];
        this.#bumpWrites(g);
      }
      return rows.length;
    });
    for (;;) {
      const started = performance.now();
      const done = batch.immediate();
      if (done < 0) break;
      rewritten += done;
      if (done < RECENTER_BATCH) break;
      // SQLite's lock has no queue: a waiting writer polls on a backoff, and
      // back-to-back batches would starve it. Leave the lock free for half
      // as long as each batch held it.
      sleepSync(Math.max(2, (performance.now() - started) / 2));
    }
    return rewritten;
  }

  /**
   * Takes `gen` out of search. Its vectors stay until `reclaim`. The active
   * generation is the one complete index search has: retiring it is refused
   * with `LifecycleError` unless `{ force: true }` (activate another one
   * instead; that retires it safely).
   */
  retire(gen: string, opts: { force?: boolean } = {}): void {
    const run = this.db.transaction(() => {
      const g = this.#gen(gen);
      if (g.state === 'active' && !opts.force) throw refuseRetireActive(gen);
      this.#setState(gen, 'retired');
    });
    run.immediate();
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
    const run = this.db.transaction(() => {
      const g = this.#gen(gen);
      checkReopen(gen, g.state, Boolean(g.reclaimed));
      this.#setState(gen, 'building');
    });
    run.immediate();
  }

  /** Drops a retired generation's vec0 table, chunk rows and stamps. */
  reclaim(gen: string): void {
    const run = this.db.transaction(() => {
      const g = this.#gen(gen);
      checkReclaimable(gen, g.state);
      if (g.reclaimed) return;
      this.db.exec(`DROP TABLE IF EXISTS ${this.#t.vec(g.id)}`);
      this.db.exec(`DROP TABLE IF EXISTS ${this.#t.full(g.id)}`);
      this.#bumpWrites(g);
      this.#scans.log.forget(g.id);
      this.#scans.drop(g.id);
      for (const sql of reclaimSql(this.#n, SQLITE, slots(SQLITE)))
        this.db.prepare(sql).run({ gen: g.id });
      this.#cursor.forget(g.id);
      for (const key of [...this.#statements.keys()])
        if (key.includes(String(g.id))) this.#statements.delete(key);
    });
    run.immediate();
  }

  /** Removes a document's vectors, stamps and full-text row in every generation. */
  deleteVectors(doc: SqliteKey): void {
    this.db.transaction(() => this.#forget(doc)).immediate();
  }

  /** `deleteVectors` inside the caller's transaction. */
  #forget(doc: SqliteKey): void {
    for (const g of this.db.prepare(`SELECT * FROM ${this.#t.gens}`).all() as GenRow[])
      this.#dropChunks(g, doc);
    this.db.prepare(`DELETE FROM ${this.#t.stamps} WHERE doc = ?`).run(doc);
    if (this.schema.fullText) {
      const id = this.db.prepare(`SELECT id FROM ${this.#t.keys} WHERE doc = ?`).pluck().get(doc);
      if (id !== undefined) {
        this.db.prepare(`DELETE FROM ${this.#t.fts} WHERE rowid = ?`).run(id);
        this.db.prepare(`DELETE FROM ${this.#t.keys} WHERE id = ?`).run(id);
      }
    }
  }

  /**
   * Incremental prune, run by every save inside its transaction: looks at
   * the next `budget` stamps of `g` (in key order, from where the previous
   * look stopped; the position is kept in the database, so fills that are
   * interrupted again and again still get through every stamp) and forgets
   * the documents whose rows are gone. Orphans of rows deleted outside
   * vecfill are so freed as fills go, not only when one completes (`prune`).
   */
  #pruneSome(g: GenRow, budget: number): void {
    const s = this.schema;
    const t = this.#t;
    const probe = (after: boolean) =>
      `SELECT st.doc AS doc, EXISTS (SELECT 1 FROM ${t.docs} d WHERE d.${quoted(s.idColumn)} = st.doc) AS live
       FROM ${t.stamps} st WHERE st.gen = ?${after ? ' AND st.doc > ?' : ''} ORDER BY st.doc LIMIT ?`;
    const after = this.#keyStmt(
      'pruneAfterOf',
      () => `SELECT prune_after FROM ${t.gens} WHERE id = ?`,
    )
      .pluck()
      .get(g.id) as SqliteKey | null;
    const rows = (
      after === null
        ? this.#keyStmt('pruneHead', () => probe(false)).all(g.id, budget)
        : this.#keyStmt('pruneNext', () => probe(true)).all(g.id, after, budget)
    ) as { doc: SqliteKey; live: number | bigint }[];
    for (const r of rows) if (!Number(r.live)) this.#forget(r.doc);
    this.#stmt('pruneAt', () => `UPDATE ${t.gens} SET prune_after = ? WHERE id = ?`).run(
      rows.length < budget ? null : rows.at(-1)!.doc,
      g.id,
    );
  }

  /**
   * Removes vectors of documents whose rows no longer exist (deleted by the
   * caller outside vecfill). They are never returned anyway; this frees the
   * space. Returns how many documents were pruned.
   */
  prune(): number {
    const gone = this.db
      .prepare(orphanDocsSql(this.#n))
      .safeIntegers(true)
      .pluck()
      .all() as SqliteKey[];
    for (const doc of gone) this.deleteVectors(doc);
    return gone.length;
  }

  /** Chunk count, vector bytes and quantized index bytes of a generation. */
  stats(gen: string): GenerationStats {
    const g = this.#gen(gen);
    const chunks = this.#chunkCount(g);
    const q = g.quantization;
    const skippedChunks = this.#stmt('skippedChunks', () =>
      skippedChunksSql(this.#n, SQLITE, slots(SQLITE)),
    )
      .pluck()
      .get({ gen: g.id }) as number;
    return {
      chunks,
      skippedChunks: g.reclaimed ? 0 : skippedChunks,
      vectorBytes: chunks * g.dimensions * 4,
      indexBytes: q ? chunks * quantizedBytes(q, g.dimensions) : 0,
      ...(q ? { quantization: q } : {}),
      scan: g.reclaimed ? { scan: 'sqlite-vec', residentBytes: 0 } : this.#scans.status(g, chunks),
    };
  }
}

interface Tables {
  docs: string;
  gens: string;
  chunks: string;
  stamps: string;
  keys: string;
  leases: string;
  fts: string;
  vec: (id: number) => string;
  /** The float32 vectors of a quantized generation, for rescoring. */
  full: (id: number) => string;
}

function toInfo(row: GenRow): GenerationInfo<string> {
  return {
    ...generationInfo(row),
    ...(row.quantization
      ? {
          quantization: row.quantization,
          oversample: row.oversample ?? defaultOversample(row.quantization),
          ...(row.quantization === 'binary' ? { centred: row.centre !== null } : {}),
        }
      : {}),
  };
}

function validateOptions(options: GenerationOptions): {
  quantization: Quantization | undefined;
  oversample: number;
} {
  const { quantization, oversample } = options;
  if (quantization !== undefined && !QUANTIZATIONS.includes(quantization)) {
    throw new TypeError(
      `quantization must be one of ${QUANTIZATIONS.join(', ')} (or absent for exact float search), got ${JSON.stringify(quantization)}`,
    );
  }
  if (oversample !== undefined && (!Number.isSafeInteger(oversample) || oversample < 1)) {
    throw new RangeError(`oversample must be a positive integer, got ${String(oversample)}`);
  }
  return {
    quantization,
    oversample: oversample ?? (quantization ? defaultOversample(quantization) : 1),
  };
}

/** SQLite's affinity rules for a declared column type, as a type name for our key columns. */
function affinityOf(declared: string): string {
  const t = declared.toUpperCase();
  if (t.includes('INT')) return 'INTEGER';
  if (t.includes('CHAR') || t.includes('CLOB') || t.includes('TEXT')) return 'TEXT';
  if (t === '' || t.includes('BLOB')) return '';
  if (t.includes('REAL') || t.includes('FLOA') || t.includes('DOUB')) return 'REAL';
  return 'NUMERIC';
}

function f32(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/**
 * A key or revision read with safe integers, as the store hands it out: a
 * number when it fits one exactly (so existing callers keep getting
 * numbers), a bigint only above 2^53 − 1 or below −(2^53 − 1).
 */
function keyOf<T>(v: T): T | number {
  return typeof v === 'bigint' && v <= MAX_SAFE && v >= -MAX_SAFE ? Number(v) : v;
}
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Whether process `pid` runs on this machine (a process of another user counts). */
function processRuns(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Blocks the thread for `ms` milliseconds (the store's API is synchronous). */
function sleepSync(ms: number): void {
  Atomics.wait(SLEEPER, 0, 0, ms);
}
const SLEEPER = new Int32Array(new SharedArrayBuffer(4));

/** A page of pending rows with keys and revisions as the store hands them out (`keyOf`). */
function normalize(page: Pending<SqliteKey>[]): Pending<SqliteKey>[] {
  for (const r of page) {
    r.doc = keyOf(r.doc);
    if (r.revision !== undefined) r.revision = keyOf(r.revision);
  }
  return page;
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (Buffer.isBuffer(content)) return content.toString('utf8');
  return String(content);
}
