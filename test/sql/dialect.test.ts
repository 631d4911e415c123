import { PGlite } from '@electric-sql/pglite';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { filterClause, POSTGRES, SQLITE, slots } from '../../src/sql/index.js';
import { throwsWith } from '../support/thrown.js';

// The shared placeholder scheme on the real engines: the store's values are
// named, the caller's filter keeps its own placeholders and its parameters
// come first, so its text is never rewritten.
describe('shared SQL dialect', () => {
  const db = new Database(':memory:');
  const pg = new PGlite();
  afterAll(async () => {
    db.close();
    await pg.close();
  });

  const text = (p: ReturnType<typeof slots>, where: string) =>
    `SELECT ${p.slot('a')} AS a, ${p.slot('b')} AS b, x FROM (SELECT 'kept' AS x, 2 AS n UNION ALL SELECT 'dropped', 9) d WHERE ${p.slot('a')} = ${p.slot('a')}${filterClause({ where })}`;

  it('SQLite: named values beside the filter’s anonymous ? parameters, in any order of use', () => {
    const p = slots(SQLITE, 2);
    const sql = text(p, 'd.n < ? AND d.x <> ?');
    expect(sql).not.toContain('$');
    const rows = db.prepare(sql).all(...p.args({ a: 'A', b: 'B' }, [5, 'nope']));
    expect(rows).toEqual([{ a: 'A', b: 'B', x: 'kept' }]);
  });

  it('Postgres: the filter keeps $1…$m verbatim; the store’s values are numbered after them', async () => {
    const p = slots(POSTGRES, 2);
    const sql = text(p, 'd.n < $1 AND d.x <> $2');
    expect(sql).toContain('d.n < $1 AND d.x <> $2');
    expect(sql).toContain('$3 AS a, $4 AS b');
    const { rows } = await pg.query(sql, p.args({ a: 'A', b: 'B' }, [5, 'nope']));
    expect(rows).toEqual([{ a: 'A', b: 'B', x: 'kept' }]);
  });

  it('refuses to run with a value missing, instead of binding NULL', () => {
    const p = slots(POSTGRES);
    p.slot('gen');
    throwsWith(() => p.args({}), TypeError, /no value for gen/);
  });

  it('recognises a unique violation by the driver’s code, not its message', async () => {
    db.exec('CREATE TABLE u (k UNIQUE); INSERT INTO u VALUES (1)');
    let sqliteError: unknown;
    try {
      db.prepare('INSERT INTO u VALUES (1)').run();
    } catch (e) {
      sqliteError = e;
    }
    expect(SQLITE.isUniqueViolation(sqliteError)).toBe(true);
    expect(SQLITE.isUniqueViolation(new Error('UNIQUE constraint failed: u.k'))).toBe(false);
    await pg.exec('CREATE TABLE u (k int UNIQUE); INSERT INTO u VALUES (1)');
    const pgError = await pg.query('INSERT INTO u VALUES (1)').catch((e: unknown) => e);
    expect(POSTGRES.isUniqueViolation(pgError)).toBe(true);
    expect(POSTGRES.isUniqueViolation(sqliteError)).toBe(false);
    // A write in a read-only search, and SQL that is wrong, by code too.
    db.pragma('query_only = ON');
    const readOnly = (() => {
      try {
        db.prepare('INSERT INTO u VALUES (2)').run();
      } catch (e) {
        return e;
      }
    })();
    db.pragma('query_only = OFF');
    expect(SQLITE.isReadOnlyViolation(readOnly)).toBe(true);
    const invalid = (() => {
      try {
        db.prepare('SELECT nope FROM u').all();
      } catch (e) {
        return e;
      }
    })();
    expect(SQLITE.isInvalidSql(invalid)).toBe(true);
    expect(SQLITE.isInvalidSql(readOnly)).toBe(false);
    const pgReadOnly = await pg
      .transaction(async (tx) => {
        await tx.query('SET TRANSACTION READ ONLY');
        await tx.query('INSERT INTO u VALUES (2)');
      })
      .catch((e: unknown) => e);
    expect(POSTGRES.isReadOnlyViolation(pgReadOnly)).toBe(true);
    const pgInvalid = await pg.query('SELECT nope FROM u').catch((e: unknown) => e);
    expect(POSTGRES.isInvalidSql(pgInvalid)).toBe(true);
    expect(POSTGRES.isInvalidSql(pgReadOnly)).toBe(false);
    expect(SQLITE.same('a', 'b')).toBe('a IS b');
    expect(POSTGRES.same('a', 'b')).toBe('a IS NOT DISTINCT FROM b');
  });
});
