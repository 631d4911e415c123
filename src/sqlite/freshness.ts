import { quoted, type ValidSqliteSchema } from './sqlite-schema.js';

/**
 * THE freshness predicate. A document `d` is covered for a generation when
 * its stamp `s` (LEFT JOINed on that generation) exists, the stamp's revision
 * still equals the row's revision, and — with `embedGenColumn` — that column
 * is not NULL (NULL is how the caller invalidates a document).
 *
 * Pending, search and coverage all use this one expression; pending is its
 * negation, so pending and searchable are exact complements. Do not write a
 * second version of it anywhere: a fork is how deleted or edited documents
 * leak into results while also never being re-embedded.
 */
export function coveredSql(schema: ValidSqliteSchema, d = 'd', s = 's'): string {
  const parts = [`${s}.doc IS NOT NULL`];
  if (schema.revisionColumn) parts.push(`${s}.revision IS ${d}.${quoted(schema.revisionColumn)}`);
  if (schema.embedGenColumn) parts.push(`${d}.${quoted(schema.embedGenColumn)} IS NOT NULL`);
  return `(${parts.join(' AND ')})`;
}
