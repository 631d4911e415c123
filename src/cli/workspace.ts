import type Database from 'better-sqlite3';
import { validateIdentifier } from '../core/identifier.js';
import { fingerprint, VecfillError } from '../core/index.js';
import type { Encoder } from '../encoders/index.js';
import type { SqliteGenerationOptions as GenerationOptions } from '../sqlite/index.js';
import {
  type Backend,
  type BackendStore,
  type CliFilter,
  type CliKey,
  type CliStore,
  contentOf,
  dropVectorTables,
  equalityFilter,
  openBackend,
  vectorCount,
} from './backends.js';
import { buildEncoder, type EncoderLog } from './build-encoder.js';
import type { Context } from './context.js';
import type { EncoderSettings } from './encoder-settings.js';
import { CliError, EXIT } from './errors.js';
import { defaultGenerationKey } from './generation-name.js';
import { cliSecrets, connectionSecrets, redactConnectionString } from './redact.js';
import { type SavedSettings, Settings, type TableConfig } from './settings.js';

/** How a command opens its database. */
export interface WorkspaceOptions {
  /** Create a missing SQLite file (index, watch, demo); otherwise it is refused. */
  create?: boolean;
  /** `--vectors-prefix`: which of the database's tables to work on. */
  vectorsPrefix?: string;
  /** Where encoders tell what they are doing (the command's stderr); quiet with `json`. */
  log?: EncoderLog;
}

/** Encoders stay quiet unless the command gives them its streams. */
const SILENT: EncoderLog = { json: true, err: () => {} };

/**
 * An open vecfill database: the store over the configured table, the saved
 * settings and the encoders of its generations. Commands reach the database
 * only through this (and, for backend-only features, its store).
 */
export class Workspace {
  /** Where the database is, fit to print: a connection string's passwords are masked. */
  readonly path: string;
  readonly #backend: Backend;
  readonly #settings: Settings;
  readonly #log: EncoderLog;
  readonly #encoders = new Map<string, Promise<Encoder>>();
  #store: BackendStore | undefined;
  #leaseMs: number | undefined;
  #oneQuery = false;

  private constructor(path: string, backend: Backend, settings: Settings, log: EncoderLog) {
    this.path = redactConnectionString(path);
    this.#backend = backend;
    this.#settings = settings;
    this.#log = log;
  }

  /**
   * Opens `path`: a SQLite file (refused when missing unless `create`) or a
   * `postgres://` URL (PostgreSQL with pgvector; needs the `pg` package).
   */
  static async open(path: string, opts: WorkspaceOptions = {}): Promise<Workspace> {
    // Wherever the location came from (a flag, a saved setting), its
    // passwords are masked in everything the CLI writes from here on.
    for (const secret of connectionSecrets(path)) cliSecrets.add(secret);
    const backend = await openBackend(path, opts.create ?? false);
    if (opts.vectorsPrefix !== undefined) {
      try {
        validatePrefix(opts.vectorsPrefix, backend.kind, '--vectors-prefix');
      } catch (e) {
        await backend.close();
        throw e;
      }
    }
    const settings = await Settings.open(backend, redactConnectionString(path), opts.vectorsPrefix);
    return new Workspace(path, backend, settings, opts.log ?? SILENT);
  }

  /** Opens the database a command names with `--db`, its encoders writing to the command's stderr. */
  static forCommand(
    opts: { db: string; vectorsPrefix?: string },
    create: boolean,
    ctx: Pick<Context, 'json' | 'err'>,
  ): Promise<Workspace> {
    return Workspace.open(opts.db, {
      create,
      log: ctx,
      ...(opts.vectorsPrefix !== undefined ? { vectorsPrefix: opts.vectorsPrefix } : {}),
    });
  }

  /** The prefix of the vector tables of the table this workspace embeds. */
  get vectorsPrefix(): string {
    return this.#settings.vectorsPrefix;
  }

  get kind(): 'sqlite' | 'postgres' {
    return this.#backend.kind;
  }

