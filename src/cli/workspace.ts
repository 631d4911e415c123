import { existsSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type Database from 'better-sqlite3';
import {
  type Awaitable,
  fingerprint,
  type Generation,
  type GenerationInfo,
  type LifecycleStore,
  validateIdentifier,
} from '../core/index.js';
import {
  defaultCacheDir,
  type Encoder,
  openAICompatible,
  TRANSFORMERS_DTYPES,
  type TransformersDtype,
  transformers,
  wordVectors,
} from '../encoders/index.js';
import { formatWait } from '../encoders/openai-compatible.js';
import {
  type GenerationOptions,
  openDatabase,
  QUANTIZATIONS,
  type Quantization,
  SqliteStore,
} from '../sqlite/index.js';
import { CliError, EXIT } from './errors.js';
import type { ChunkSettings } from './markdown-split.js';
import { cliSecrets, connectionSecrets, redactConnectionString } from './redact.js';

/** Which table of the database vecfill embeds, saved in the database so later commands need no flags. */
export interface TableConfig {
  table: string;
  id: string;
  content: string;
  revision?: string;
  prefix: string;
}

/** How to re-create a generation's encoder. The API key itself is never saved: only the variable that holds it. */
export type EncoderSettings = EncoderKindSettings & {
  /** How documents are cut into chunks (`--max-chars`, `--overlap`, `--split`); part of the generation's fingerprint. */
  chunking?: ChunkSettings;
};

type EncoderKindSettings =
  | { kind: 'words'; weighting: 'sif' | 'mean' }
  | {
      kind: 'openai';
      baseURL: string;
      model: string;
      dimensions?: number;
      apiKeyEnv: string;
      /** Prepended to document texts (`--text-prefix`). */
      prefix?: string;
      /** Prepended to search queries (`--query-prefix`); default: `prefix`. */
      queryPrefix?: string;
    }
  | {
      kind: 'transformers';
      /** A Hugging Face model id or a local folder. */
      model: string;
      dtype?: TransformersDtype;
      prefix?: string;
      queryPrefix?: string;
    };

/** The flags every command that creates a generation accepts. */
export interface EncoderFlags {
  encoder?: string;
  model?: string;
  baseUrl?: string;
  apiKeyEnv?: string;
  dimensions?: string;
  weighting?: string;
  textPrefix?: string;
  /** Same as `textPrefix` (`--prefix`). */
  prefix?: string;
  queryPrefix?: string;
  dtype?: string;
  maxChars?: string;
  overlap?: string;
  split?: string;
}

/** `--max-chars`, `--overlap` and `--split` as chunk settings (undefined when none is given). */
export function chunkSettingsFrom(flags: EncoderFlags): ChunkSettings | undefined {
  if (flags.maxChars === undefined && flags.overlap === undefined && flags.split === undefined)
    return undefined;
  const out: ChunkSettings = {};
  if (flags.maxChars !== undefined) {
    const n = Number(flags.maxChars);
    if (!Number.isSafeInteger(n) || n < 50)
      throw new CliError(
        `--max-chars must be a whole number of at least 50, got ${flags.maxChars}`,
        EXIT.usage,
      );
    out.maxChars = n;
  }
  if (flags.overlap !== undefined) {
    const n = Number(flags.overlap);
    if (!Number.isSafeInteger(n) || n < 0 || n >= (out.maxChars ?? 1000) / 2)
      throw new CliError(
        `--overlap must be a whole number from 0 to less than half of --max-chars, got ${flags.overlap}`,
        EXIT.usage,
      );
    out.overlap = n;
  }
  if (flags.split !== undefined) {
    if (flags.split !== 'plain' && flags.split !== 'markdown')
      throw new CliError(`--split must be plain or markdown, got ${flags.split}`, EXIT.usage);
    out.split = flags.split;
  }
  return out;
}

/** How a new generation's index is built (`--quantization`, `--oversample`). */
export interface IndexOptionFlags {
  quantization?: string;
  oversample?: string;
}

/** Turns `--quantization` / `--oversample` into store options, refusing nonsense with a usage error. */
export function indexOptionsFrom(flags: IndexOptionFlags): GenerationOptions | undefined {
  if (flags.quantization === undefined && flags.oversample === undefined) return undefined;
  const options: GenerationOptions = {};
  if (flags.quantization !== undefined) {
    if (!QUANTIZATIONS.includes(flags.quantization as Quantization)) {
      throw new CliError(
        `--quantization must be ${QUANTIZATIONS.join(' or ')}, got ${flags.quantization}`,
        EXIT.usage,
      );
    }
    options.quantization = flags.quantization as Quantization;
  }
  if (flags.oversample !== undefined) {
    const n = Number(flags.oversample);
    if (!Number.isSafeInteger(n) || n < 1)
      throw new CliError(
        `--oversample must be a positive integer, got ${flags.oversample}`,
        EXIT.usage,
      );
    options.oversample = n;
  }
  return options;
}

/** The model `--encoder transformers` loads without `--model`. */
export const DEFAULT_TRANSFORMERS_MODEL = 'Xenova/all-MiniLM-L6-v2';

/**
 * The name of the variable that holds the API key. A key pasted where the
 * name belongs (`--api-key-env sk-proj-…`) is refused without repeating it.
 */
export function apiKeyEnvFrom(name: string | undefined): string {
  if (name === undefined) return 'OPENAI_API_KEY';
  if (!isEnvName(name)) {
    cliSecrets.add(name);
    throw new CliError(
      '--api-key-env takes the NAME of an environment variable that holds the key (e.g. --api-key-env OPENAI_API_KEY), not the key itself; the value given is not a variable name (it looks like a key, so it is not repeated here). Put the key in a variable: export OPENAI_API_KEY=…',
      EXIT.usage,
    );
  }
  return name;
}

/** A plausible environment variable name, and not a key that happens to be made of word characters. */
export function isEnvName(name: string): boolean {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name)) return false;
  // Keys such as sk_live_… or 40 mixed-case characters are not names people give variables.
  if (/^(sk|pk|rk|key)_/i.test(name) && /[a-z]/.test(name) && /\d/.test(name)) return false;
  return !(name.length >= 24 && /[a-z]/.test(name) && /[A-Z]/.test(name) && /\d/.test(name));
}

