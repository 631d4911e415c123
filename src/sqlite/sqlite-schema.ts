import { type BaseSchema, SQLITE, type SqlNames, validateBaseSchema } from '../sql/index.js';
import type { ScanOptions } from './index/scan-indexes.js';

/**
 * Where the caller's documents live, and where the store keeps its own
 * tables. The caller owns `docsTable`; the store owns `<vectorsPrefix>_*`.
 * The shared fields (`docsTable`, `idColumn`, `contentColumn`,
 * `revisionColumn`, `embedGenColumn`, `vectorsPrefix`, `leaseMs`) mean the
 * same as on every SQL backend: see `BaseSchema`.
 */
export interface SqliteSchema extends BaseSchema {
  /**
   * Keep an FTS5 full-text index of embedded documents for hybrid search.
   * Default true. The index is written by the same transaction that stamps a
   * document, from the content whose revision was just verified.
   */
  fullText?: boolean;
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
  const base = validateBaseSchema(schema, { qualified: false });
  const out: ValidSqliteSchema = {
    docsTable: base.docsTable[0]!,
    idColumn: base.idColumn,
    contentColumn: base.contentColumn,
    vectorsPrefix: base.vectorsPrefix[0]!,
    fullText: schema.fullText ?? true,
    ...(base.leaseMs === undefined ? {} : { leaseMs: base.leaseMs }),
    ...(schema.scan === undefined ? {} : { scan: validScan(schema.scan) }),
    ...(base.revisionColumn === undefined ? {} : { revisionColumn: base.revisionColumn }),
    ...(base.embedGenColumn === undefined ? {} : { embedGenColumn: base.embedGenColumn }),
  };
  return Object.freeze(out);
}

/**
 * A validated identifier as SQL text, double-quoted so that a name that is
 * also a keyword (a table `order`, a column `references`) still works.
 * Validation already ruled out quotes inside the name.
 */
export function quoted(name: string): string {
  return SQLITE.quote(name);
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

/** The names the shared SQL builders use, quoted once. */
export function sqliteNames(schema: ValidSqliteSchema): SqlNames {
  const p = schema.vectorsPrefix;
  const rev = schema.revisionColumn;
  return Object.freeze({
    docs: quoted(schema.docsTable),
    id: quoted(schema.idColumn),
    content: quoted(schema.contentColumn),
    ...(rev === undefined ? {} : { revision: (alias: string) => `${alias}.${quoted(rev)}` }),
    ...(schema.embedGenColumn === undefined ? {} : { embedGen: quoted(schema.embedGenColumn) }),
    gens: `${p}_generations`,
    chunks: `${p}_chunks`,
    stamps: `${p}_stamps`,
    leases: `${p}_leases`,
  });
}
