/**
 * The one way both backends spell what differs between their SQL: quoting,
 * NULL-safe equality, booleans, placeholders, and how a driver reports a
 * unique violation. Pure: no driver is imported here.
 */

export type DialectName = 'sqlite' | 'postgres';

export interface Dialect {
  readonly name: DialectName;
  /** A validated identifier as SQL text, double-quoted (validation ruled out quotes inside it). */
  quote(identifier: string): string;
  /** NULL-safe equality: `a IS b` (SQLite), `a IS NOT DISTINCT FROM b` (Postgres). */
  same(a: string, b: string): string;
  /** Boolean literals as the store's columns hold them. */
  readonly true: string;
  readonly false: string;
  /** Whether a driver error is a unique-constraint violation, by its code (never its message). */
  isUniqueViolation(error: unknown): boolean;
  /** Whether a driver error says a read-only statement or transaction tried to write. */
  isReadOnlyViolation(error: unknown): boolean;
  /** Whether a driver error says the SQL itself is wrong (syntax, unknown column or function). */
  isInvalidSql(error: unknown): boolean;
}

function codeOf(error: unknown): unknown {
  return error !== null && typeof error === 'object'
    ? (error as { code?: unknown }).code
    : undefined;
}

export const SQLITE: Dialect = Object.freeze({
  name: 'sqlite',
  quote: (identifier: string) => `"${identifier}"`,
  same: (a: string, b: string) => `${a} IS ${b}`,
  true: '1',
  false: '0',
  isUniqueViolation: (error: unknown) => {
    const code = codeOf(error);
    return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
  },
  isReadOnlyViolation: (error: unknown) => codeOf(error) === 'SQLITE_READONLY',
  // better-sqlite3 reports a statement it cannot prepare as plain SQLITE_ERROR.
  isInvalidSql: (error: unknown) => codeOf(error) === 'SQLITE_ERROR',
});

export const POSTGRES: Dialect = Object.freeze({
  name: 'postgres',
  quote: (identifier: string) => `"${identifier}"`,
  same: (a: string, b: string) => `${a} IS NOT DISTINCT FROM ${b}`,
  true: 'true',
  false: 'false',
  isUniqueViolation: (error: unknown) => codeOf(error) === '23505',
  // read_only_sql_transaction
  isReadOnlyViolation: (error: unknown) => codeOf(error) === '25006',
  // Class 42: syntax error or access rule violation (42601 syntax, 42703 column, 42883 function…).
  isInvalidSql: (error: unknown) => String(codeOf(error) ?? '').startsWith('42'),
});

/**
 * Named placeholders for the store's own values, built one way for both
 * backends. The caller's filter keeps its own placeholders verbatim (SQLite
 * `?`, Postgres `$1…$m`), and its parameters come first: SQLite binds them
 * as anonymous parameters beside our named `@name` ones; Postgres numbers
 * ours after them (`$m+1…`), so the filter text is never rewritten.
 */
export interface Slots {
  /** The placeholder of the value `name`; the same name twice is the same placeholder. */
  slot(name: string): string;
  /** The arguments to run the text with: the filter's parameters, then ours. */
  args(values: Readonly<Record<string, unknown>>, filterParams?: readonly unknown[]): unknown[];
}

export function slots(dialect: Dialect, filterParams = 0): Slots {
  const order: string[] = [];
  return {
    slot(name: string): string {
      if (!/^[a-z][A-Za-z0-9]*$/.test(name)) throw new TypeError(`bad slot name ${name}`);
      if (dialect.name === 'sqlite') {
        if (!order.includes(name)) order.push(name);
        return `@${name}`;
      }
      let i = order.indexOf(name);
      if (i < 0) i = order.push(name) - 1;
      return `$${filterParams + i + 1}`;
    },
    args(values, filter = []): unknown[] {
      const missing = order.filter((n) => !(n in values));
      if (missing.length > 0) throw new TypeError(`no value for ${missing.join(', ')}`);
      if (dialect.name === 'sqlite') {
        const named: Record<string, unknown> = {};
        for (const n of order) named[n] = values[n];
        return order.length > 0 ? [...filter, named] : [...filter];
      }
      return [...filter, ...order.map((n) => values[n])];
    },
  };
}

/** A caller's trusted filter appended to a WHERE clause, verbatim: `' AND (<where>)'`, or `''`. */
export function filterClause(filter: { where: string } | undefined): string {
  return filter ? ` AND (${filter.where})` : '';
}