/** Turns command-line flags into encoder settings, refusing nonsense with a usage error. */
export function encoderSettingsFrom(flags: EncoderFlags): EncoderSettings {
  const settings: EncoderSettings = encoderKindFrom(flags);
  const chunking = chunkSettingsFrom(flags);
  if (chunking) settings.chunking = chunking;
  return settings;
}

function encoderKindFrom(flags: EncoderFlags): EncoderSettings {
  const kind = flags.encoder ?? (flags.baseUrl || flags.model ? 'openai' : 'words');
  if (kind === 'words') {
    const weighting = flags.weighting ?? 'sif';
    if (weighting !== 'sif' && weighting !== 'mean') {
      throw new CliError(`--weighting must be sif or mean, got ${weighting}`, EXIT.usage);
    }
    return { kind: 'words', weighting };
  }
  if (kind === 'transformers') {
    const settings: EncoderSettings = {
      kind: 'transformers',
      // A folder is saved as an absolute path, so later commands run from anywhere.
      model: flags.model
        ? /^[.~]|^\//.test(flags.model) || existsSync(flags.model)
          ? resolve(flags.model)
          : flags.model
        : DEFAULT_TRANSFORMERS_MODEL,
    };
    if (flags.dtype !== undefined) {
      if (!TRANSFORMERS_DTYPES.includes(flags.dtype as TransformersDtype))
        throw new CliError(
          `--dtype must be one of ${TRANSFORMERS_DTYPES.join(', ')}, got ${flags.dtype}`,
          EXIT.usage,
        );
      settings.dtype = flags.dtype as TransformersDtype;
    }
    const textPrefix = flags.textPrefix ?? flags.prefix;
    if (textPrefix) settings.prefix = textPrefix;
    if (flags.queryPrefix !== undefined) settings.queryPrefix = flags.queryPrefix;
    return settings;
  }
  if (kind === 'openai') {
    if (!flags.model)
      throw new CliError(
        '--encoder openai needs --model (e.g. --model text-embedding-3-small)',
        EXIT.usage,
      );
    const baseURL = flags.baseUrl ?? 'https://api.openai.com/v1';
    const settings: EncoderSettings = {
      kind: 'openai',
      baseURL,
      model: flags.model,
      apiKeyEnv: apiKeyEnvFrom(flags.apiKeyEnv),
    };
    if (flags.dimensions !== undefined) {
      const d = Number(flags.dimensions);
      if (!Number.isSafeInteger(d) || d <= 0)
        throw new CliError(
          `--dimensions must be a positive integer, got ${flags.dimensions}`,
          EXIT.usage,
        );
      settings.dimensions = d;
    }
    const textPrefix = flags.textPrefix ?? flags.prefix;
    if (textPrefix) settings.prefix = textPrefix;
    if (flags.queryPrefix !== undefined) settings.queryPrefix = flags.queryPrefix;
    return settings;
  }
  throw new CliError(
    `unknown --encoder ${kind}; use words (offline, the default), openai or transformers`,
    EXIT.usage,
  );
}

