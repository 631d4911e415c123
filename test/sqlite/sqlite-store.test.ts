import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import {
  fill,
  InvalidIdentifierError,
  LifecycleError,
  PermanentEncodeError,
  SearchUnavailableError,
  StaleError,
  search,
} from '../../src/core/index.js';
import { ftsQuery } from '../../src/sqlite/full-text.js';
import { SqliteStore } from '../../src/sqlite/index.js';
import { tablesOf } from '../../src/sqlite/sqlite-context.js';
import { sqliteNames } from '../../src/sqlite/sqlite-schema.js';
import { knnSql } from '../../src/sqlite/sqlite-sql.js';
import { embed, hashEncoder } from '../support/hash-encoder.js';
import { throwsWith } from '../support/thrown.js';
import { cleanupsAfterEach, DOCS_DDL, freshDb, SCHEMA, sqliteHarness, tempDir } from './helpers.js';

const cleanupAfter = cleanupsAfterEach();

async function harness() {
  const h = await sqliteHarness();
  cleanupAfter(h.close);
  return h;
}

describe('SqliteStore (SQLite specifics)', () => {
  it('without full text, hybrid search does not pass off a query it cannot embed as "no match"', async () => {
    const { db } = freshDb(cleanupAfter, 'plain.db');
    db.exec(DOCS_DDL);
    db.prepare('INSERT INTO docs (id, content) VALUES (1, ?)').run('ECONNREFUSED from the proxy');
    const store = SqliteStore.open(db, { ...SCHEMA, fullText: false });
    store.ensureGeneration('a', { model: 'm', dimensions: 16 }, 'active');
    await fill(store, 'a', hashEncoder(16).encode);
    const reject = async () => {
      throw new PermanentEncodeError('text 0 has no word the vocabulary knows');
    };
    const err = await search(store, 'ECONNREFUSED', {
      encoderFor: () => reject,
      hybrid: true,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SearchUnavailableError);
    expect((err as SearchUnavailableError).causes[0]!.error).toBeInstanceOf(PermanentEncodeError);
  });

  it('runs the KNN once, materialized, before the joins (EXPLAIN QUERY PLAN)', async () => {
    const h = await harness();
    h.store.ensureGeneration('a', { model: 'm', dimensions: 16 }, 'active');
    const store = h.store as SqliteStore;
    // The store's own SQL text builder, with the names it derives from its schema.
    const names = { t: tablesOf(store.schema), n: sqliteNames(store.schema) };
    const gen = h.db
      .prepare(`SELECT id FROM ${names.t.gens} WHERE key = 'a'`)
      .pluck()
      .get() as number;
    const plan = h.db
      .prepare(`EXPLAIN QUERY PLAN ${knnSql(names, gen, ' AND (d.category = ?)')}`)
      .all('x', { query: Buffer.from(new Float32Array(16).buffer), k: 10, gen, limit: 10 }) as {
      id: number;
      parent: number;
      detail: string;
    }[];
    const details = plan.map((p) => p.detail);
    // The CTE is materialized and scanned as a table; the vec0 index is used exactly once.
    expect(details.some((d) => /MATERIALIZE knn/.test(d))).toBe(true);
    expect(details.filter((d) => /VIRTUAL TABLE INDEX/.test(d))).toHaveLength(1);
    expect(details.some((d) => /SCAN knn/.test(d))).toBe(true);
    // The joins use primary keys, not scans of the chunk or document tables.
    expect(details.some((d) => /SEARCH c USING INTEGER PRIMARY KEY/.test(d))).toBe(true);
    expect(details.some((d) => /SEARCH d USING INTEGER PRIMARY KEY/.test(d))).toBe(true);
    expect(details.some((d) => /SCAN (c|d)\b/.test(d))).toBe(false);
  });

  it('refuses an SQL-injection attempt in every identifier before touching the database', async () => {
    const { db } = freshDb(cleanupAfter, 'x.db');
    db.exec(DOCS_DDL);
    const evil = [
      'docs; DROP TABLE docs',
      'id"--',
      "content' OR 1=1",
      'rev ision',
      '1abc',
      'ｄｏｃｓ',
      'a-b',
      '',
    ];
    for (const field of [
      'docsTable',
      'idColumn',
      'contentColumn',
      'revisionColumn',
      'embedGenColumn',
      'vectorsPrefix',
    ] as const) {
      for (const bad of evil) {
        expect(() => SqliteStore.open(db, { ...SCHEMA, [field]: bad }), `${field}=${bad}`).toThrow(
          InvalidIdentifierError,
        );
      }
    }
    expect(
      db.prepare("SELECT count(*) FROM sqlite_master WHERE name LIKE 'vf_%'").pluck().get(),
    ).toBe(0);
    expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'docs'").pluck().get()).toBe(
      1,
    );
  });

  it('says which table or column is missing', async () => {
    const { db } = freshDb(cleanupAfter, 'x.db');
    throwsWith(
      () => SqliteStore.open(db, SCHEMA),
      LifecycleError,
      /documents table docs does not exist/,
    );
    db.exec(DOCS_DDL);
    throwsWith(
      () => SqliteStore.open(db, { ...SCHEMA, contentColumn: 'body' }),
      LifecycleError,
      /no column body/,
    );
  });

  it('loads sqlite-vec into a plain better-sqlite3 connection and works with TEXT ids and no revision column', async () => {
    const { dir, cleanup } = tempDir();
    cleanupAfter(cleanup);
    const db = new Database(join(dir, 'plain.db'));
    cleanupAfter(() => {
      db.close();
    });
    db.exec('CREATE TABLE notes (slug TEXT PRIMARY KEY, body TEXT)');
    db.prepare('INSERT INTO notes VALUES (?, ?)').run('a-note', 'penguins waddle on ice');
    db.prepare('INSERT INTO notes VALUES (?, ?)').run('b-note', 'volcanoes erupt lava');
    const store = SqliteStore.open(db, {
      docsTable: 'notes',
      idColumn: 'slug',
      contentColumn: 'body',
      vectorsPrefix: 'nv',
    });
    store.ensureGeneration('g', { model: 'hash', dimensions: 16 }, 'active');
    const { encode } = hashEncoder(16);
    await fill(store, 'g', encode);
    expect(store.queryGeneration('g', embed('penguins waddle on ice', 16), 1)[0]!.doc).toBe(
      'a-note',
    );
    // Without a revision column the stamp only has to exist: an edit is not detected (documented).
    db.prepare("UPDATE notes SET body = 'changed' WHERE slug = 'a-note'").run();
    expect(store.pendingForGeneration('g', 10)).toEqual([]);
  });

  it('keeps integer and text revisions exact (a text "1" is not the integer 1)', async () => {
    const { db } = freshDb(cleanupAfter, 'rev.db');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT, rev)');
    db.prepare('INSERT INTO t VALUES (1, ?, ?)').run('text revision', 'v1');
    db.prepare('INSERT INTO t VALUES (2, ?, ?)').run('int revision', 7);
    const store = SqliteStore.open(db, {
      docsTable: 't',
      idColumn: 'id',
      contentColumn: 'body',
      revisionColumn: 'rev',
      vectorsPrefix: 'tv',
    });
    store.ensureGeneration('g', { model: 'hash', dimensions: 16 }, 'active');
    const pending = store.pendingForGeneration('g', 10);
    expect(pending.map((p) => p.revision)).toEqual(['v1', 7]);
    const vec = [{ chunkIndex: 0, start: 0, end: 4, vector: embed('x', 16) }];
    expect(() => store.saveVectors('g', 2, '7', vec)).toThrow(StaleError);
    store.saveVectors('g', 2, 7, vec);
    store.saveVectors('g', 1, 'v1', vec);
    expect(store.pendingForGeneration('g', 10)).toEqual([]);
  });

  it('finds hits beyond the KNN limit of sqlite-vec (4096) when deleted or edited rows hide them', async () => {
    const h = await harness();
    h.store.ensureGeneration('a', { model: 'm', dimensions: 4 }, 'active');
    const store = h.store as SqliteStore;
    const insert = h.db.prepare('INSERT INTO docs (id, content) VALUES (?, ?)');
    h.db.transaction(() => {
      for (let i = 1; i <= 5000; i++) insert.run(i, `doc ${i}`);
    })();
    // 4500 documents share the query direction exactly; all but the last 3 of
    // them are then deleted or edited (stale): the exact scan that finishes
    // the search must skip both.
    const items = [];
    for (let i = 1; i <= 5000; i++) {
      const v =
        i <= 4500 ? new Float32Array([1, 0, 0, 0]) : new Float32Array([0, 1, (i % 7) + 1, 0]);
      items.push({
        doc: i,
        revision: 1,
        vectors: [{ chunkIndex: 0, start: 0, end: 5, vector: v }],
      });
    }
    expect(store.saveMany('a', items).every((r) => r === null)).toBe(true);
    h.db.prepare('DELETE FROM docs WHERE id <= 2000').run();
    h.db.prepare('UPDATE docs SET revision = 2 WHERE id > 2000 AND id <= 4497').run();
    const hits = store.queryGeneration('a', new Float32Array([1, 0, 0, 0]), 5);
    expect(hits).toHaveLength(5);
    expect(
      hits
        .slice(0, 3)
        .map((x) => x.doc)
        .sort(),
    ).toEqual([4498, 4499, 4500]);
  });

  it('stamp-skips: coverage counts a stamp without vectors as skipped, not embedded', async () => {
    const h = await harness();
    await h.insert(1, 'poison');
    h.store.ensureGeneration('a', { model: 'm', dimensions: 16 }, 'active');
    const [p] = h.store.pendingForGeneration('a', 1) as { doc: number; revision: number }[];
    h.store.saveVectors('a', p!.doc, p!.revision, []);
    expect(h.store.coverage('a')).toEqual({ embedded: 0, skipped: 1, backlog: 0 });
  });

  it('widens the full-text ranking when its best matches are stale', async () => {
    const h = await harness();
    const store = h.store as SqliteStore;
    // Documents 1–50 say "quokka" three times, 51–60 once: by BM25 the first
    // fifty lead the text ranking.
    for (let i = 1; i <= 60; i++) {
      await h.insert(
        i,
        i <= 50 ? `quokka quokka quokka note ${i}` : `a quokka seen once, note ${i}`,
      );
    }
    for (let i = 61; i <= 100; i++) await h.insert(i, `unrelated filler text ${i}`);
    store.ensureGeneration('a', { model: 'hash-bow', dimensions: 16 }, 'active');
    await fill(store, 'a', hashEncoder(16).encode);
    // Edit the fifty leaders without re-embedding them: their stamps are stale.
    for (let i = 1; i <= 50; i++) await h.update(i, `quokka quokka quokka edited ${i}`);
    const hits = store.queryGeneration('a', embed('unrelated filler text', 16), 5, {
      hybrid: true,
      text: 'quokka',
    });
    const docs = hits.map((x) => Number(x.doc));
    expect(docs.some((d) => d > 50 && d <= 60)).toBe(true);
    expect(docs.every((d) => d > 50)).toBe(true);
  });

  it("ranks full text by the query's rare words only, so common words cost no full scoring pass", async () => {
    const h = await harness();
    const store = h.store as SqliteStore;
    for (let i = 1; i <= 30; i++) {
      await h.insert(i, i === 7 ? 'the zygomorphic orchid' : `the note number ${i} of the list`);
    }
    store.ensureGeneration('a', { model: 'hash-bow', dimensions: 16 }, 'active');
    await fill(store, 'a', hashEncoder(16).encode);
    const q = embed('note number', 16);
    const ask = (text: string) => store.queryGeneration('a', q, 10, { hybrid: true, text });
    expect(ask('the zygomorphic')).toEqual(ask('zygomorphic'));
    expect(ask('the zygomorphic').map((x) => Number(x.doc))).toContain(7);
    // Only common words: the rarest is still searched, so text search still contributes.
    const common = ask('the of');
    expect(common.length).toBe(10);
    expect(common.some((x) => x.chunkIndex === 0)).toBe(true);
  });

  it('answers selective and broad filters exactly (scan of the matching rows, or a KNN sized by selectivity)', async () => {
    const h = await harness();
    const store = h.store as SqliteStore;
    const topics = ['tide moon sea', 'bread oven flour', 'chess pawn gambit', 'guitar chord song'];
    for (let i = 1; i <= 400; i++) {
      const category = i % 100 === 0 ? 'rare' : i % 3 === 0 ? 'broad' : 'other';
      await h.insert(i, `${topics[i % 4]} note ${i}`, category);
    }
    store.ensureGeneration('a', { model: 'hash-bow', dimensions: 16 }, 'active');
    await fill(store, 'a', hashEncoder(16).encode);
    const q = embed('chess pawn gambit', 16);
    const rows = h.db.prepare('SELECT id, content, category FROM docs').all() as {
      id: number;
      content: string;
      category: string;
    }[];
    const exact = (category: string, k: number) =>
      rows
        .filter((r) => r.category === category)
        .map((r) => {
          const v = embed(r.content, 16);
          let dot = 0;
          for (let i = 0; i < 16; i++) dot += v[i]! * q[i]!;
          return { id: r.id, dot };
        })
        .sort((a, b) => b.dot - a.dot || a.id - b.id)
        .slice(0, k);
    for (const [category, k] of [
      ['rare', 10], // 4 of 400 rows: scored exactly
      ['broad', 10], // a third of the rows: KNN with a window sized for it
      ['none', 5], // no row matches
    ] as const) {
      const hits = store.queryGeneration('a', q, k, { filter: h.filterCategory(category) });
      const want = exact(category, k);
      expect(hits).toHaveLength(want.length);
      // Same scores in the same order (ties among equal vectors may swap ids).
      for (const [i, hit] of hits.entries()) expect(hit.score).toBeCloseTo(want[i]!.dot, 5);
      for (const hit of hits) expect(rows.find((r) => r.id === hit.doc)!.category).toBe(category);
    }
  });

  it('turns any user text into a safe FTS5 query', () => {
    expect(ftsQuery('hello "world" AND x*')).toBe('"hello" OR "world" OR "and" OR "x"');
    expect(ftsQuery('!!! ???')).toBeNull();
    expect(ftsQuery('Ünïcödé')).toBe('"ünïcödé"');
  });

  it('prune() frees the vectors of rows deleted outside vecfill', async () => {
    const h = await harness();
    for (let i = 1; i <= 4; i++) await h.insert(i, `text ${i}`);
    h.store.ensureGeneration('a', { model: 'm', dimensions: 16 }, 'active');
    await fill(h.store, 'a', hashEncoder(16).encode);
    await h.remove(2);
    await h.remove(3);
    expect(await h.vectorRows('a')).toBe(4);
    expect((h.store as SqliteStore).prune()).toBe(2);
    expect(await h.vectorRows('a')).toBe(2);
  });

  it('refuses to make a second generation active outside activate()', async () => {
    const h = await harness();
    h.store.ensureGeneration('a', { model: 'm', dimensions: 16 }, 'active');
    expect(() => h.store.ensureGeneration('b', { model: 'n', dimensions: 16 }, 'active')).toThrow(
      LifecycleError,
    );
    // The database itself refuses, even to raw SQL.
    h.db
      .prepare(
        "INSERT INTO vf_generations (key, generation, fingerprint, dimensions, state) VALUES ('c', '{}', 'x', 16, 'building')",
      )
      .run();
    throwsWith(
      () =>
        h.db
          .prepare(
            "INSERT INTO vf_generations (key, generation, fingerprint, dimensions, state) VALUES ('d', '{}', 'y', 16, 'building')",
          )
          .run(),
      Error,
      /UNIQUE constraint failed/,
    );
  });
});
