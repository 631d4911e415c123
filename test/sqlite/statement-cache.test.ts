import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { StatementCache } from '../../src/sqlite/statement-cache.js';

describe('the SQLite statement cache', () => {
  const dbs: Database.Database[] = [];
  afterEach(() => {
    for (const db of dbs.splice(0)) db.close();
  });
  const memory = () => {
    const db = new Database(':memory:');
    dbs.push(db);
    return db;
  };

  it('evicts exactly one generation’s statements: reclaiming generation 1 keeps 10–19’s', () => {
    const cache = new StatementCache(memory());
    const built: string[] = [];
    const get = (gen: number, filter?: string) =>
      cache.get({ name: 'knn', gen, ...(filter ? { filter } : {}) }, () => {
        built.push(`${gen}:${filter ?? ''}`);
        return `SELECT ${gen}`;
      });
    const ten = get(10);
    const eleven = get(11, 'd.x = 1');
    get(1);
    get(1, 'd.x = 1');
    cache.evictGeneration(1);
    expect(get(10)).toBe(ten);
    expect(get(11, 'd.x = 1')).toBe(eleven);
    get(1);
    expect(built).toEqual(['10:', '11:d.x = 1', '1:', '1:d.x = 1', '1:']);
  });

  it('keys statements exactly: a filter text that contains another is another statement', () => {
    const cache = new StatementCache(memory());
    const a = cache.get({ name: 'knn', gen: 1, filter: ' AND (d.x = 1)' }, () => 'SELECT 1');
    const b = cache.get({ name: 'knn', gen: 1, filter: ' AND (d.x = 12)' }, () => 'SELECT 2');
    const c = cache.get({ name: 'knn', gen: 12, filter: ' AND (d.x = 1)' }, () => 'SELECT 3');
    expect(new Set([a, b, c]).size).toBe(3);
    expect(cache.get({ name: 'knn', gen: 1, filter: ' AND (d.x = 1)' }, () => 'SELECT 4')).toBe(a);
  });

  it('stays bounded under ever new filters, keeping the most recently used statements', () => {
    const cache = new StatementCache(memory(), 8);
    const hot = cache.get({ name: 'stamp' }, () => 'SELECT 0');
    for (let i = 1; i <= 100; i++) {
      cache.get({ name: 'share', filter: `d.n = ${i}` }, () => `SELECT ${i}`);
      cache.get({ name: 'stamp' }, () => 'SELECT 0');
    }
    expect(cache.size).toBe(8);
    expect(cache.get({ name: 'stamp' }, () => 'SELECT 0')).toBe(hot);
  });
});