/** A document key as either backend returns it. */
export type CliKey = string | number | bigint;
/** A `--where` filter: SQL over the documents table, aliased `d`. */
export interface CliFilter {
  where: string;
  params?: readonly (string | number | null)[];
}
/** The store the command line drives: the lifecycle contract plus storage statistics. */
export type CliStore = LifecycleStore<CliKey, string, CliFilter> & {
  stats(gen: string): Awaitable<{
    chunks: number;
    /** Chunks the encoder rejected in documents embedded without them. */
    skippedChunks?: number;
    vectorBytes: number;
    /** Postgres: the generation's ANN index (`hnsw`, or why there is none yet). */
    index?: string;
    indexBytes?: number;
    /** How searches scan the generation and the memory that takes (SQLite). */
    scan?: { scan: string; residentBytes: number; note?: string };
  }>;
  /** Postgres only: progress of an HNSW index build (at the end of a fill, or at activate). */
  onIndexProgress?:
    | ((p: { generation: string; phase: string; done: number; total: number }) => void)
    | undefined;
  /** Postgres only: the change trigger followers LISTEN to. */
  installTrigger?(): Promise<{ channel: string }>;
  uninstallTrigger?(): Promise<void>;
  /** SQLite only: moves a renamed document's vectors to its new key. */
  moveVectors?(from: CliKey, to: CliKey): void;
  /** SQLite only: centres a binary generation's codes on its mean. */
  recenter?(gen: string): Awaitable<number>;
  /** SQLite only: gives back this process's leases (when it leases). */
  releaseLeases?(): Awaitable<number>;
  /** SQLite takes index options (quantization); Postgres has none and is refused before it is called with them. */
  ensureGeneration(
    gen: string,
    generation: Generation,
    state?: 'building' | 'active',
    options?: GenerationOptions,
  ): Awaitable<GenerationInfo<string>>;
};

/** Where the settings and documents live: a SQLite file or a PostgreSQL database. */
interface Backend {
  readonly kind: 'sqlite' | 'postgres';
  query(sql: string, params: unknown[]): Promise<Record<string, unknown>[]>;
  openStore(cfg: TableConfig, leaseMs?: number, oneQuery?: boolean): Promise<CliStore>;
  sizeBytes(): Promise<number>;
  close(): Promise<void>;
  /** The better-sqlite3 connection, for SQLite-only commands. */
  readonly sqlite?: Database.Database;
}

/** The prefix of the vector tables when `--vectors-prefix` is not given. */
export const DEFAULT_VECTORS_PREFIX = 'vecfill';

const isPostgresUrl = (path: string) => /^postgres(ql)?:\/\//.test(path);

/** An open vecfill database: the store, the saved settings and the encoders of its generations. */
export class Workspace {
  /** Where the database is, fit to print: a connection string's passwords are masked. */
  readonly path: string;
  readonly #backend: Backend;
  readonly #encoders = new Map<string, Promise<Encoder>>();
  #store: CliStore | undefined;
  readonly #quiet: boolean;
  #leaseMs: number | undefined;
  #oneQuery = false;
  /** The vector tables' prefix given with `--vectors-prefix`, if any. */
  readonly #askedPrefix: string | undefined;
  /** Which saved settings this workspace uses: '' for the default (`table`, `encoder:<gen>`), `<prefix>:` otherwise. */
  #slot: string | undefined;
  #prefix = DEFAULT_VECTORS_PREFIX;

  private constructor(
    path: string,
    backend: Backend,
    quiet: boolean,
    vectorsPrefix: string | undefined,
  ) {
    this.path = redactConnectionString(path);
    this.#backend = backend;
    this.#quiet = quiet;
    this.#askedPrefix = vectorsPrefix;
  }

  /** The prefix of the vector tables of the table this workspace embeds. */
  get vectorsPrefix(): string {
    return this.#prefix;
  }

