import { validateIdentifier } from '../core/index.js';

/**
 * Where the caller's documents live, and where the store keeps its own
 * tables. The caller owns `docsTable`; the store owns `<vectorsPrefix>_*`.
 */
export interface SqliteSchema {
  /** The caller's documents table. */
  docsTable: string;
  /** Its primary-key column (INTEGER or TEXT). */
  idColumn: string;
  /** The text to embed. */
  contentColumn: string;
  /**
   * A column that changes whenever the content changes (`updated_at`, a
   * version counter, a content hash). When set, stamps are conditional: a
   * save whose revision no longer matches the row is refused with
   * `StaleError`, and a later edit makes the document pending again.
   */
  revisionColumn?: string;
  /**
   * A nullable column the store writes the generation key into on save.
   * Setting it to NULL is how a caller invalidates a document for every
   * generation (for example from a trigger).
   */
  embedGenColumn?: string;
  /** Prefix of the store's own tables: `<prefix>_generations`, `<prefix>_chunks`, `<prefix>_stamps`, … */
  vectorsPrefix: string;
  /**
   * Keep an FTS5 full-text index of embedded documents for hybrid search.
   * Default true. The index is written by the same transaction that stamps a
   * document, from the content whose revision was just verified.
   */
  fullText?: boolean;
  /**
   * For several fill workers on one database: each scan leases the documents
   * it returns for this many milliseconds, and other workers skip documents
   * leased by someone else, so two workers do not embed the same page. A
   * crashed worker's leases simply expire. Off by default (one worker needs
   * no leases).
   */
  leaseMs?: number;
}

/** A schema whose every identifier has been validated, copied and frozen. */
export type ValidSqliteSchema = Readonly<
  Required<Omit<SqliteSchema, 'revisionColumn' | 'embedGenColumn' | 'leaseMs'>>
> &
  Readonly<Pick<SqliteSchema, 'revisionColumn' | 'embedGenColumn' | 'leaseMs'>>;

/** Validates every identifier before any of them is put into SQL. */
export function validateSchema(schema: SqliteSchema): ValidSqliteSchema {
  if (schema === null || typeof schema !== 'object')
    throw new TypeError('schema must be an object');
  const out: ValidSqliteSchema = {
    docsTable: validateIdentifier(schema.docsTable, 'docsTable'),
    idColumn: validateIdentifier(schema.idColumn, 'idColumn'),
    contentColumn: validateIdentifier(schema.contentColumn, 'contentColumn'),
    vectorsPrefix: validateIdentifier(schema.vectorsPrefix, 'vectorsPrefix'),
    fullText: schema.fullText ?? true,
    ...(schema.leaseMs === undefined ? {} : { leaseMs: validLease(schema.leaseMs) }),
    ...(schema.revisionColumn === undefined
      ? {}
      : { revisionColumn: validateIdentifier(schema.revisionColumn, 'revisionColumn') }),
    ...(schema.embedGenColumn === undefined
      ? {}
      : { embedGenColumn: validateIdentifier(schema.embedGenColumn, 'embedGenColumn') }),
  };
  return Object.freeze(out);
}

function validLease(ms: number): number {
  if (!Number.isFinite(ms) || ms <= 0)
    throw new RangeError(`leaseMs must be a positive number of milliseconds, got ${ms}`);
  return ms;
}

/**
 * A validated identifier as SQL text, double-quoted so that a name that is
 * also a keyword (a table `order`, a column `references`) still works.
 * Validation already ruled out quotes inside the name.
 */
export function quoted(name: string): string {
  return `"${name}"`;
}
