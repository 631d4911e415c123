import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  DuplicateKeyError,
  type EncodeFn,
  fill,
  PermanentEncodeError,
  search,
} from '../../src/core/index.js';
import { openDatabase, SqliteStore } from '../../src/sqlite/index.js';
import { hashEncoder } from '../support/hash-encoder.js';
import { rejection, throwsWith } from '../support/thrown.js';
import { cleanupsAfterEach, freshDb, sqliteHarness } from './helpers.js';

const cleanupAfter = cleanupsAfterEach();

async function harness() {
  const h = await sqliteHarness();
  cleanupAfter(h.close);
  return h;
}

const GEN_A = { model: 'hash-bow', dimensions: 16 };
const GEN_B = { model: 'hash-bow', dimensions: 16, params: { seed: 'b' } };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('full text belongs to the document, not to a generation', () => {
  it("a building generation's stamp-skip never removes text the active generation finds", async () => {
    const h = await harness();
    for (let i = 1; i <= 30; i++) await h.insert(i, `filler note ${i} about ordinary errands`);
    await h.insert(99, 'the zebra crossing has black and white stripes');
    h.store.ensureGeneration('a', GEN_A, 'active');
    const { encode } = hashEncoder(16);
    await fill(h.store, 'a', encode);
    // The query's vector points at the fillers: only full text finds document 99.
    const elsewhere: EncodeFn = (texts, o) =>
      encode(
        texts.map(() => 'filler errands'),
        o,
      );
    const find = async () =>
      (
        await search(h.store, 'zebra', {
          encoderFor: () => elsewhere,
          hybrid: true,
          limit: 5,
        })
      ).map((x) => x.doc);
    expect(await find()).toContain(99);

    // A migration whose model refuses document 99: B stamp-skips it.
    h.store.ensureGeneration('b', GEN_B, 'building');
    const refusing: EncodeFn = async (texts, o) => {
      if (texts.some((t) => t.includes('zebra')))
        throw new PermanentEncodeError('refused', { status: 400 });
      return hashEncoder(16, 'b').encode(texts, o);
    };
    const r = await fill(h.store, 'b', refusing, { onEncodeError: () => true });
    expect(r.skipped).toBe(1);
    h.store.retire('b');
    expect(await find()).toContain(99);
  });
});

describe('invalidation during a fill', () => {
  it('a document invalidated right after its save is simply pending again (no STORE_INCONSISTENT)', async () => {
    const h = await harness();
    for (let i = 1; i <= 4; i++) await h.insert(i, `note ${i} about topic ${i}`);
    h.store.ensureGeneration('a', GEN_A, 'active');
    const { encode } = hashEncoder(16);
    let invalidated = false;
    const invalidating: EncodeFn = async (texts, o) => {
      if (!invalidated && texts.some((t) => t.includes('note 4'))) {
        // Document 3 was saved a moment ago; the application invalidates it.
        await sleep(20);
        await h.invalidate(3);
        invalidated = true;
      }
      return encode(texts, o);
    };
    const result = await fill(h.store, 'a', invalidating, {
      scanBatch: 2,
      batch: { batchSize: 1 },
    });
    expect(invalidated).toBe(true);
    expect(result.stale).toBe(0);
    expect(result.documents).toBe(5);
    expect(h.store.coverage('a')).toEqual({ embedded: 4, skipped: 0, backlog: 0 });
  });
});

