import { validateIdentifier } from '../core/identifier.js';
import { InvalidIdentifierError } from '../core/index.js';
import {
  type BaseSchema,
  POSTGRES,
  type SqlNames,
  type ValidBaseSchema,
  validateBaseSchema,
} from '../sql/index.js';

/** PostgreSQL truncates identifiers to NAMEDATALEN - 1 bytes; two names equal after that are one. */
export const PG_MAX_IDENTIFIER_BYTES = 63;

/**
 * Every name the store derives from `vectorsPrefix` (tables and indexes),
 * with the generation id at its widest (`serial` stops at 2^31 - 1). A new
 * derived name joins this list, so the prefix check below covers it.
 */
const DERIVED_SUFFIXES = [
  'generations',
  'one_active',
  'one_building',
  'chunks',
  'chunks_doc',
  'stamps',
  'stamps_doc',
  'leases',
  'changes',
  'notify',
  'vec_2147483647',
  'vec_2147483647_hnsw',
] as const;

/** The longest `vectorsPrefix` (without its schema) every derived name fits for. */
export const PG_MAX_PREFIX_BYTES =
  PG_MAX_IDENTIFIER_BYTES - 1 - Math.max(...DERIVED_SUFFIXES.map((x) => x.length));

/**
 * The shared schema fields (`BaseSchema`: same meaning as the SQLite
 * schema); `docsTable` and `vectorsPrefix` may be schema-qualified
 * (`app.notes`, `vec.notes`).
 */
export interface PgSchema extends BaseSchema {
  /** Text search configuration for hybrid search. Default `'simple'`. */
  textSearchConfig?: string;
}

export interface ValidPgSchema {
  /** The shared fields as validated (unquoted), for messages. */
  base: ValidBaseSchema;
  docs: string;
  id: string;
  content: string;
  revision?: string;
  embedGen?: string;
  /** A store table's quoted, schema-qualified name: `table('chunks')` → `"app"."vf_chunks"`. */
  table(suffix: string): string;
  /** An index's quoted name (indexes live in their table's schema): `"vf_chunks_doc"`. */
  indexName(suffix: string): string;
  /**
   * SQL for the revision of the row aliased `alias` in a form no session
   * setting changes (set by `PgStore.open`, which knows the column's type);
   * absent, the revision's `::text` form is used.
   */
  revisionText?: (alias: string) => string;
  tsConfig: string;
  leaseMs?: number;
}

/**
 * Validates the shared fields (`validateBaseSchema`, one schema qualifier
 * allowed), the Postgres ones (prefix length, text search configuration),
 * and double-quotes every identifier.
 */
export function validatePgSchema(schema: PgSchema): ValidPgSchema {
  const valid = validateBaseSchema(schema, { qualified: true });
  const quote = POSTGRES.quote;
  const prefix = valid.vectorsPrefix;
  const base = prefix.at(-1)!;
  if (Buffer.byteLength(base) > PG_MAX_PREFIX_BYTES) {
    // Postgres would truncate `<prefix>_vec_1` and `<prefix>_vec_12` to one table: refuse up front.
    const longest = `${base}_${DERIVED_SUFFIXES.at(-1)}`;
    throw new InvalidIdentifierError(
      String(schema.vectorsPrefix),
      'vectorsPrefix',
      `the derived name ${longest} would be ${Buffer.byteLength(longest)} bytes and PostgreSQL truncates names to ${PG_MAX_IDENTIFIER_BYTES}; use a prefix of at most ${PG_MAX_PREFIX_BYTES} bytes (a schema qualifier does not count)`,
    );
  }
  const ns = prefix.length === 2 ? `${quote(prefix[0]!)}.` : '';
  return Object.freeze({
    base: valid,
    docs: valid.docsTable.map(quote).join('.'),
    id: quote(valid.idColumn),
    content: quote(valid.contentColumn),
    ...(valid.revisionColumn === undefined ? {} : { revision: quote(valid.revisionColumn) }),
    ...(valid.embedGenColumn === undefined ? {} : { embedGen: quote(valid.embedGenColumn) }),
    table: (suffix: string) => `${ns}${quote(derivedName(base, suffix))}`,
    indexName: (suffix: string) => quote(derivedName(base, suffix)),
    tsConfig: validateIdentifier(schema.textSearchConfig ?? 'simple', 'textSearchConfig'),
    ...(valid.leaseMs === undefined ? {} : { leaseMs: valid.leaseMs }),
  });
}

/** The row's revision as the store stamps and compares it (see `revisionText`). */
export function revisionPg(s: ValidPgSchema, d = 'd'): string {
  return s.revisionText ? s.revisionText(d) : `${d}.${s.revision}::text`;
}

/** The names the shared SQL builders use (`src/sql`), from a valid schema. */
export function pgNames(s: ValidPgSchema): SqlNames {
  return {
    docs: s.docs,
    id: s.id,
    content: s.content,
    ...(s.revision ? { revision: (alias: string) => revisionPg(s, alias) } : {}),
    ...(s.embedGen ? { embedGen: s.embedGen } : {}),
    gens: s.table('generations'),
    chunks: s.table('chunks'),
    stamps: s.table('stamps'),
    leases: s.table('leases'),
  };
}

/**
 * `<base>_<suffix>`, refused when PostgreSQL would truncate it (the prefix
 * check in `validatePgSchema` makes this unreachable for the names the store
 * derives; it guards a suffix added later without joining the list).
 */
export function derivedName(base: string, suffix: string): string {
  const name = `${base}_${validateIdentifier(suffix, 'table suffix')}`;
  if (Buffer.byteLength(name) > PG_MAX_IDENTIFIER_BYTES)
    throw new InvalidIdentifierError(
      name,
      'derived name',
      `longer than PostgreSQL's ${PG_MAX_IDENTIFIER_BYTES} bytes; use a shorter vectorsPrefix`,
    );
  return name;
}