  /**
   * Decides which saved settings this run uses. One database can hold several
   * tables, each under its own `--vectors-prefix`; the default prefix keeps
   * the keys of older databases (`table`, `encoder:<gen>`).
   */
  async #resolveSlot(): Promise<string> {
    if (this.#slot !== undefined) return this.#slot;
    const legacy = await this.#getRaw<TableConfig>('table');
    const asked = this.#askedPrefix;
    if (asked !== undefined) {
      if (legacy && (legacy.prefix ?? DEFAULT_VECTORS_PREFIX) === asked) this.#slot = '';
      else this.#slot = asked === DEFAULT_VECTORS_PREFIX && !legacy ? '' : `${asked}:`;
      this.#prefix = asked;
      return this.#slot;
    }
    if (legacy) {
      this.#slot = '';
      this.#prefix = legacy.prefix ?? DEFAULT_VECTORS_PREFIX;
      return this.#slot;
    }
    const others = await this.savedPrefixes();
    if (others.length > 1) {
      throw new CliError(
        `${this.path} holds several tables; choose one with --vectors-prefix (${others.join(', ')})`,
        EXIT.usage,
      );
    }
    if (others.length === 1) {
      this.#slot = `${others[0]}:`;
      this.#prefix = others[0]!;
    } else this.#slot = '';
    return this.#slot;
  }

  /** The vectors prefixes of every table this database has settings for. */
  async savedPrefixes(): Promise<string[]> {
    const rows = await this.#backend.query(
      "SELECT key, value FROM vecfill_config WHERE key = 'table' OR key LIKE 'table:%' ORDER BY key",
      [],
    );
    return rows.map((r) => {
      const cfg = JSON.parse(String(r.value)) as TableConfig;
      return cfg.prefix ?? DEFAULT_VECTORS_PREFIX;
    });
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

  /**
   * Opens `path`: a SQLite file (refused when missing unless `create`) or a
   * `postgres://` URL (PostgreSQL with pgvector; needs the `pg` package).
   */
  static async open(
    path: string,
    opts: { create?: boolean; quiet?: boolean; vectorsPrefix?: string } = {},
  ): Promise<Workspace> {
    // Wherever the location came from (a flag, a saved setting), its
    // passwords are masked in everything the CLI writes from here on.
    for (const secret of connectionSecrets(path)) cliSecrets.add(secret);
    const backend = isPostgresUrl(path)
      ? await postgresBackend(path)
      : sqliteBackend(path, opts.create ?? false);
    await backend.query(
      'CREATE TABLE IF NOT EXISTS vecfill_config (key TEXT PRIMARY KEY, value TEXT NOT NULL)',
      [],
    );
    if (opts.vectorsPrefix !== undefined) {
      try {
        for (const part of opts.vectorsPrefix.split('.'))
          validateIdentifier(part, '--vectors-prefix');
        if (opts.vectorsPrefix.split('.').length > (backend.kind === 'postgres' ? 2 : 1))
          validateIdentifier(opts.vectorsPrefix, '--vectors-prefix');
      } catch (e) {
        await backend.close();
        throw new CliError((e as Error).message, EXIT.usage);
      }
    }
    return new Workspace(path, backend, opts.quiet ?? false, opts.vectorsPrefix);
  }

