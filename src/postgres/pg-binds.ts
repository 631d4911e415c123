import type { PgFilter } from './pg-types.js';

/**
 * The values of one statement and their `$n` placeholders. A caller's filter
 * is bound first, so its SQL keeps its own `$1…$n` verbatim (nothing
 * rewrites the caller's text); the store's values are numbered after them.
 */
export class PgBinds {
  readonly values: unknown[];
  /** The filter's condition (` AND (…)`), or `''` without a filter. */
  readonly where: string;

  constructor(filter?: PgFilter) {
    this.values = [...(filter?.params ?? [])];
    this.where = filter ? ` AND (${filter.where})` : '';
  }

  /** Binds `value` and returns its placeholder. */
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}
