import type { Dialect } from './dialect.js';

/** A value a column-equality filter compares a column with (`null` matches NULL). */
export type ColumnValue = string | number | boolean | null;

/** A caller's filter over the documents table (alias `d`): its own placeholders and their values. */
export interface ColumnFilter {
  where: string;
  params: (string | number | null)[];
}

const COLUMN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The one column-equality filter (`vecfill mcp`'s `filter`, the metadata
 * filter of `vecfill/langchain`): keeps rows whose columns equal the given
 * values, `null` as `IS NULL`. A name must be one of `columns` (the
 * documents table's, as the caller read them), so no input reaches the SQL
 * as text; every value is bound, as the caller's filter parameters (SQLite
 * `?`, Postgres `$1…`), a boolean as SQLite stores it (1 / 0). Undefined
 * when there is nothing to filter on. Throws a `TypeError` naming the
 * column (and the columns there are) or the value that cannot be compared.
 *
 * @example
 * ```ts
 * equalityFilter({ lang: 'en', draft: null }, ['id', 'body', 'lang', 'draft'], SQLITE);
 * // { where: 'd."lang" = ? AND d."draft" IS NULL', params: ['en'] }
 * ```
 */
export function equalityFilter(
  pairs: Readonly<Record<string, ColumnValue>>,
  columns: Iterable<string>,
  dialect: Dialect,
  table = 'the documents table',
): ColumnFilter | undefined {
  const entries = Object.entries(pairs ?? {});
  if (entries.length === 0) return undefined;
  const known = new Set(columns);
  const clauses: string[] = [];
  const params: (string | number | null)[] = [];
  for (const [column, value] of entries) {
    if (!COLUMN.test(column) || !known.has(column))
      throw new TypeError(
        `filter: ${JSON.stringify(column)} is not a column of ${table} (columns: ${[...known].join(', ')})`,
      );
    const d = `d.${dialect.quote(column)}`;
    if (value === null) {
      clauses.push(`${d} IS NULL`);
      continue;
    }
    if (!['string', 'number', 'boolean'].includes(typeof value))
      throw new TypeError(
        `filter: the value of ${column} must be a string, number, boolean or null`,
      );
    if (typeof value === 'boolean')
      params.push(dialect.name === 'sqlite' ? Number(value) : String(value));
    else params.push(value);
    clauses.push(`${d} = ${dialect.name === 'sqlite' ? '?' : `$${params.length}`}`);
  }
  return { where: clauses.join(' AND '), params };
}