  async #get<T>(key: string): Promise<T | undefined> {
    return this.#getRaw<T>(await this.#keyOf(key));
  }

  /** A settings key of this workspace's table: `table` → `table` or `table:<prefix>`, `encoder:g` → `encoder:<prefix>:g`. */
  async #keyOf(key: string): Promise<string> {
    const slot = await this.#resolveSlot();
    if (slot === '') return key;
    return key === 'table' ? `table:${slot.slice(0, -1)}` : key.replace(':', `:${slot}`);
  }

  async #getRaw<T>(key: string): Promise<T | undefined> {
    const [row] = await this.#backend.query(
      this.#sql('SELECT value FROM vecfill_config WHERE key = ?'),
      [key],
    );
    return row === undefined ? undefined : (JSON.parse(String(row.value)) as T);
  }

  async #set(key: string, value: unknown): Promise<void> {
    key = await this.#keyOf(key);
    await this.#backend.query(
      this.#sql(
        'INSERT INTO vecfill_config (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      ),
      [key, JSON.stringify(value)],
    );
  }

  /** `?` placeholders for SQLite, `$n` for Postgres. */
  #sql(sql: string): string {
    if (this.#backend.kind === 'sqlite') return sql;
    let n = 0;
    return sql.replace(/\?/g, () => `$${++n}`);
  }

  tableConfig(): Promise<TableConfig | undefined> {
    return this.#get<TableConfig>('table');
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
    for (const [role, name] of Object.entries({ table: cfg.table, prefix: cfg.prefix })) {
      const parts = name.split('.');
      try {
        if (parts.length > (this.kind === 'postgres' ? 2 : 1))
          validateIdentifier(name, `--${role}`);
        for (const part of parts) validateIdentifier(part, `--${role}`);
      } catch (e) {
        throw new CliError((e as Error).message, EXIT.usage);
      }
    }
    const saved = await this.tableConfig();
    cfg = { ...cfg, prefix: this.#prefix };
    if (
      !replace &&
      saved &&
      (saved.table !== cfg.table || saved.id !== cfg.id || saved.content !== cfg.content)
    ) {
      throw new CliError(
        `this database embeds table ${saved.table}(${saved.id}, ${saved.content}) under --vectors-prefix ${this.#prefix}; to embed another table in the same database give it its own prefix (e.g. --vectors-prefix ${cfg.table.replace(/\W/g, '_')}_vec), or see \`vecfill config\` to change or reset the saved settings`,
        EXIT.usage,
      );
    }
    // Open the store over the new settings before saving them: a missing
    // column or a non-unique id column is refused with nothing saved.
    let store: CliStore;
    try {
      store = await this.#backend.openStore(cfg);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      throw new CliError(
        (e as Error).message,
        EXIT.usage,
        typeof code === 'string' ? code : undefined,
      );
    }
    await this.#set('table', cfg);
    this.#store = store;
  }

  /** Everything saved for this workspace's table: its settings and each generation's encoder. */
  async savedSettings(): Promise<{
    vectorsPrefix: string;
    table: TableConfig | undefined;
    generations: Record<string, EncoderSettings>;
    root?: string;
  }> {
    const table = await this.tableConfig();
    const slot = await this.#resolveSlot();
    const generations: Record<string, EncoderSettings> = {};
    for (const [key, value] of await this.#encoderRows(slot))
      generations[key] = JSON.parse(value) as EncoderSettings;
    const root = slot === '' ? await this.#getRaw<string>('root') : undefined;
    return {
      vectorsPrefix: this.#prefix,
      table,
      generations,
      ...(root !== undefined ? { root } : {}),
    };
  }

  /** The saved encoder rows of a slot, by generation key. */
  async #encoderRows(slot: string): Promise<[string, string][]> {
    const rows = await this.#backend.query(
      "SELECT key, value FROM vecfill_config WHERE key LIKE 'encoder:%' ORDER BY key",
      [],
    );
    const others = (await this.savedPrefixes()).filter((p) => `${p}:` !== slot);
    const out: [string, string][] = [];
    for (const r of rows) {
      const rest = String(r.key).slice('encoder:'.length);
      if (slot !== '') {
        if (rest.startsWith(slot)) out.push([rest.slice(slot.length), String(r.value)]);
      } else if (!others.some((p) => rest.startsWith(`${p}:`))) out.push([rest, String(r.value)]);
    }
    return out;
  }

  /** How many chunks this table's vector tables hold (0 when they do not exist). */
  async vectorCount(): Promise<number> {
    await this.#resolveSlot();
    const name = this.#prefix
      .split('.')
      .map((p, i, all) => `"${i === all.length - 1 ? `${p}_chunks` : p}"`)
      .join('.');
    try {
      const [row] = await this.#backend.query(`SELECT count(*) AS n FROM ${name}`, []);
      return Number(row?.n ?? 0);
    } catch {
      return 0;
    }
  }

  /**
   * Forgets this table's saved settings; with `dropVectors`, also drops its
   * vector tables (never the documents table). The caller checks first.
   */
  async resetSettings(dropVectors: boolean): Promise<string[]> {
    const slot = await this.#resolveSlot();
    const dropped: string[] = [];
    if (dropVectors) {
      if (this.kind === 'postgres') {
        try {
          await (await this.store()).uninstallTrigger?.();
        } catch {
          // the documents table may be gone; nothing to uninstall then
        }
      }
      dropped.push(...(await this.#dropVectorTables()));
    }
    for (const [gen] of await this.#encoderRows(slot))
      await this.#backend.query(this.#sql('DELETE FROM vecfill_config WHERE key = ?'), [
        `encoder:${slot}${gen}`,
      ]);
    await this.#backend.query(this.#sql('DELETE FROM vecfill_config WHERE key = ?'), [
      await this.#keyOf('table'),
    ]);
    if (slot === '') await this.#backend.query("DELETE FROM vecfill_config WHERE key = 'root'", []);
    this.#store = undefined;
    this.#encoders.clear();
    return dropped;
  }

  async #dropVectorTables(): Promise<string[]> {
    const parts = this.#prefix.split('.');
    const prefix = parts.at(-1)!;
    const schema = parts.length > 1 ? parts[0] : undefined;
    const owned = new RegExp(
      `^${prefix}_(generations|chunks|stamps|keys|leases|changes|change_floor|notify|fts(_\\w+)?|vec_\\d+(_\\w+)?|full_\\d+(_\\w+)?)$`,
    );
    const list = async () =>
      (this.kind === 'sqlite'
        ? await this.#backend.query(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY sql LIKE 'CREATE VIRTUAL%' DESC, name",
            [],
          )
        : await this.#backend.query(
            'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = COALESCE($1, current_schema())',
            [schema ?? null],
          )
      )
        .map((r) => String(r.name))
        .filter((n) => owned.test(n) && n !== 'vecfill_config');
    const dropped: string[] = [];
    for (let round = 0; round < 3; round++) {
      const names = await list();
      if (names.length === 0) break;
      for (const n of names) {
        const q = schema ? `"${schema}"."${n}"` : `"${n}"`;
        try {
          await this.#backend.query(
            `DROP TABLE IF EXISTS ${q}${this.kind === 'postgres' ? ' CASCADE' : ''}`,
            [],
          );
          dropped.push(n);
        } catch {
          // a shadow table goes with its virtual table; tried again next round
        }
      }
    }
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

  /** The store over the configured table. */
  async store(): Promise<CliStore> {
    if (this.#store) return this.#store;
    const cfg = await this.tableConfig();
    if (!cfg) {
      throw new CliError(
        `${this.path} is not set up for vecfill yet; run \`vecfill index <folder> --db ${this.path}\` or \`vecfill fill --db ${this.path} --table T --id ID --content COL\``,
        EXIT.notFound,
      );
    }
    try {
      this.#store = await this.#backend.openStore(cfg, this.#leaseMs, this.#oneQuery);
    } catch (e) {
      throw new CliError((e as Error).message, EXIT.notFound);
    }
    return this.#store;
  }

  /** The column names of the configured documents table. */
  async columns(): Promise<string[]> {
    const cfg = (await this.tableConfig())!;
    if (this.kind === 'sqlite') {
      return (await this.#backend.query(`SELECT name FROM pragma_table_info(?)`, [cfg.table])).map(
        (r) => String(r.name),
      );
    }
    const [schema, table] = cfg.table.includes('.') ? cfg.table.split('.') : [undefined, cfg.table];
    const rows = await this.#backend.query(
      `SELECT column_name AS name FROM information_schema.columns
        WHERE table_name = $1 AND table_schema = COALESCE($2, current_schema())`,
      [table, schema ?? null],
    );
    return rows.map((r) => String(r.name));
  }

  /**
   * A filter that keeps rows whose columns equal the given values (`null`
   * matches NULL). Column names must be columns of the documents table; the
   * values are bound, never put into the SQL, so no input can inject SQL.
   */
  async equalityFilter(
    pairs: Record<string, string | number | boolean | null>,
  ): Promise<CliFilter | undefined> {
    const entries = Object.entries(pairs);
    if (entries.length === 0) return undefined;
    const known = new Set(await this.columns());
    const clauses: string[] = [];
    const params: (string | number | null)[] = [];
    for (const [column, value] of entries) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(column) || !known.has(column)) {
        throw new CliError(
          `filter: ${JSON.stringify(column)} is not a column of the documents table (columns: ${[...known].join(', ')})`,
          EXIT.usage,
        );
      }
      if (value === null) {
        clauses.push(`d."${column}" IS NULL`);
        continue;
      }
      params.push(
        typeof value === 'boolean' && this.kind === 'sqlite'
          ? Number(value)
          : (value as string | number),
      );
      clauses.push(`d."${column}" = ${this.kind === 'sqlite' ? '?' : `$${params.length}`}`);
    }
    return { where: clauses.join(' AND '), params };
  }

  /** The content of one document of the configured table. */
  async contentOf(id: CliKey): Promise<string> {
    const cfg = (await this.tableConfig())!;
    const quote = (name: string) =>
      name
        .split('.')
        .map((p) => `"${validateIdentifier(p, 'identifier')}"`)
        .join('.');
    const [row] = await this.#backend.query(
      this.#sql(
        `SELECT ${quote(cfg.content)} AS content FROM ${quote(cfg.table)} WHERE ${quote(cfg.id)} = ?`,
      ),
      [id],
    );
    return row?.content == null ? '' : String(row.content);
  }

  sizeBytes(): Promise<number> {
    return this.#backend.sizeBytes();
  }

  saveEncoder(gen: string, settings: EncoderSettings): Promise<void> {
    return this.#set(`encoder:${gen}`, settings);
  }

  async encoderSettings(gen: string): Promise<EncoderSettings> {
    const s = await this.#get<EncoderSettings>(`encoder:${gen}`);
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
      e = this.encoderSettings(gen).then((s) => buildEncoder(s, this.#quiet));
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
    const encoder = await buildEncoder(settings, this.#quiet);
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

function sqliteBackend(path: string, create: boolean): Backend {
  const shown = redactConnectionString(path);
  if (!create && !existsSync(path)) {
    throw new CliError(
      `no database at ${shown}; create one with \`vecfill index <folder> --db ${shown}\`, or point --db at an existing SQLite file (or a postgres:// URL)`,
      EXIT.notFound,
    );
  }
  let db: Database.Database;
  try {
    db = openDatabase(path);
  } catch (e) {
    throw new CliError(
      `cannot open ${shown} as a SQLite database: ${(e as Error).message}`,
      EXIT.notFound,
    );
  }
  return {
    kind: 'sqlite',
    sqlite: db,
    query: async (sql, params) => {
      const st = db.prepare(sql);
      if (st.reader) return st.all(...params) as Record<string, unknown>[];
      st.run(...params);
      return [];
    },
    openStore: async (cfg, leaseMs, oneQuery) =>
      SqliteStore.open(db, {
        ...(leaseMs ? { leaseMs } : {}),
        ...(oneQuery ? { scan: { float: 'sqlite-vec' } } : {}),
        docsTable: cfg.table,
        idColumn: cfg.id,
        contentColumn: cfg.content,
        vectorsPrefix: cfg.prefix,
        ...(cfg.revision ? { revisionColumn: cfg.revision } : {}),
      }),
    sizeBytes: async () => statSync(path).size,
    close: async () => {
      db.close();
    },
  };
}

async function postgresBackend(url: string): Promise<Backend> {
  let pg: typeof import('pg');
  try {
    pg = (await import('pg')).default as unknown as typeof import('pg');
  } catch {
    throw new CliError('postgres:// URLs need the `pg` package: npm install pg', EXIT.usage);
  }
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  const query = async (sql: string, params: unknown[]) =>
    (await pool.query(sql, params)).rows as Record<string, unknown>[];
  try {
    await query('SELECT 1', []);
  } catch (e) {
    await pool.end().catch(() => {});
    throw new CliError(
      `cannot connect to ${redactConnectionString(url)}: ${(e as Error).message}`,
      EXIT.notFound,
    );
  }
  const { PgStore } = await import('../postgres/index.js');
  return {
    kind: 'postgres',
    query,
    openStore: async (cfg, leaseMs) =>
      (await PgStore.open(pool, {
        ...(leaseMs ? { leaseMs } : {}),
        docsTable: cfg.table,
        idColumn: cfg.id,
        contentColumn: cfg.content,
        vectorsPrefix: cfg.prefix,
        ...(cfg.revision ? { revisionColumn: cfg.revision } : {}),
      })) as unknown as CliStore,
    sizeBytes: async () =>
      Number((await query('SELECT pg_database_size(current_database()) AS n', []))[0]?.n ?? 0),
    close: () => pool.end(),
  };
}

export function defaultGenerationKey(
  settings: EncoderSettings,
  fp: string,
  quantization?: Quantization,
): string {
  const name =
    settings.kind === 'words'
      ? `words-${settings.weighting}`
      : settings.kind === 'transformers' && settings.model.startsWith('/')
        ? basename(settings.model)
            .toLowerCase()
            .replace(/[^a-z0-9]+/g, '-')
        : settings.model.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  return `${name.replace(/^-|-$/g, '')}-${fp.slice(0, 6)}${quantization ? `-${quantization}` : ''}`;
}

/** Waits before a retry from this long on are printed on stderr. */
const LONG_WAIT_MS = 2000;

async function buildEncoder(settings: EncoderSettings, quiet: boolean): Promise<Encoder> {
  const encoder = await buildKindEncoder(settings, quiet);
  const c = settings.chunking;
  if (!c) return encoder;
  // How documents are chunked changes what the vectors are of: part of the fingerprint.
  const params: Record<string, string | number | boolean> = { ...encoder.generation.params };
  if (c.maxChars !== undefined) params.chunkMaxChars = c.maxChars;
  if (c.overlap !== undefined) params.chunkOverlap = c.overlap;
  if (c.split === 'markdown') params.chunkHeadingPath = true;
  return Object.assign(
    Object.create(Object.getPrototypeOf(encoder) as object) as Encoder,
    encoder,
    {
      generation: { ...encoder.generation, params },
    },
  );
}

async function buildKindEncoder(settings: EncoderSettings, quiet: boolean): Promise<Encoder> {
  if (settings.kind === 'words') {
    let announced = false;
    return wordVectors({
      weighting: settings.weighting,
      onProgress: (p) => {
        if (quiet) return;
        if (!announced) {
          announced = true;
          process.stderr.write(
            'Preparing the offline word vectors (first run only, converts a 300 MB file once)...\n',
          );
        }
        if (p.phase === 'parse')
          process.stderr.write(`  converting: ${Math.round((p.done / p.total) * 100)}%\n`);
        if (p.phase === 'done') process.stderr.write('  word vectors ready\n');
      },
    });
  }
  if (settings.kind === 'transformers') return buildTransformers(settings, quiet);
  const apiKey = process.env[settings.apiKeyEnv];
  cliSecrets.add(apiKey);
  for (const s of connectionSecrets(settings.baseURL)) cliSecrets.add(s);
  const opts: Parameters<typeof openAICompatible>[0] = {
    baseURL: settings.baseURL,
    model: settings.model,
    // A long wait (a Retry-After, a long backoff) says what it waits for and
    // until when, so the command never looks hung.
    onRetry: (n) => {
      if (n.waitMs < LONG_WAIT_MS) return;
      process.stderr.write(
        `vecfill: ${settings.model}: ${n.reason}; waiting ${formatWait(n.waitMs)}${n.retryAfter ? ' as the provider asked (Retry-After)' : ''}, until ${n.until.toISOString()}, before retry ${n.attempt} of ${n.maxRetries} (Ctrl-C stops; finished documents are kept)\n`,
      );
    },
  };
  if (apiKey) opts.apiKey = apiKey;
  if (settings.dimensions !== undefined) opts.dimensions = settings.dimensions;
  if (settings.prefix) opts.prefix = settings.prefix;
  if (settings.queryPrefix !== undefined) opts.queryPrefix = settings.queryPrefix;
  try {
    return await openAICompatible(opts);
  } catch (e) {
    throw new CliError(
      `cannot reach the embedding endpoint ${redactConnectionString(settings.baseURL)} for model ${settings.model}: ${(e as Error).message}${apiKey ? '' : ` (no API key in $${settings.apiKeyEnv})`}`,
      EXIT.failure,
    );
  }
}

async function buildTransformers(
  settings: EncoderSettings & { kind: 'transformers' },
  quiet: boolean,
): Promise<Encoder> {
  const announced = new Set<string>();
  try {
    return await transformers({
      model: settings.model,
      ...(settings.dtype ? { dtype: settings.dtype } : {}),
      ...(settings.prefix ? { documentPrefix: settings.prefix } : {}),
      ...((settings.queryPrefix ?? settings.prefix)
        ? { queryPrefix: settings.queryPrefix ?? settings.prefix }
        : {}),
      cacheDir: process.env.VECFILL_MODELS_DIR ?? join(defaultCacheDir(), 'models'),
      onProgress: (p) => {
        if (quiet || p.status !== 'download' || !p.file || announced.has(p.file)) return;
        announced.add(p.file);
        process.stderr.write(`loading ${settings.model}: ${p.file}\n`);
      },
    });
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new CliError(
      (e as Error).message,
      code === 'MISSING_PEER'
        ? EXIT.usage
        : code === 'MODEL_UNAVAILABLE'
          ? EXIT.notFound
          : EXIT.failure,
    );
  }
}
