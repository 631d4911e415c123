import { PGlite } from '@electric-sql/pglite';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { equalityFilter, POSTGRES, SQLITE } from '../../src/sql/index.js';
import { throwsWith } from '../support/thrown.js';

// The one column-equality filter (vecfill mcp's `filter`, vecfill/langchain's
// metadata filter), run as a caller's filter on the real engines.
describe('equalityFilter', () => {
  const db = new Database(':memory:');
  const pg = new PGlite();
  afterAll(async () => {
    db.close();
    await pg.close();
  });
  const columns = ['id', 'lang', 'draft', 'tag'];
  const pairs = { lang: 'en', draft: false, tag: null };

  it('SQLite: equal values bound as ?, booleans as 1/0, null as IS NULL', () => {
    db.exec(`CREATE TABLE docs (id INTEGER PRIMARY KEY, lang TEXT, draft INTEGER, tag TEXT);
      INSERT INTO docs VALUES (1, 'en', 0, NULL), (2, 'en', 1, NULL), (3, 'de', 0, NULL), (4, 'en', 0, 'x')`);
    const f = equalityFilter(pairs, columns, SQLITE)!;
    expect(f.where).toBe('d."lang" = ? AND d."draft" = ? AND d."tag" IS NULL');
    const rows = db.prepare(`SELECT id FROM docs d WHERE ${f.where}`).all(...f.params);
    expect(rows).toEqual([{ id: 1 }]);
  });

  it('Postgres: the same filter numbered $1…, on a boolean column', async () => {
    await pg.exec(`CREATE TABLE docs (id int PRIMARY KEY, lang text, draft boolean, tag text);
      INSERT INTO docs VALUES (1, 'en', false, NULL), (2, 'en', true, NULL), (3, 'de', false, NULL), (4, 'en', false, 'x')`);
    const f = equalityFilter(pairs, columns, POSTGRES)!;
    expect(f.where).toBe('d."lang" = $1 AND d."draft" = $2 AND d."tag" IS NULL');
    const { rows } = await pg.query(`SELECT id FROM docs d WHERE ${f.where}`, f.params);
    expect(rows).toEqual([{ id: 1 }]);
  });

  it('refuses a name that is not a column (no text reaches the SQL) and a value it cannot compare', () => {
    throwsWith(
      () => equalityFilter({ 'lang; DROP TABLE docs': 'x' }, columns, SQLITE),
      TypeError,
      /is not a column of the documents table \(columns: id, lang, draft, tag\)/,
    );
    throwsWith(
      () => equalityFilter({ body: 'x' }, columns, POSTGRES, '"docs"'),
      TypeError,
      /"body" is not a column of "docs"/,
    );
    throwsWith(
      () => equalityFilter({ lang: { $ne: 'en' } as unknown as string }, columns, SQLITE),
      TypeError,
      /value of lang must be a string, number, boolean or null/,
    );
    expect(equalityFilter({}, columns, SQLITE)).toBeUndefined();
  });
});