describe('identifiers and keys', () => {
  it('works on a table named order with a column named references (identifiers are quoted)', async () => {
    const { db } = freshDb(cleanupAfter, 'k.db');
    db.exec(
      'CREATE TABLE "order" ("group" INTEGER PRIMARY KEY, "references" TEXT, "select" INTEGER, "from" TEXT)',
    );
    const ins = db.prepare('INSERT INTO "order" VALUES (?, ?, 1, NULL)');
    ins.run(1, 'apple orchard harvest');
    ins.run(2, 'rocket launch orbit');
    const store = SqliteStore.open(db, {
      docsTable: 'order',
      idColumn: 'group',
      contentColumn: 'references',
      revisionColumn: 'select',
      embedGenColumn: 'from',
      vectorsPrefix: 'where',
    });
    store.ensureGeneration('a', GEN_A, 'active');
    const { encode } = hashEncoder(16);
    expect((await fill(store, 'a', encode)).documents).toBe(2);
    const hits = await search(store, 'rocket orbit', {
      encoderFor: () => encode,
      hybrid: true,
      filter: { where: 'd."group" > ?', params: [0] },
    });
    expect(hits[0]!.doc).toBe(2);
    db.prepare('UPDATE "order" SET "from" = NULL WHERE "group" = 1').run();
    expect(store.coverage('a').backlog).toBe(1);
    store.deleteVectors(1);
    expect(store.prune()).toBe(0);
  });

  it('refuses a non-unique id column up front, naming it, with nothing created', () => {
    const { db } = freshDb(cleanupAfter, 'k.db');
    db.exec('CREATE TABLE notes (ref INTEGER, body TEXT)');
    db.prepare('INSERT INTO notes VALUES (?, ?)').run(1, 'one');
    db.prepare('INSERT INTO notes VALUES (?, ?)').run(1, 'one again');
    db.prepare('INSERT INTO notes VALUES (?, ?)').run(2, 'two');
    const open = () =>
      SqliteStore.open(db, {
        docsTable: 'notes',
        idColumn: 'ref',
        contentColumn: 'body',
        vectorsPrefix: 'vf',
      });
    expect(open).toThrow(DuplicateKeyError);
    throwsWith(open, DuplicateKeyError, /column ref of table notes is not unique/);
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE name LIKE 'vf%'").pluck().all();
    expect(tables).toEqual([]);
  });

  it('refuses to save a key that became duplicated after the store was opened', async () => {
    const { db } = freshDb(cleanupAfter, 'k.db');
    db.exec('CREATE TABLE notes (ref INTEGER, body TEXT)');
    db.prepare('INSERT INTO notes VALUES (?, ?)').run(1, 'one');
    const store = SqliteStore.open(db, {
      docsTable: 'notes',
      idColumn: 'ref',
      contentColumn: 'body',
      vectorsPrefix: 'vf',
    });
    db.prepare('INSERT INTO notes VALUES (?, ?)').run(1, 'one again');
    store.ensureGeneration('a', GEN_A, 'active');
    const error = await fill(store, 'a', hashEncoder(16).encode).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DuplicateKeyError);
    expect(db.prepare('SELECT count(*) FROM vf_stamps').pluck().get()).toBe(0);
  });
});

describe('64-bit keys and revisions', () => {
  it('round-trips ids and revisions above 2^53 exactly (safe ones stay numbers)', async () => {
    const { db } = freshDb(cleanupAfter, 'big.db');
    db.exec('CREATE TABLE events (id INTEGER PRIMARY KEY, body TEXT, ns INTEGER NOT NULL)');
    const big = 2n ** 60n;
    const ns = 1_764_000_000_000_000_001n;
    const ins = db.prepare('INSERT INTO events VALUES (?, ?, ?)');
    ins.run(big, 'apple orchard harvest', ns);
    ins.run(big + 1n, 'rocket launch orbit', ns);
    ins.run(7, 'violin concerto symphony', 5);
    const store = SqliteStore.open(db, {
      docsTable: 'events',
      idColumn: 'id',
      contentColumn: 'body',
      revisionColumn: 'ns',
      vectorsPrefix: 'vf',
    });
    store.ensureGeneration('a', GEN_A, 'active');
    const { encode } = hashEncoder(16);
    const first = await fill(store, 'a', encode);
    expect(first).toMatchObject({ documents: 3, stale: 0 });
    expect(store.coverage('a')).toEqual({ embedded: 3, skipped: 0, backlog: 0 });
    const top = async (q: string) =>
      (await search(store, q, { encoderFor: () => encode, limit: 1 }))[0]!.doc;
    expect(await top('apple orchard')).toBe(big);
    expect(await top('rocket orbit')).toBe(big + 1n);
    expect(await top('violin symphony')).toBe(7);

    // A nanosecond revision that moves by one beyond 2^53 makes the row pending, once.
    db.prepare('UPDATE events SET body = ?, ns = ns + 1 WHERE id = ?').run('sourdough bread', big);
    expect(store.pendingForGeneration('a', 10)).toEqual([
      { doc: big, content: 'sourdough bread', revision: ns + 1n },
    ]);
    expect(await fill(store, 'a', encode)).toMatchObject({ documents: 1, stale: 0 });
    expect(await top('sourdough bread')).toBe(big);
    expect(store.coverage('a').backlog).toBe(0);
  });
});

