import { validateIdentifier } from '../core/index.js';

/** Same fields and meaning as the SQLite schema; `docsTable` may be schema-qualified (`app.notes`). */
export interface PgSchema {
  docsTable: string;
  idColumn: string;
  contentColumn: string;
  revisionColumn?: string;
  embedGenColumn?: string;
  /** Prefix of the store's tables; may be schema-qualified too (`vec.notes`). */
  vectorsPrefix: string;
  /** Text search configuration for hybrid search. Default `'simple'`. */
  textSearchConfig?: string;
  /** Lease pending documents to one worker for this long (several fill workers). Off by default. */
  leaseMs?: number;
}

export interface ValidPgSchema {
  docs: string;
  id: string;
  content: string;
  revision?: string;
  embedGen?: string;
  /** Quoted prefix parts: `"schema"."prefix` — append `_chunks"` etc. via `table()`. */
  table(suffix: string): string;
  tsConfig: string;
  leaseMs?: number;
}

/** Validates each identifier (each part of a qualified name) and double-quotes it. */
export function validatePgSchema(schema: PgSchema): ValidPgSchema {
  if (schema === null || typeof schema !== 'object')
    throw new TypeError('schema must be an object');
  const qualified = (name: string, role: string) =>
    String(name)
      .split('.')
      .map((part) => `"${validateIdentifier(part, role)}"`)
      .join('.');
  if (String(schema.docsTable).split('.').length > 2)
    throw new TypeError('docsTable may have at most one schema qualifier');
  const prefixParts = String(schema.vectorsPrefix).split('.');
  if (prefixParts.length > 2)
    throw new TypeError('vectorsPrefix may have at most one schema qualifier');
  for (const p of prefixParts) validateIdentifier(p, 'vectorsPrefix');
  const base = prefixParts.at(-1)!;
  const ns = prefixParts.length === 2 ? `"${prefixParts[0]}".` : '';
  const out: ValidPgSchema = {
    docs: qualified(schema.docsTable, 'docsTable'),
    id: `"${validateIdentifier(schema.idColumn, 'idColumn')}"`,
    content: `"${validateIdentifier(schema.contentColumn, 'contentColumn')}"`,
    table: (suffix: string) => `${ns}"${base}_${validateIdentifier(suffix, 'table suffix')}"`,
    tsConfig: validateIdentifier(schema.textSearchConfig ?? 'simple', 'textSearchConfig'),
  };
  if (schema.revisionColumn !== undefined)
    out.revision = `"${validateIdentifier(schema.revisionColumn, 'revisionColumn')}"`;
  if (schema.embedGenColumn !== undefined)
    out.embedGen = `"${validateIdentifier(schema.embedGenColumn, 'embedGenColumn')}"`;
  if (schema.leaseMs !== undefined) {
    if (!(schema.leaseMs > 0))
      throw new RangeError(`leaseMs must be a positive number, got ${schema.leaseMs}`);
    out.leaseMs = schema.leaseMs;
  }
  return Object.freeze(out);
}

/**
 * THE freshness predicate for Postgres (the twin of the SQLite one): a
 * document is covered when its stamp exists, the stamp's revision is not
 * distinct from the row's (as text), and the invalidation column is not NULL.
 * Pending, search and coverage all use it; never write a second version.
 */
export function coveredPg(s: ValidPgSchema, d = 'd', st = 's'): string {
  const parts = [`${st}.doc IS NOT NULL`];
  if (s.revision) parts.push(`${st}.revision IS NOT DISTINCT FROM ${d}.${s.revision}::text`);
  if (s.embedGen) parts.push(`${d}.${s.embedGen} IS NOT NULL`);
  return `(${parts.join(' AND ')})`;
}