  /** The SQLite connection; commands that only work on SQLite files say so for a Postgres URL. */
  get db(): Database.Database {
    if (!this.#backend.sqlite) {
      throw new CliError(
        'this command works on SQLite files only; use `vecfill fill --table …` with a postgres:// URL',
        EXIT.usage,
      );
    }
    return this.#backend.sqlite;
  }

  /** The vectors prefixes of every table this database has settings for. */
  savedPrefixes(): Promise<string[]> {
    return this.#settings.savedPrefixes();
  }

  tableConfig(): Promise<TableConfig | undefined> {
    return this.#settings.table();
  }

  /** Validates and saves the table settings; refuses to silently switch an already configured database to another table. */
  async configureTable(cfg: TableConfig, replace = false): Promise<void> {
    for (const [role, name] of Object.entries({
      id: cfg.id,
      content: cfg.content,
      revision: cfg.revision,
    })) {
      if (name === undefined) continue;
      try {
        validateIdentifier(name, `--${role}`);
      } catch (e) {
        throw new CliError((e as Error).message, EXIT.usage);
      }
    }
    for (const [role, name] of Object.entries({ table: cfg.table, prefix: cfg.prefix }))
      validatePrefix(name, this.kind, `--${role}`);
    const saved = await this.tableConfig();
    const prefix = this.vectorsPrefix;
    cfg = { ...cfg, prefix };
    if (
      !replace &&
      saved &&
      (saved.table !== cfg.table || saved.id !== cfg.id || saved.content !== cfg.content)
    ) {
      throw new CliError(
        `this database embeds table ${saved.table}(${saved.id}, ${saved.content}) under --vectors-prefix ${prefix}; to embed another table in the same database give it its own prefix (e.g. --vectors-prefix ${cfg.table.replace(/\W/g, '_')}_vec), or see \`vecfill config\` to change or reset the saved settings`,
        EXIT.usage,
      );
    }
    // Open the store over the new settings before saving them: a missing
    // column or a non-unique id column is refused with nothing saved. It
    // leases like the store `store()` opens (two `index` runs share the work).
    let store: BackendStore;
    try {
      store = await this.#backend.openStore(cfg, {
        leaseMs: this.#leaseMs,
        oneQuery: this.#oneQuery,
      });
    } catch (e) {
      throw new CliError(
        (e as Error).message,
        EXIT.usage,
        e instanceof VecfillError ? e.code : undefined,
      );
    }
    await this.#settings.saveTable(cfg);
    this.#store = store;
  }

  /** Everything saved for this workspace's table: its settings and each generation's encoder. */
  savedSettings(): Promise<SavedSettings> {
    return this.#settings.all();
  }

  /** The folder `vecfill index` reads into this database, once it has indexed one. */
  savedRoot(): Promise<string | undefined> {
    return this.#settings.root();
  }

  saveRoot(root: string): Promise<void> {
    return this.#settings.saveRoot(root);
  }

  /** How many chunks this table's vector tables hold (0 when they do not exist). */
  async vectorCount(): Promise<number> {
    await this.#settings.slot();
    return vectorCount(this.#backend, this.vectorsPrefix);
  }

  /**
   * Forgets this table's saved settings; with `dropVectors`, also drops its
   * vector tables (never the documents table). The caller checks first.
   */
  async resetSettings(dropVectors: boolean): Promise<string[]> {
    await this.#settings.slot();
    const dropped: string[] = [];
    if (dropVectors) {
      const b =
        this.kind === 'postgres' ? await this.backendStore().catch(() => undefined) : undefined;
      if (b?.kind === 'postgres') {
        try {
          await b.store.uninstallTrigger();
        } catch {
          // the documents table may be gone; nothing to uninstall then
        }
      }
      dropped.push(...(await dropVectorTables(this.#backend, this.vectorsPrefix)));
    }
    await this.#settings.forget();
    this.#store = undefined;
    this.#encoders.clear();
    return dropped;
  }

  /**
   * Makes the store lease the documents each scan returns for `ms`, so
   * several followers on one table share the backlog. Call before `store()`.
   */
  useLeases(ms: number): void {
    this.#leaseMs = ms;
    this.#store = undefined;
  }

  /**
   * This process answers one query and exits: SQLite float generations are
   * searched with sqlite-vec's KNN rather than loaded into memory first (a
   * load pays off over many searches, not one). Call before `store()`.
   */
  useOneQuery(): void {
    this.#oneQuery = true;
    this.#store = undefined;
  }

  /** The store over the configured table: the core contract every command uses. */
  async store(): Promise<CliStore> {
    return (await this.backendStore()).store;
  }

  /** The store with its backend, for the features only one backend has (see {@link BackendStore}). */
  async backendStore(): Promise<BackendStore> {
    if (this.#store) return this.#store;
    const cfg = await this.tableConfig();
    if (!cfg) {
      throw new CliError(
        `${this.path} is not set up for vecfill yet; run \`vecfill index <folder> --db ${this.path}\` or \`vecfill fill --db ${this.path} --table T --id ID --content COL\``,
        EXIT.notFound,
      );
    }
    try {
      this.#store = await this.#backend.openStore(cfg, {
        leaseMs: this.#leaseMs,
        oneQuery: this.#oneQuery,
      });
    } catch (e) {
      throw new CliError((e as Error).message, EXIT.notFound);
    }
    return this.#store;
  }

  /** The column names of the configured documents table. */
  async columns(): Promise<string[]> {
    return this.#backend.columns((await this.tableConfig())!.table);
  }

  /**
   * A filter that keeps rows whose columns equal the given values (`null`
   * matches NULL); see {@link equalityFilter}.
   */
  async equalityFilter(
    pairs: Record<string, string | number | boolean | null>,
  ): Promise<CliFilter | undefined> {
    return equalityFilter(this.#backend, (await this.tableConfig())!, pairs);
  }

  /** The content of one document of the configured table. */
  async contentOf(id: CliKey): Promise<string> {
    return contentOf(this.#backend, (await this.tableConfig())!, id);
  }

  sizeBytes(): Promise<number> {
    return this.#backend.sizeBytes();
  }

  saveEncoder(gen: string, settings: EncoderSettings): Promise<void> {
    return this.#settings.saveEncoder(gen, settings);
  }

  async encoderSettings(gen: string): Promise<EncoderSettings> {
    const s = await this.#settings.encoder(gen);
    if (!s) {
      throw new CliError(
        `generation ${gen} has no saved encoder settings; it was not created by the vecfill command`,
        EXIT.notFound,
      );
    }
    return s;
  }

  /** The encoder of a saved generation (built once per process). */
  encoderFor(gen: string): Promise<Encoder> {
    let e = this.#encoders.get(gen);
    if (!e) {
      e = this.encoderSettings(gen).then((s) => buildEncoder(s, this.#log));
      this.#encoders.set(gen, e);
    }
    return e;
  }

  /** Creates (or finds) the generation for `settings` in `state`, and saves its encoder settings. */
  async ensureGeneration(
    settings: EncoderSettings,
    state: 'active' | 'building',
    key?: string,
    options?: GenerationOptions,
  ): Promise<string> {
    if (options && this.kind !== 'sqlite') {
      throw new CliError(
        '--quantization and --oversample work on SQLite databases; on PostgreSQL the HNSW index of pgvector already makes search sublinear',
        EXIT.usage,
      );
    }
    const encoder = await buildEncoder(settings, this.#log);
    const gen =
      key ?? defaultGenerationKey(settings, fingerprint(encoder.generation), options?.quantization);
    const store = await this.store();
    try {
      await store.ensureGeneration(gen, encoder.generation, state, options);
    } catch (e) {
      throw new CliError((e as Error).message, EXIT.refused);
    }
    await this.saveEncoder(gen, settings);
    this.#encoders.set(gen, Promise.resolve(encoder));
    return gen;
  }

  close(): Promise<void> {
    return this.#backend.close();
  }
}

/** A table or prefix name: one identifier, or `schema.name` on Postgres; a usage error otherwise. */
function validatePrefix(name: string, kind: 'sqlite' | 'postgres', role: string): void {
  const parts = name.split('.');
  try {
    if (parts.length > (kind === 'postgres' ? 2 : 1)) validateIdentifier(name, role);
    for (const part of parts) validateIdentifier(part, role);
  } catch (e) {
    throw new CliError((e as Error).message, EXIT.usage);
  }
}
