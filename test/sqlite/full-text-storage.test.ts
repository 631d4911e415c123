import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { fill } from '../../src/core/index.js';
import { openDatabase, SqliteStore } from '../../src/sqlite/index.js';
import { embed, hashEncoder } from '../support/hash-encoder.js';
import { DOCS_DDL, SCHEMA, tempDir } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

function database(): Database.Database {
  const { dir, cleanup } = tempDir();
  const db = openDatabase(join(dir, 'fts.db'));
  cleanups.push(cleanup, () => db.close());
  db.exec(DOCS_DDL);
  const insert = db.prepare('INSERT INTO docs (id, content) VALUES (?, ?)');
  for (let i = 1; i <= 40; i++)
    insert.run(i, i === 7 ? 'a note about the zygomorphic orchid' : `plain note number ${i}`);
  return db;
}

const ftsSql = (db: Database.Database) =>
  db.prepare("SELECT sql FROM sqlite_master WHERE name = 'vf_fts'").pluck().get() as string;
const found = (store: SqliteStore, word: string) =>
  store
    .queryGeneration('a', embed('plain note', 16), 5, { hybrid: true, text: word })
    .map((h) => Number(h.doc));

describe('the full-text index stores no second copy of the text (issue 17 #9)', () => {
  it('is a contentless FTS5 table that still finds, replaces and forgets documents', async () => {
    const db = database();
    const store = SqliteStore.open(db, SCHEMA);
    store.ensureGeneration('a', { model: 'hash-bow', dimensions: 16 }, 'active');
    await fill(store, 'a', hashEncoder(16).encode);
    expect(ftsSql(db)).toMatch(/content\s*=\s*''/);
    // No text is kept in the index: the documents table holds it once.
    expect(db.prepare('SELECT count(*) FROM vf_fts WHERE body IS NOT NULL').pluck().get()).toBe(0);
    expect(found(store, 'zygomorphic')).toContain(7);
    // An edited document is found by its new words only, once filled again.
    db.prepare("UPDATE docs SET content = 'now about a quokka', revision = 2 WHERE id = 7").run();
    await fill(store, 'a', hashEncoder(16).encode);
    expect(found(store, 'quokka')).toContain(7);
    expect(found(store, 'zygomorphic')).not.toContain(7);
    // A deleted document leaves the index.
    db.prepare('DELETE FROM docs WHERE id = 7').run();
    await store.deleteVectors(7);
    expect(found(store, 'quokka')).not.toContain(7);
    expect(
      db.prepare("SELECT count(*) FROM vf_fts WHERE vf_fts MATCH 'quokka'").pluck().get(),
    ).toBe(0);
  });

  it('a table made by an older version, with content, is rebuilt contentless on open and keeps answering', async () => {
    const db = database();
    let store = SqliteStore.open(db, SCHEMA);
    store.ensureGeneration('a', { model: 'hash-bow', dimensions: 16 }, 'active');
    await fill(store, 'a', hashEncoder(16).encode);
    // Put back the table an older version made: FTS5 keeping its own copy of the text.
    db.exec(`
      CREATE VIRTUAL TABLE vf_fts_old USING fts5(body, tokenize = 'unicode61 remove_diacritics 2');
      INSERT INTO vf_fts_old (rowid, body) SELECT k.id, d.content FROM vf_keys k JOIN docs d ON d.id = k.doc;
      DROP TABLE vf_fts_vocab;
      DROP TABLE vf_fts;
      ALTER TABLE vf_fts_old RENAME TO vf_fts;
      CREATE VIRTUAL TABLE vf_fts_vocab USING fts5vocab(vf_fts, 'row');
    `);
    expect(ftsSql(db)).not.toMatch(/content\s*=/);
    expect(
      db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'vf_fts_content'").pluck().get(),
    ).toBe(1);
    store = SqliteStore.open(db, SCHEMA);
    expect(ftsSql(db)).toMatch(/content\s*=\s*''/);
    expect(
      db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'vf_fts_content'").pluck().get(),
    ).toBe(0);
    // Nothing was filled again: the rows moved over.
    expect(found(store, 'zygomorphic')).toContain(7);
    expect(db.prepare('SELECT count(*) FROM vf_fts_docsize').pluck().get()).toBe(40);
    // Opening again changes nothing.
    SqliteStore.open(db, SCHEMA);
    expect(found(store, 'zygomorphic')).toContain(7);
  });
});
