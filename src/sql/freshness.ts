import type { Dialect } from './dialect.js';
import type { SqlNames } from './names.js';

/**
 * THE freshness predicate, for both backends. A document `d` is covered for
 * a generation when its stamp `s` (LEFT JOINed on that generation) exists,
 * the stamp's revision still equals the row's revision (NULL-safe), and —
 * with an invalidation column — that column is not NULL (NULL is how the
 * caller invalidates a document).
 *
 * Pending, search and coverage all use this one expression; pending is its
 * negation, so pending and searchable are exact complements. Do not write a
 * second version of it anywhere: a fork is how deleted or edited documents
 * leak into results while also never being re-embedded.
 */
export function coveredSql(names: SqlNames, dialect: Dialect, d = 'd', s = 's'): string {
  const parts = [`${s}.doc IS NOT NULL`];
  if (names.revision) parts.push(dialect.same(`${s}.revision`, names.revision(d)));
  if (names.embedGen) parts.push(`${d}.${names.embedGen} IS NOT NULL`);
  return `(${parts.join(' AND ')})`;
}
