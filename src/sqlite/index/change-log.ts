import type Database from 'better-sqlite3';

/** Entries one multi-row INSERT writes. */
const GROUP = 32;

/**
 * The change log: every chunk row written to or removed from a generation's
 * vectors, in one increasing sequence, so an in-memory index (in this
 * process or another) applies only what changed since it last looked
 * instead of rereading the whole generation.
 *
 * A reader remembers the sequence number it is current to. Entries are
 * trimmed once far behind the head (`KEEP` entries per generation); the
 * generation's floor then rises to the trimmed point, and a reader whose
 * sequence is below the floor reloads — it had fallen so far behind that a
 * reload costs about what replaying would. A change that rewrites every row
 * (re-centring binary codes) sets the floor to itself: every reader reloads.
 */
export class ChangeLog {
  readonly #db: Database.Database;
  readonly #log: string;
  readonly #floor: string;
  readonly #st = new Map<string, Database.Statement>();

  /** Entries kept per generation behind its head. */
  static KEEP = 100_000;
  /** Trim once every this many entries. */
  static TRIM_EVERY = 4096;

  constructor(db: Database.Database, prefix: string) {
    this.#db = db;
    this.#log = `${prefix}_changes`;
    this.#floor = `${prefix}_change_floor`;
  }

  /** Creates the log's tables if missing. */
  create(): void {
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS ${this.#log} (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        gen INTEGER NOT NULL,
        chunk INTEGER NOT NULL,
        removed INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS ${this.#floor} (gen INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
    `);
    // A generation's entries after a sequence number are read from this
    // index alone (it holds every column `since` reads): no lookup into
    // the table per entry. Databases made before it have an index on
    // (gen, seq) only, replaced here; a read-only connection keeps it.
    if (this.#db.readonly) return;
    this.#db.exec(`
      CREATE INDEX IF NOT EXISTS ${this.#log}_gen_seq ON ${this.#log}(gen, seq, chunk, removed);
      DROP INDEX IF EXISTS ${this.#log}_gen;
    `);
  }

  #stmt(key: string, sql: () => string): Database.Statement {
    let st = this.#st.get(key);
    if (!st) {
      st = this.#db.prepare(sql());
      this.#st.set(key, st);
    }
    return st;
  }

  /** Records chunk rows written (`removed` false) or removed. Call inside the writing transaction. */
  record(gen: number, chunks: readonly (number | bigint)[], removed: boolean): void {
    // Many chunks (a bulk save) in multi-row statements of GROUP rows, the rest one by one.
    const flag = removed ? 1 : 0;
    const ins = (n: number) =>
      this.#stmt(
        `ins${n}`,
        () =>
          `INSERT INTO ${this.#log} (gen, chunk, removed) VALUES ${Array(n).fill('(?, ?, ?)').join(', ')}`,
      );
    let seq = 0;
    const groups = Math.floor(chunks.length / GROUP) * GROUP;
    for (let i = 0; i < groups; i += GROUP) {
      const args: (number | bigint)[] = [];
      for (let j = i; j < i + GROUP; j++) args.push(gen, chunks[j]!, flag);
      seq = Number(ins(GROUP).run(args).lastInsertRowid);
    }
    for (let i = groups; i < chunks.length; i++)
      seq = Number(ins(1).run(gen, chunks[i]!, flag).lastInsertRowid);
    if (
      seq > 0 &&
      Math.floor(seq / ChangeLog.TRIM_EVERY) !==
        Math.floor((seq - chunks.length) / ChangeLog.TRIM_EVERY)
    ) {
      // Keep the generation's own newest KEEP entries. (The sequence is
      // shared by every generation: trimming at `seq - KEEP` would raise
      // this generation's floor past readers that are current whenever
      // another generation was written a lot — a reload for nothing.)
      const upTo = this.#stmt(
        'keepFrom',
        () => `SELECT seq FROM ${this.#log} WHERE gen = ? ORDER BY seq DESC LIMIT 1 OFFSET ?`,
      )
        .pluck()
        .get(gen, ChangeLog.KEEP) as number | undefined;
      if (upTo !== undefined) this.#trim(gen, upTo);
    }
  }

  /** Every reader of `gen` reloads (its rows were all rewritten). Call inside the writing transaction. */
  reset(gen: number): void {
    const seq = Number(
      this.#stmt(
        'mark',
        () => `INSERT INTO ${this.#log} (gen, chunk, removed) VALUES (?, -1, 2)`,
      ).run(gen).lastInsertRowid,
    );
    this.#trim(gen, seq);
  }

  /**
   * Trims `gen`'s entries in transactions of `step` rows, leaving at most
   * `step`: before a `reset`, whose own trim would otherwise delete up to
   * `KEEP` rows while holding the write lock. Readers below the rising floor
   * reload, as they would after the reset. Call outside a transaction.
   */
  trimInSteps(gen: number, step = 5000): void {
    const nth = this.#stmt(
      'nth',
      () => `SELECT seq FROM ${this.#log} WHERE gen = ? ORDER BY seq LIMIT 1 OFFSET ?`,
    ).pluck();
    const once = this.#db.transaction((): boolean => {
      const upTo = nth.get(gen, step) as number | undefined;
      if (upTo === undefined) return false;
      this.#trim(gen, upTo);
      return true;
    });
    while (once.immediate());
  }

  /** Forgets `gen` (its storage was dropped). */
  forget(gen: number): void {
    this.reset(gen);
  }

  #trim(gen: number, upTo: number): void {
    if (upTo <= 0) return;
    this.#stmt('trim', () => `DELETE FROM ${this.#log} WHERE gen = ? AND seq < ?`).run(gen, upTo);
    this.#stmt(
      'floor',
      () =>
        `INSERT INTO ${this.#floor} (gen, seq) VALUES (?, ?) ON CONFLICT (gen) DO UPDATE SET seq = max(seq, excluded.seq)`,
    ).run(gen, upTo);
  }

  /** The generation's newest sequence number and its floor (0 when none). */
  head(gen: number): { head: number; floor: number } {
    return this.#stmt(
      'head',
      () =>
        `SELECT coalesce((SELECT max(seq) FROM ${this.#log} WHERE gen = ?), 0) AS head,
                coalesce((SELECT seq FROM ${this.#floor} WHERE gen = ?), 0) AS floor`,
    ).get(gen, gen) as { head: number; floor: number };
  }

  /**
   * What changed in `gen` after `seq`, up to `head`, net per chunk (the last
   * entry wins): chunk ids to (re)read and chunk ids to remove.
   */
  since(gen: number, seq: number, head: number): { upserted: number[]; removed: number[] } {
    // One number per entry (a removal as −1 − chunk): no array per row.
    const entries = this.#stmt(
      'since',
      () =>
        `SELECT CASE WHEN removed THEN -1 - chunk ELSE chunk END FROM ${this.#log}
         WHERE gen = ? AND seq > ? AND seq <= ? AND chunk >= 0 ORDER BY seq`,
    )
      .pluck()
      .all(gen, seq, head) as number[];
    const last = new Map<number, boolean>();
    for (const e of entries) {
      if (e >= 0) last.set(e, false);
      else last.set(-1 - e, true);
    }
    const upserted: number[] = [];
    const removed: number[] = [];
    for (const [chunk, r] of last) (r ? removed : upserted).push(chunk);
    return { upserted, removed };
  }
}
