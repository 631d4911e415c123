import { validateIdentifier } from '../core/index.js';
import type { ScanOptions } from './index/scan-indexes.js';

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
  /**
   * How searches scan each generation's vectors: in memory with WebAssembly
   * SIMD kernels (the default), or with sqlite-vec. See `ScanOptions`.
   *
   * @example
   * ```ts
   * { scan: { float: 'float32', maxResidentBytes: 512 * 2 ** 20 } }
   * ```
   */
  scan?: ScanOptions;
}

/** A schema whose every identifier has been validated, copied and frozen. */
export type ValidSqliteSchema = Readonly<
  Required<Omit<SqliteSchema, 'revisionColumn' | 'embedGenColumn' | 'leaseMs' | 'scan'>>
> &
  Readonly<Pick<SqliteSchema, 'revisionColumn' | 'embedGenColumn' | 'leaseMs' | 'scan'>>;

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
    ...(schema.scan === undefined ? {} : { scan: validScan(schema.scan) }),
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

const FLOAT_SCANS = ['int8', 'float32', 'sqlite-vec'];

function validScan(scan: ScanOptions): ScanOptions {
  if (scan === null || typeof scan !== 'object')
    throw new TypeError('schema.scan must be an object');
  if (scan.float !== undefined && !FLOAT_SCANS.includes(scan.float)) {
    throw new TypeError(
      `schema.scan.float must be one of ${FLOAT_SCANS.join(', ')}, got ${JSON.stringify(scan.float)}`,
    );
  }
  const cap = scan.maxResidentBytes;
  if (cap !== undefined && (typeof cap !== 'number' || !(cap >= 0))) {
    throw new RangeError(
      `schema.scan.maxResidentBytes must be a number of bytes >= 0 (0 keeps every generation on sqlite-vec), got ${String(cap)}`,
    );
  }
  return Object.freeze({ ...scan });
}
