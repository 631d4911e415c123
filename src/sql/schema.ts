import { validateIdentifier } from '../core/identifier.js';

/**
 * Where the caller's documents live, and where the store keeps its own
 * tables; the fields every SQL backend shares. The caller owns `docsTable`;
 * the store owns `<vectorsPrefix>_*`.
 */
export interface BaseSchema {
  /** The caller's documents table. */
  docsTable: string;
  /** Its primary-key column (an integer or text key). */
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
   * For several fill workers on one database: each scan leases the documents
   * it returns for this many milliseconds, and other workers skip documents
   * leased by someone else, so two workers do not embed the same page. A
   * crashed worker's leases simply expire. Off by default (one worker needs
   * no leases).
   */
  leaseMs?: number;
}

/** The shared fields validated: identifiers checked (each part of a qualified name), nothing quoted yet. */
export interface ValidBaseSchema {
  /** `docsTable`'s parts: `[table]` or `[schema, table]`. */
  readonly docsTable: readonly string[];
  readonly idColumn: string;
  readonly contentColumn: string;
  readonly revisionColumn?: string;
  readonly embedGenColumn?: string;
  /** `vectorsPrefix`'s parts, as `docsTable`'s. */
  readonly vectorsPrefix: readonly string[];
  readonly leaseMs?: number;
}

/**
 * The one validation of the shared schema fields, before any of them is put
 * into SQL. `qualified` allows one schema qualifier (`app.notes`) on the two
 * table names (Postgres); without it a dot is refused like any other
 * character.
 */
export function validateBaseSchema(
  schema: BaseSchema,
  opts: { qualified: boolean },
): ValidBaseSchema {
  if (schema === null || typeof schema !== 'object')
    throw new TypeError('schema must be an object');
  const table = (name: unknown, role: string): string[] => {
    if (!opts.qualified) return [validateIdentifier(name, role)];
    const parts = String(name).split('.');
    if (parts.length > 2) throw new TypeError(`${role} may have at most one schema qualifier`);
    return parts.map((p) => validateIdentifier(p, role));
  };
  return {
    docsTable: table(schema.docsTable, 'docsTable'),
    idColumn: validateIdentifier(schema.idColumn, 'idColumn'),
    contentColumn: validateIdentifier(schema.contentColumn, 'contentColumn'),
    vectorsPrefix: table(schema.vectorsPrefix, 'vectorsPrefix'),
    ...(schema.revisionColumn === undefined
      ? {}
      : { revisionColumn: validateIdentifier(schema.revisionColumn, 'revisionColumn') }),
    ...(schema.embedGenColumn === undefined
      ? {}
      : { embedGenColumn: validateIdentifier(schema.embedGenColumn, 'embedGenColumn') }),
    ...(schema.leaseMs === undefined ? {} : { leaseMs: validLease(schema.leaseMs) }),
  };
}

function validLease(ms: number): number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0)
    throw new RangeError(`leaseMs must be a positive number of milliseconds, got ${ms}`);
  return ms;
}
