import { validateIdentifier } from '../core/identifier.js';
import { type ColumnValue, equalityFilter, POSTGRES, SQLITE } from '../sql/index.js';

/** A key of the documents table, as either backend returns it. */
export type DocKey = string | number | bigint;
export type { ColumnValue };

/** The SQL filter both stores take: a predicate over the documents table (alias `d`) and its bound parameters. */
export interface SqlFilter {
  where: string;
  params?: (string | number | null)[];
}

/** One row of the caller's documents table, as the vector store reads it. */
export interface DocumentRow {
  content: string;
  metadata: Record<string, unknown>;
}

/**
 * The caller's documents table, reached through the same connection the
 * vecfill store uses. Every identifier is validated and quoted; every value
 * is bound. This is the only SQL of `vecfill/langchain`: rows in, rows out.
 */
export class DocumentTable {
  readonly #run: (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]>;
  readonly #dialect: 'sqlite' | 'postgres';
  readonly #table: string;
  readonly #tableName: { schema?: string; name: string };
  readonly #id: string;
  readonly #content: string;
  readonly #metadata: readonly string[];
  #columns: Promise<Set<string>> | undefined;

  private constructor(
    dialect: 'sqlite' | 'postgres',
    run: (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]>,
    names: { table: string; id: string; content: string; metadata: readonly string[] },
  ) {
    this.#dialect = dialect;
    this.#run = run;
    const parts = names.table.replace(/"/g, '').split('.');
    if (parts.length > (dialect === 'postgres' ? 2 : 1))
      throw new TypeError(`table ${names.table}: at most one schema qualifier`);
    for (const p of parts) validateIdentifier(p, 'docsTable');
    this.#tableName =
      parts.length === 2 ? { schema: parts[0]!, name: parts[1]! } : { name: parts[0]! };
    this.#table = parts.map((p) => `"${p}"`).join('.');
    this.#id = quote(names.id, 'idColumn');
    this.#content = quote(names.content, 'contentColumn');
    this.#metadata = names.metadata.map((m) => validateIdentifier(m, 'metadataColumns'));
  }

  /** The documents table of a `SqliteStore` (its better-sqlite3 connection and schema). */
  static fromStore(
    store: unknown,
    metadataColumns: readonly string[] = [],
  ): DocumentTable | undefined {
    const s = store as {
      db?: { prepare(sql: string): { reader: boolean; all(...p: unknown[]): unknown[] } };
      client?: { query(sql: string, params: unknown[]): Promise<{ rows: unknown[] }> };
      schema?: Record<string, unknown>;
    };
    const schema = s.schema;
    if (!schema) return undefined;
    if (s.db && typeof s.db.prepare === 'function' && typeof schema.docsTable === 'string') {
      const db = s.db;
      return new DocumentTable(
        'sqlite',
        async (sql, params) => db.prepare(sql).all(...params) as Record<string, unknown>[],
        {
          table: schema.docsTable,
          id: String(schema.idColumn),
          content: String(schema.contentColumn),
          metadata: metadataColumns,
        },
      );
    }
    if (s.client && typeof s.client.query === 'function' && typeof schema.docs === 'string') {
      const client = s.client;
      return new DocumentTable(
        'postgres',
        async (sql, params) => (await client.query(sql, params)).rows as Record<string, unknown>[],
        {
          table: schema.docs,
          id: String(schema.id),
          content: String(schema.content),
          metadata: metadataColumns,
        },
      );
    }
    return undefined;
  }

  #p(n: number): string {
    return this.#dialect === 'sqlite' ? '?' : `$${n}`;
  }

  #value(v: ColumnValue): string | number | null {
    if (typeof v === 'boolean') return this.#dialect === 'sqlite' ? Number(v) : String(v);
    return v;
  }

  /** The table's column names (read once). */
  columns(): Promise<Set<string>> {
    this.#columns ??= (async () => {
      const rows =
        this.#dialect === 'sqlite'
          ? await this.#run('SELECT name FROM pragma_table_info(?)', [this.#tableName.name])
          : await this.#run(
              `SELECT column_name AS name FROM information_schema.columns
                WHERE table_name = $1 AND table_schema = COALESCE($2, current_schema())`,
              [this.#tableName.name, this.#tableName.schema ?? null],
            );
      return new Set(rows.map((r) => String(r.name)));
    })();
    return this.#columns;
  }

  /**
   * A filter keeping rows whose columns equal the given values (`null` is IS
   * NULL). Names must be columns of the table; values are bound.
   */
  async equalityFilter(pairs: Record<string, ColumnValue>): Promise<SqlFilter | undefined> {
    if (Object.keys(pairs ?? {}).length === 0) return undefined;
    return equalityFilter(
      pairs,
      await this.columns(),
      this.#dialect === 'sqlite' ? SQLITE : POSTGRES,
      this.#table,
    );
  }

  /** Inserts one row per document (content, chosen metadata columns, and the id when given); returns the keys. */
  async insert(
    docs: { content: string; metadata: Record<string, unknown>; id?: string }[],
  ): Promise<DocKey[]> {
    const known = this.#metadata.length > 0 ? await this.columns() : new Set<string>();
    for (const m of this.#metadata)
      if (!known.has(m))
        throw new TypeError(`metadataColumns: ${m} is not a column of ${this.#table}`);
    const keys: DocKey[] = [];
    for (const doc of docs) {
      const cols = [this.#content];
      const values: unknown[] = [doc.content];
      if (doc.id !== undefined) {
        cols.push(this.#id);
        values.push(doc.id);
      }
      for (const m of this.#metadata) {
        if (!(m in doc.metadata)) continue;
        const v = doc.metadata[m];
        cols.push(`"${m}"`);
        values.push(
          v === undefined || v === null
            ? null
            : typeof v === 'object'
              ? JSON.stringify(v)
              : this.#value(v as ColumnValue),
        );
      }
      const [row] = await this.#run(
        `INSERT INTO ${this.#table} (${cols.join(', ')}) VALUES (${values.map((_, i) => this.#p(i + 1)).join(', ')}) RETURNING ${this.#id} AS id`,
        values,
      );
      keys.push(row!.id as DocKey);
    }
    return keys;
  }

  /** Deletes the rows with these ids; returns the keys of the rows that existed. */
  async delete(ids: readonly string[]): Promise<DocKey[]> {
    const gone: DocKey[] = [];
    for (const id of ids) {
      const rows = await this.#run(
        `DELETE FROM ${this.#table} WHERE ${this.#id} = ${this.#p(1)} RETURNING ${this.#id} AS id`,
        [id],
      );
      for (const r of rows) gone.push(r.id as DocKey);
    }
    return gone;
  }

  /** Content and metadata columns of the given rows. */
  async read(keys: readonly DocKey[]): Promise<Map<string, DocumentRow>> {
    const out = new Map<string, DocumentRow>();
    const meta = this.#metadata.map((m) => `"${m}"`);
    for (const key of keys) {
      const [row] = await this.#run(
        `SELECT ${[`${this.#content} AS "__content"`, ...meta].join(', ')} FROM ${this.#table} WHERE ${this.#id} = ${this.#p(1)}`,
        [key],
      );
      if (!row) continue;
      const metadata: Record<string, unknown> = {};
      for (const m of this.#metadata) metadata[m] = row[m];
      out.set(String(key), { content: String(row.__content ?? ''), metadata });
    }
    return out;
  }
}

function quote(name: string, role: string): string {
  return `"${validateIdentifier(name.replace(/^"|"$/g, ''), role)}"`;
}
