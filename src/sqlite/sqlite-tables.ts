import { DuplicateKeyError, LifecycleError } from '../core/index.js';
import type { SqliteContext } from './sqlite-context.js';
import { quoted } from './sqlite-schema.js';
import { createTextIndex } from './sqlite-text.js';

/**
 * The store's tables, and the upgrades of databases made by older
 * versions: each added column is added when missing, so a store opens any
 * database an earlier vecfill wrote. Run once by `SqliteStore.open`.
 */
export function createTables(c: SqliteContext): void {
  const t = c.t;
  const s = c.schema;
  const columns = c.db.prepare(`PRAGMA table_info(${t.docs})`).all() as {
    name: string;
    type: string;
  }[];
  if (columns.length === 0) {
    throw new LifecycleError(
      `documents table ${s.docsTable} does not exist in this database; create it first or fix schema.docsTable`,
    );
  }
  const byName = new Map(columns.map((c) => [c.name.toLowerCase(), c]));
  for (const [role, name] of Object.entries({
    idColumn: s.idColumn,
    contentColumn: s.contentColumn,
    revisionColumn: s.revisionColumn,
    embedGenColumn: s.embedGenColumn,
  })) {
    if (name !== undefined && !byName.has(name.toLowerCase())) {
      throw new LifecycleError(
        `table ${s.docsTable} has no column ${name} (schema.${role}); columns are: ${columns.map((c) => c.name).join(', ')}`,
      );
    }
  }
  checkUnique(c, columns as { name: string; type: string; pk: number }[]);
  // Key columns take the affinity of the caller's id column, so joins on
  // them compare like with like and can use their indexes.
  const docType = affinityOf(byName.get(s.idColumn.toLowerCase())!.type);
  const p = s.vectorsPrefix;
  c.db.exec(`
      CREATE TABLE IF NOT EXISTS ${t.gens} (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        generation TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        dimensions INTEGER NOT NULL CHECK (dimensions > 0),
        state TEXT NOT NULL CHECK (state IN ('building', 'active', 'retired')),
        reclaimed INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        quantization TEXT CHECK (quantization IN ('binary', 'int8')),
        oversample INTEGER CHECK (oversample > 0),
        writes INTEGER NOT NULL DEFAULT 0,
        centre BLOB,
        prune_after
      );
      CREATE UNIQUE INDEX IF NOT EXISTS ${p}_one_active ON ${t.gens}(state) WHERE state = 'active';
      CREATE UNIQUE INDEX IF NOT EXISTS ${p}_one_building ON ${t.gens}(state) WHERE state = 'building';
      CREATE TABLE IF NOT EXISTS ${t.chunks} (
        id INTEGER PRIMARY KEY,
        gen INTEGER NOT NULL,
        doc ${docType} NOT NULL,
        chunk_index INTEGER NOT NULL,
        start INTEGER NOT NULL,
        "end" INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS ${p}_chunks_doc ON ${t.chunks}(gen, doc);
      CREATE TABLE IF NOT EXISTS ${t.stamps} (
        gen INTEGER NOT NULL,
        doc ${docType} NOT NULL,
        revision,
        chunks INTEGER NOT NULL,
        PRIMARY KEY (gen, doc)
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS ${p}_stamps_doc ON ${t.stamps}(doc);
    `);
  // Databases made before quantization existed lack its two columns.
  const genColumns = c.db.prepare(`PRAGMA table_info(${t.gens})`).all() as { name: string }[];
  if (!genColumns.some((c) => c.name === 'quantization')) {
    c.db.exec(`ALTER TABLE ${t.gens} ADD COLUMN quantization TEXT CHECK (quantization IN ('binary', 'int8'));
        ALTER TABLE ${t.gens} ADD COLUMN oversample INTEGER CHECK (oversample > 0);
        ALTER TABLE ${t.gens} ADD COLUMN writes INTEGER NOT NULL DEFAULT 0;`);
  }
  if (!genColumns.some((c) => c.name === 'centre')) {
    c.db.exec(`ALTER TABLE ${t.gens} ADD COLUMN centre BLOB`);
  }
  if (!genColumns.some((c) => c.name === 'prune_after')) {
    c.db.exec(`ALTER TABLE ${t.gens} ADD COLUMN prune_after`);
  }
  c.scans.log.create();
  // Why a document was skipped (NULL for embedded and blank documents).
  const stampColumns = c.db.prepare(`PRAGMA table_info(${t.stamps})`).all() as {
    name: string;
  }[];
  if (!stampColumns.some((c) => c.name === 'reason')) {
    c.db.exec(`ALTER TABLE ${t.stamps} ADD COLUMN reason TEXT`);
  }
  // Chunks the encoder rejected in a document saved with its other chunks.
  if (!stampColumns.some((c) => c.name === 'skipped_chunks')) {
    c.db.exec(`ALTER TABLE ${t.stamps} ADD COLUMN skipped_chunks INTEGER NOT NULL DEFAULT 0`);
  }
  if (s.leaseMs !== undefined) {
    c.db.exec(`CREATE TABLE IF NOT EXISTS ${t.leases} (
        gen INTEGER NOT NULL, doc ${docType} NOT NULL, owner TEXT NOT NULL, expires REAL NOT NULL,
        PRIMARY KEY (gen, doc)
      ) WITHOUT ROWID`);
  }
  if (s.fullText) {
    c.db.exec(
      `CREATE TABLE IF NOT EXISTS ${t.keys} (id INTEGER PRIMARY KEY, doc ${docType} NOT NULL UNIQUE)`,
    );
    createTextIndex(c);
  }
}

/**
 * Refuses an id column that is not unique, before anything is saved: stamps
 * and vectors are keyed by it, so two rows sharing a key would share (and
 * overwrite) each other's vectors. A PRIMARY KEY or a single-column UNIQUE
 * index proves it; otherwise the rows are checked once here (and every
 * save checks its own key).
 */
function checkUnique(
  c: SqliteContext,
  columns: { name: string; type: string; pk: number }[],
): void {
  const s = c.schema;
  const id = s.idColumn.toLowerCase();
  const pk = columns.filter((col) => col.pk > 0);
  if (pk.length === 1 && pk[0]!.name.toLowerCase() === id) return;
  const indexes = c.db.prepare(`PRAGMA index_list(${c.t.docs})`).all() as {
    name: string;
    unique: number;
    partial: number;
  }[];
  for (const ix of indexes) {
    if (!ix.unique || ix.partial) continue;
    const cols = c.db.prepare(`PRAGMA index_info(${quoted(ix.name)})`).all() as {
      name: string | null;
    }[];
    if (cols.length === 1 && cols[0]!.name?.toLowerCase() === id) return;
  }
  const dup = c.db
    .prepare(
      `SELECT ${quoted(s.idColumn)} FROM ${c.t.docs} GROUP BY ${quoted(s.idColumn)} HAVING count(*) > 1 LIMIT 1`,
    )
    .pluck()
    .get();
  if (dup !== undefined) throw new DuplicateKeyError(s.docsTable, s.idColumn, dup);
}

/** SQLite's affinity rules for a declared column type, as a type name for our key columns. */
function affinityOf(declared: string): string {
  const t = declared.toUpperCase();
  if (t.includes('INT')) return 'INTEGER';
  if (t.includes('CHAR') || t.includes('CLOB') || t.includes('TEXT')) return 'TEXT';
  if (t === '' || t.includes('BLOB')) return '';
  if (t.includes('REAL') || t.includes('FLOA') || t.includes('DOUB')) return 'REAL';
  return 'NUMERIC';
}