describe('read-only searches', () => {
  it('runs the filter with query_only on, and leaves the connection writable', async () => {
    const h = await harness();
    for (let i = 1; i <= 5; i++) await h.insert(i, `note ${i} about the sea`);
    h.store.ensureGeneration('a', GEN_A, 'active');
    const { encode } = hashEncoder(16);
    await fill(h.store, 'a', encode);
    const hits = await search(h.store, 'sea', {
      encoderFor: () => encode,
      filter: { where: '(SELECT query_only FROM pragma_query_only) = 1' },
      hybrid: true,
    });
    expect(hits).toHaveLength(5);
    expect(h.db.pragma('query_only', { simple: true })).toBe(0);
    await h.insert(6, 'still writable');
  });
});

describe('orphan stamps', () => {
  it('are pruned as fills go, even when every fill is interrupted', async () => {
    const h = await harness();
    h.db.transaction(() => {
      for (let i = 1; i <= 3000; i++)
        h.db.prepare('INSERT INTO docs (id, content) VALUES (?, ?)').run(i, `note ${i}`);
    })();
    h.store.ensureGeneration('a', GEN_A, 'active');
    const { encode } = hashEncoder(16);
    await fill(h.store, 'a', encode, { scanBatch: 500 });
    // The application deletes 2,000 rows behind vecfill's back, and adds new ones.
    h.db.prepare('DELETE FROM docs WHERE id > 1000').run();
    h.db.transaction(() => {
      for (let i = 5001; i <= 5400; i++)
        h.db.prepare('INSERT INTO docs (id, content) VALUES (?, ?)').run(i, `new note ${i}`);
    })();
    const orphans = () =>
      h.db
        .prepare(
          'SELECT count(*) FROM vf_stamps s WHERE NOT EXISTS (SELECT 1 FROM docs d WHERE d.id = s.doc)',
        )
        .pluck()
        .get() as number;
    expect(orphans()).toBe(2000);
    const seen: number[] = [];
    for (let run = 0; run < 8 && orphans() > 0; run++) {
      // Each fill embeds one page of 20, then is stopped (Ctrl-C, a crash, a deploy).
      const controller = new AbortController();
      let calls = 0;
      const stopping: EncodeFn = async (texts, o) => {
        if (++calls > 1) {
          controller.abort();
          throw new Error('stopped');
        }
        return encode(texts, o);
      };
      // Aborted without a reason: the fill ends with the signal's AbortError.
      const stoppedBy = await rejection(
        fill(h.store, 'a', stopping, {
          scanBatch: 20,
          batch: { batchSize: 20 },
          signal: controller.signal,
        }),
      );
      expect(stoppedBy.name).toBe('AbortError');
      seen.push(orphans());
    }
    expect((await h.store.coverage('a')).backlog).toBeGreaterThan(0); // no fill completed
    expect(seen[0]).toBeLessThan(2000);
    expect(seen.at(-1)).toBe(0);
  });
});

describe('leases', () => {
  it('takes over at once the leases of a filler that is gone, and of one that gave them back', async () => {
    const { db, file } = freshDb(cleanupAfter, 'l.db');
    db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
    for (let i = 1; i <= 10; i++) db.prepare('INSERT INTO notes VALUES (?, ?)').run(i, `n ${i}`);
    const schema = {
      docsTable: 'notes',
      idColumn: 'id',
      contentColumn: 'body',
      vectorsPrefix: 'vf',
      leaseMs: 60_000,
    };
    const a = SqliteStore.open(db, schema);
    a.ensureGeneration('g', GEN_A, 'active');
    expect(a.pendingForGeneration('g', 4).map((p) => p.doc)).toEqual([1, 2, 3, 4]);
    const other = openDatabase(file);
    cleanupAfter(() => {
      other.close();
    });
    const b = SqliteStore.open(other, schema);
    expect(b.pendingForGeneration('g', 4).map((p) => p.doc)).toEqual([5, 6, 7, 8]);
    // A gives its leases back (the CLI does when a fill stops): B may take them.
    expect(a.releaseLeases()).toBe(4);
    expect(b.pendingForGeneration('g', 4).map((p) => p.doc)).toEqual([9, 10, 1, 2]);
    // A process on this machine that no longer runs holds 1 and 2.
    db.prepare('UPDATE vf_leases SET owner = ? WHERE doc IN (1, 2)').run(
      `${hostname()}/999999999/x`,
    );
    const third = openDatabase(file);
    cleanupAfter(() => {
      third.close();
    });
    const c = SqliteStore.open(third, schema);
    expect(c.pendingForGeneration('g', 10).map((p) => p.doc)).toEqual([1, 2, 3, 4]);
  });
});
