import type Database from 'better-sqlite3';
import { positiveInteger } from '../core/defaults.js';

/**
 * What a cached statement is: its name, the generation it reads (its tables
 * carry the generation id) and the caller's filter text, compared exactly.
 */
export interface StatementKey {
  /** What the statement does, e.g. `'stamp'` or `'knn'`. */
  name: string;
  /** The generation whose tables it names; `reclaim` evicts exactly these. */
  gen?: number;
  /** The caller's filter text it embeds. */
  filter?: string;
  /** Reads integers as bigints (keys and revisions above 2^53 survive). */
  safeIntegers?: boolean;
}

interface Entry {
  gen: number | undefined;
  statement: Database.Statement;
}

/** How many statements one store keeps prepared (filters vary: they must not grow it without bound). */
export const STATEMENT_CACHE_SIZE = 256;

/**
 * The store's prepared statements, bounded: the least recently used one is
 * dropped once `size` are held, so searches with ever new filter texts keep
 * memory flat. Keys are compared whole (no substring matching).
 */
export class StatementCache {
  readonly #db: Database.Database;
  readonly #max: number;
  /** Insertion order is recency order: a hit moves its entry to the end. */
  readonly #entries = new Map<string, Entry>();

  constructor(db: Database.Database, max = STATEMENT_CACHE_SIZE) {
    positiveInteger(max, 'statement cache size');
    this.#db = db;
    this.#max = max;
  }

  /** The statement for `key`, prepared from `sql()` on a miss. */
  get(key: StatementKey, sql: () => string): Database.Statement {
    // Exact: the name and generation cannot hold a NUL, and the filter comes last.
    const id = `${key.name}\0${key.gen ?? ''}\0${key.safeIntegers ? 1 : 0}\0${key.filter ?? ''}`;
    const hit = this.#entries.get(id);
    if (hit) {
      this.#entries.delete(id);
      this.#entries.set(id, hit);
      return hit.statement;
    }
    const statement = this.#db.prepare(sql());
    if (key.safeIntegers) statement.safeIntegers(true);
    this.#entries.set(id, { gen: key.gen, statement });
    if (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
    return statement;
  }

  /** Drops every statement of generation `gen`, and only those. */
  evictGeneration(gen: number): void {
    for (const [id, e] of this.#entries) if (e.gen === gen) this.#entries.delete(id);
  }

  /** Statements held. */
  get size(): number {
    return this.#entries.size;
  }
}
