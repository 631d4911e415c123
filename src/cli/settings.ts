import type { BaseSchema } from '../sql/index.js';
import type { Backend, OpenStoreOptions } from './backends.js';
import { CLI_DEFAULTS as D } from './defaults.js';
import type { EncoderSettings } from './encoder-settings.js';
import { CliError, EXIT } from './errors.js';

/** Which table of the database vecfill embeds, saved in the database so later commands need no flags. */
export interface TableConfig {
  table: string;
  id: string;
  content: string;
  revision?: string;
  prefix: string;
}

/** The saved table settings as the schema both stores take (with leases when asked). */
export function schemaOf(cfg: TableConfig, opts: OpenStoreOptions = {}): BaseSchema {
  return {
    ...(opts.leaseMs ? { leaseMs: opts.leaseMs } : {}),
    docsTable: cfg.table,
    idColumn: cfg.id,
    contentColumn: cfg.content,
    vectorsPrefix: cfg.prefix,
    ...(cfg.revision ? { revisionColumn: cfg.revision } : {}),
  };
}

/** Everything saved for one table: its settings and each generation's encoder. */
export interface SavedSettings {
  vectorsPrefix: string;
  table: TableConfig | undefined;
  generations: Record<string, EncoderSettings>;
  root?: string;
}

/**
 * The settings the CLI saves in the database itself (table `vecfill_config`,
 * one JSON value per key), so later commands need no flags: the table and
 * its columns, each generation's encoder, the folder `vecfill index` reads.
 *
 * One database can hold several tables, each under its own
 * `--vectors-prefix`; each table's keys live in a slot (`table:<prefix>`,
 * `encoder:<prefix>:<gen>`). The default prefix keeps the keys of older
 * databases (`table`, `encoder:<gen>`).
 */
export class Settings {
  readonly #backend: Backend;
  /** The database, fit to print (for messages). */
  readonly #location: string;
  /** The vector tables' prefix given with `--vectors-prefix`, if any. */
  readonly #askedPrefix: string | undefined;
  /** Which saved settings this run uses: '' for the default (`table`, `encoder:<gen>`), `<prefix>:` otherwise. */
  #slot: string | undefined;
  #prefix: string = D.vectorsPrefix;

  private constructor(backend: Backend, location: string, askedPrefix: string | undefined) {
    this.#backend = backend;
    this.#location = location;
    this.#askedPrefix = askedPrefix;
  }

  /** The settings of a database, creating their table on first use. */
  static async open(
    backend: Backend,
    location: string,
    askedPrefix: string | undefined,
  ): Promise<Settings> {
    await backend.query(
      'CREATE TABLE IF NOT EXISTS vecfill_config (key TEXT PRIMARY KEY, value TEXT NOT NULL)',
      [],
    );
    return new Settings(backend, location, askedPrefix);
  }

  /** The prefix of the vector tables of the table these settings are for. */
  get vectorsPrefix(): string {
    return this.#prefix;
  }

  /** Decides which saved settings this run uses (once): the asked prefix, the legacy keys, or the only table saved. */
  async slot(): Promise<string> {
    if (this.#slot !== undefined) return this.#slot;
    const legacy = await this.#getRaw<TableConfig>('table');
    const asked = this.#askedPrefix;
    if (asked !== undefined) {
      if (legacy && (legacy.prefix ?? D.vectorsPrefix) === asked) this.#slot = '';
      else this.#slot = asked === D.vectorsPrefix && !legacy ? '' : `${asked}:`;
      this.#prefix = asked;
      return this.#slot;
    }
    if (legacy) {
      this.#slot = '';
      this.#prefix = legacy.prefix ?? D.vectorsPrefix;
      return this.#slot;
    }
    const others = await this.savedPrefixes();
    if (others.length > 1) {
      throw new CliError(
        `${this.#location} holds several tables; choose one with --vectors-prefix (${others.join(', ')})`,
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
      return cfg.prefix ?? D.vectorsPrefix;
    });
  }

  table(): Promise<TableConfig | undefined> {
    return this.#get<TableConfig>('table');
  }

  saveTable(cfg: TableConfig): Promise<void> {
    return this.#set('table', cfg);
  }

  encoder(gen: string): Promise<EncoderSettings | undefined> {
    return this.#get<EncoderSettings>(`encoder:${gen}`);
  }

  saveEncoder(gen: string, settings: EncoderSettings): Promise<void> {
    return this.#set(`encoder:${gen}`, settings);
  }

  /** The folder `vecfill index` reads into this database, once it has indexed one. */
  root(): Promise<string | undefined> {
    return this.#getRaw<string>('root');
  }

  async saveRoot(root: string): Promise<void> {
    await this.#setRaw('root', root);
  }

  /** Everything saved for this table: its settings and each generation's encoder. */
  async all(): Promise<SavedSettings> {
    const table = await this.table();
    const slot = await this.slot();
    const generations: Record<string, EncoderSettings> = {};
    for (const [key, value] of await this.#encoderRows(slot))
      generations[key] = JSON.parse(value) as EncoderSettings;
    const root = slot === '' ? await this.root() : undefined;
    return {
      vectorsPrefix: this.#prefix,
      table,
      generations,
      ...(root !== undefined ? { root } : {}),
    };
  }

  /** Forgets everything saved for this table (the folder too, for the default slot). */
  async forget(): Promise<void> {
    const slot = await this.slot();
    for (const [gen] of await this.#encoderRows(slot))
      await this.#backend.query('DELETE FROM vecfill_config WHERE key = ?', [
        `encoder:${slot}${gen}`,
      ]);
    await this.#backend.query('DELETE FROM vecfill_config WHERE key = ?', [
      await this.#keyOf('table'),
    ]);
    if (slot === '') await this.#backend.query("DELETE FROM vecfill_config WHERE key = 'root'", []);
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

  /** A settings key of this table: `table` → `table` or `table:<prefix>`, `encoder:g` → `encoder:<prefix>:g`. */
  async #keyOf(key: string): Promise<string> {
    const slot = await this.slot();
    if (slot === '') return key;
    return key === 'table' ? `table:${slot.slice(0, -1)}` : key.replace(':', `:${slot}`);
  }

  async #get<T>(key: string): Promise<T | undefined> {
    return this.#getRaw<T>(await this.#keyOf(key));
  }

  async #getRaw<T>(key: string): Promise<T | undefined> {
    const [row] = await this.#backend.query('SELECT value FROM vecfill_config WHERE key = ?', [
      key,
    ]);
    return row === undefined ? undefined : (JSON.parse(String(row.value)) as T);
  }

  async #set(key: string, value: unknown): Promise<void> {
    await this.#setRaw(await this.#keyOf(key), value);
  }

  async #setRaw(key: string, value: unknown): Promise<void> {
    await this.#backend.query(
      'INSERT INTO vecfill_config (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      [key, JSON.stringify(value)],
    );
  }
}
