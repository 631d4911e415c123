import { existsSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { fingerprint, validateIdentifier } from '../core/index.js';
import { type Encoder, openAICompatible, wordVectors } from '../encoders/index.js';
import { openDatabase, SqliteStore } from '../sqlite/index.js';
import { CliError, EXIT } from './errors.js';

/** Which table of the database vecfill embeds, saved in the database so later commands need no flags. */
export interface TableConfig {
  table: string;
  id: string;
  content: string;
  revision?: string;
  prefix: string;
}

/** How to re-create a generation's encoder. The API key itself is never saved: only the variable that holds it. */
export type EncoderSettings =
  | { kind: 'words'; weighting: 'sif' | 'mean' }
  | {
      kind: 'openai';
      baseURL: string;
      model: string;
      dimensions?: number;
      apiKeyEnv: string;
      prefix?: string;
    };

/** The flags every command that creates a generation accepts. */
export interface EncoderFlags {
  encoder?: string;
  model?: string;
  baseUrl?: string;
  apiKeyEnv?: string;
  dimensions?: string;
  weighting?: string;
  prefix?: string;
}

/** Turns command-line flags into encoder settings, refusing nonsense with a usage error. */
export function encoderSettingsFrom(flags: EncoderFlags): EncoderSettings {
  const kind = flags.encoder ?? (flags.baseUrl || flags.model ? 'openai' : 'words');
  if (kind === 'words') {
    const weighting = flags.weighting ?? 'sif';
    if (weighting !== 'sif' && weighting !== 'mean') {
      throw new CliError(`--weighting must be sif or mean, got ${weighting}`, EXIT.usage);
    }
    return { kind: 'words', weighting };
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
      apiKeyEnv: flags.apiKeyEnv ?? 'OPENAI_API_KEY',
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
    if (flags.prefix) settings.prefix = flags.prefix;
    return settings;
  }
  throw new CliError(
    `unknown --encoder ${kind}; use words (offline, the default) or openai`,
    EXIT.usage,
  );
}

/** An open vecfill database: the store, the saved settings and the encoders of its generations. */
export class Workspace {
  readonly db: Database.Database;
  readonly path: string;
  readonly #encoders = new Map<string, Promise<Encoder>>();
  #store: SqliteStore | undefined;
  readonly #quiet: boolean;

  private constructor(path: string, db: Database.Database, quiet: boolean) {
    this.path = path;
    this.db = db;
    this.#quiet = quiet;
    db.exec(
      'CREATE TABLE IF NOT EXISTS vecfill_config (key TEXT PRIMARY KEY, value TEXT NOT NULL)',
    );
  }

  /** Opens `path`; refuses a missing file unless `create`. */
  static open(path: string, opts: { create?: boolean; quiet?: boolean } = {}): Workspace {
    if (path.startsWith('postgres://') || path.startsWith('postgresql://')) {
      throw new CliError(
        'PostgreSQL URLs are not supported by the command line yet; use the vecfill/postgres library API',
        EXIT.usage,
      );
    }
    if (!opts.create && !existsSync(path)) {
      throw new CliError(
        `no database at ${path}; create one with \`vecfill index <folder> --db ${path}\`, or point --db at an existing SQLite file`,
        EXIT.notFound,
      );
    }
    let db: Database.Database;
    try {
      db = openDatabase(path);
    } catch (e) {
      throw new CliError(
        `cannot open ${path} as a SQLite database: ${(e as Error).message}`,
        EXIT.notFound,
      );
    }
    return new Workspace(path, db, opts.quiet ?? false);
  }

  #get<T>(key: string): T | undefined {
    const row = this.db
      .prepare('SELECT value FROM vecfill_config WHERE key = ?')
      .pluck()
      .get(key) as string | undefined;
    return row === undefined ? undefined : (JSON.parse(row) as T);
  }

  #set(key: string, value: unknown): void {
    this.db
      .prepare(
        'INSERT INTO vecfill_config (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      )
      .run(key, JSON.stringify(value));
  }

  tableConfig(): TableConfig | undefined {
    return this.#get<TableConfig>('table');
  }

  /** Validates and saves the table settings; refuses to silently switch an already configured database to another table. */
  configureTable(cfg: TableConfig): void {
    for (const [role, name] of Object.entries({
      table: cfg.table,
      id: cfg.id,
      content: cfg.content,
      prefix: cfg.prefix,
    })) {
      try {
        validateIdentifier(name, `--${role}`);
      } catch (e) {
        throw new CliError((e as Error).message, EXIT.usage);
      }
    }
    if (cfg.revision !== undefined) validateIdentifier(cfg.revision, '--revision');
    const saved = this.tableConfig();
    if (
      saved &&
      (saved.table !== cfg.table || saved.id !== cfg.id || saved.content !== cfg.content)
    ) {
      throw new CliError(
        `this database is set up for table ${saved.table}(${saved.id}, ${saved.content}); use another --db, or the same --table/--id/--content`,
        EXIT.usage,
      );
    }
    this.#set('table', cfg);
    this.#store = undefined;
  }

  /** The store over the configured table. */
  store(): SqliteStore {
    if (this.#store) return this.#store;
    const cfg = this.tableConfig();
    if (!cfg) {
      throw new CliError(
        `${this.path} is not set up for vecfill yet; run \`vecfill index <folder> --db ${this.path}\` or \`vecfill fill --db ${this.path} --table T --id ID --content COL\``,
        EXIT.notFound,
      );
    }
    try {
      this.#store = SqliteStore.open(this.db, {
        docsTable: cfg.table,
        idColumn: cfg.id,
        contentColumn: cfg.content,
        vectorsPrefix: cfg.prefix,
        ...(cfg.revision ? { revisionColumn: cfg.revision } : {}),
      });
    } catch (e) {
      throw new CliError((e as Error).message, EXIT.notFound);
    }
    return this.#store;
  }

  saveEncoder(gen: string, settings: EncoderSettings): void {
    this.#set(`encoder:${gen}`, settings);
  }

  encoderSettings(gen: string): EncoderSettings {
    const s = this.#get<EncoderSettings>(`encoder:${gen}`);
    if (!s)
      throw new CliError(
        `generation ${gen} has no saved encoder settings; it was not created by the vecfill command`,
        EXIT.notFound,
      );
    return s;
  }

  /** The encoder of a saved generation (built once per process). */
  encoderFor(gen: string): Promise<Encoder> {
    let e = this.#encoders.get(gen);
    if (!e) {
      e = buildEncoder(this.encoderSettings(gen), this.#quiet);
      this.#encoders.set(gen, e);
    }
    return e;
  }

  /** Creates (or finds) the generation for `settings` in `state`, and saves its encoder settings. */
  async ensureGeneration(
    settings: EncoderSettings,
    state: 'active' | 'building',
    key?: string,
  ): Promise<string> {
    const encoder = await buildEncoder(settings, this.#quiet);
    const gen = key ?? defaultGenerationKey(settings, fingerprint(encoder.generation));
    try {
      this.store().ensureGeneration(gen, encoder.generation, state);
    } catch (e) {
      throw new CliError((e as Error).message, EXIT.refused);
    }
    this.saveEncoder(gen, settings);
    this.#encoders.set(gen, Promise.resolve(encoder));
    return gen;
  }

  close(): void {
    this.db.close();
  }
}

export function defaultGenerationKey(settings: EncoderSettings, fp: string): string {
  const name =
    settings.kind === 'words'
      ? `words-${settings.weighting}`
      : settings.model.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  return `${name.replace(/^-|-$/g, '')}-${fp.slice(0, 6)}`;
}

async function buildEncoder(settings: EncoderSettings, quiet: boolean): Promise<Encoder> {
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
  const apiKey = process.env[settings.apiKeyEnv];
  const opts: Parameters<typeof openAICompatible>[0] = {
    baseURL: settings.baseURL,
    model: settings.model,
  };
  if (apiKey) opts.apiKey = apiKey;
  if (settings.dimensions !== undefined) opts.dimensions = settings.dimensions;
  if (settings.prefix) opts.prefix = settings.prefix;
  try {
    return await openAICompatible(opts);
  } catch (e) {
    throw new CliError(
      `cannot reach the embedding endpoint ${settings.baseURL} for model ${settings.model}: ${(e as Error).message}${apiKey ? '' : ` (no API key in $${settings.apiKeyEnv})`}`,
      EXIT.failure,
    );
  }
}
