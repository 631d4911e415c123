import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { Document } from '@langchain/core/documents';
import { Embeddings } from '@langchain/core/embeddings';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type VecfillStore, VecfillVectorStore } from '../../src/langchain/index.js';
import { PgStore } from '../../src/postgres/index.js';
import { openDatabase, SqliteStore } from '../../src/sqlite/index.js';
import { startPglite } from '../postgres/helpers.js';
import { embed, hashEncoder } from '../support/hash-encoder.js';
import { rejectsWith } from '../support/thrown.js';

/** A deterministic LangChain `Embeddings`: bag of hashed words, 32 dimensions. */
class HashEmbeddings extends Embeddings {
  queries = 0;
  constructor() {
    super({});
  }
  async embedDocuments(texts: string[]): Promise<number[][]> {
    return texts.map((t) => Array.from(embed(t, 32)));
  }
  async embedQuery(text: string): Promise<number[]> {
    this.queries++;
    return Array.from(embed(text, 32));
  }
}

interface Backend {
  store: VecfillStore;
  /** Runs SQL on the caller's side of the table (placeholders `?`). */
  exec(sql: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

const DOCS = [
  { pageContent: 'Tides rise and fall with the moon.', metadata: { lang: 'en' } },
  { pageContent: 'Bread dough rises in a warm kitchen.', metadata: { lang: 'en' } },
  { pageContent: 'La marée monte avec la lune: tides moon.', metadata: { lang: 'fr' } },
  { pageContent: 'Compound interest grows savings.', metadata: { lang: 'en' } },
];

const backends: [string, () => Promise<Backend>][] = [
  [
    'SQLite',
    async () => {
      const db = openDatabase(join(mkdtempSync(join(tmpdir(), 'vecfill-lc-')), 'lc.db'));
      db.exec(`CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL,
        rev INTEGER NOT NULL DEFAULT 1, lang TEXT)`);
      const store = SqliteStore.open(db, {
        docsTable: 'notes',
        idColumn: 'id',
        contentColumn: 'body',
        revisionColumn: 'rev',
        vectorsPrefix: 'nv',
      }) as unknown as VecfillStore;
      return {
        store,
        exec: async (sql, params = []) => {
          const st = db.prepare(sql);
          if (st.reader) return st.all(...params) as Record<string, unknown>[];
          st.run(...params);
          return [];
        },
        close: async () => {
          db.close();
        },
      };
    },
  ],
  [
    'PostgreSQL (PGlite)',
    async () => {
      const pg: PGlite = await startPglite();
      await pg.exec(`CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL,
        rev integer NOT NULL DEFAULT 1, lang text)`);
      const store = (await PgStore.open(pg, {
        docsTable: 'notes',
        idColumn: 'id',
        contentColumn: 'body',
        revisionColumn: 'rev',
        vectorsPrefix: 'nv',
      })) as unknown as VecfillStore;
      return {
        store,
        exec: async (sql, params = []) => {
          let n = 0;
          return (
            await pg.query<Record<string, unknown>>(
              sql.replace(/\?/g, () => `$${++n}`),
              params,
            )
          ).rows;
        },
        close: () => pg.close(),
      };
    },
  ],
];

describe.each(backends)('VecfillVectorStore on %s', (_name, start) => {
  let b: Backend;
  let vs: VecfillVectorStore;
  let ids: string[];
  const embeddings = new HashEmbeddings();
  beforeAll(async () => {
    b = await start();
    await b.store.ensureGeneration('hash', { model: 'hash', dimensions: 32 }, 'active');
    vs = new VecfillVectorStore(embeddings, {
      store: b.store,
      generation: 'hash',
      metadataColumns: ['lang'],
    });
    ids = await vs.addDocuments(DOCS.map((d) => new Document(d)));
  });
  afterAll(async () => {
    await b?.close();
  });

  it('addDocuments inserts rows into the caller table and fills them', async () => {
    expect(ids).toHaveLength(4);
    const rows = await b.exec('SELECT id, body, lang FROM notes ORDER BY id');
    expect(rows.map((r) => r.body)).toEqual(DOCS.map((d) => d.pageContent));
    expect(rows.map((r) => r.lang)).toEqual(['en', 'en', 'fr', 'en']);
    expect(rows.map((r) => String(r.id))).toEqual(ids);
    expect((await b.store.coverage('hash')).backlog).toBe(0);
  });

  it('answers through a retriever, filtered before the limit', async () => {
    const retriever = vs.asRetriever({ k: 1, filter: { lang: 'fr' } });
    const docs = await retriever.invoke('moon tides');
    expect(docs).toHaveLength(1);
    expect(docs[0]!.pageContent).toContain('marée');
    expect(docs[0]!.metadata).toMatchObject({
      lang: 'fr',
      id: docs[0]!.metadata.id,
      generation: 'hash',
    });
    expect(docs[0]!.id).toBe(ids[2]);
    const en = await vs.asRetriever({ k: 2, filter: { lang: 'en' } }).invoke('moon tides');
    expect(en[0]!.pageContent).toContain('Tides rise');
    expect(en.every((d) => d.metadata.lang === 'en')).toBe(true);
  });

  it('similaritySearchWithScore and similaritySearchVectorWithScore rank by cosine similarity', async () => {
    const withScore = await vs.similaritySearchWithScore('bread dough', 3);
    expect(withScore[0]![0].pageContent).toContain('Bread');
    expect(withScore[0]![1]).toBeGreaterThan(withScore[1]![1]);
    const byVector = await vs.similaritySearchVectorWithScore(
      Array.from(embed('compound interest', 32)),
      2,
    );
    expect(byVector[0]![0].pageContent).toContain('Compound');
    expect(byVector[0]![0].metadata).toMatchObject({ start: 0, chunkIndex: 0 });
    expect(byVector[0]![1]).toBeGreaterThan(0.5);
  });

  it('maxMarginalRelevanceSearch picks relevant but different documents', async () => {
    const docs = await vs.maxMarginalRelevanceSearch('moon tides', {
      k: 2,
      fetchK: 4,
      lambda: 0.2,
    });
    expect(docs).toHaveLength(2);
    expect(new Set(docs.map((d) => d.id)).size).toBe(2);
    expect(docs[0]!.pageContent).toMatch(/moon|lune/);
  });

  it('returns only fresh rows: an edited row waits for its fill', async () => {
    await b.exec(
      "UPDATE notes SET body = 'Savings accounts and bonds.', rev = rev + 1 WHERE id = ?",
      [Number(ids[3])],
    );
    const before = await vs.similaritySearch('compound interest savings', 4);
    expect(before.map((d) => d.id)).not.toContain(ids[3]);
    await vs.fill();
    const after = await vs.similaritySearch('savings bonds', 1);
    expect(after[0]!.id).toBe(ids[3]);
    expect(after[0]!.pageContent).toBe('Savings accounts and bonds.');
  });

  it('searches the union of generations during a migration', async () => {
    await b.store.ensureGeneration('hash2', { model: 'hash2', dimensions: 32 }, 'building');
    const next = hashEncoder(32, 'v2');
    const migrating = new VecfillVectorStore(embeddings, {
      store: b.store,
      generation: 'hash',
      encoders: { hash2: next.encode },
      metadataColumns: ['lang'],
    });
    // hash2 covers nothing yet: every document is still found through hash.
    const during = await migrating.similaritySearch('bread dough', 1);
    expect(during[0]!.pageContent).toContain('Bread');
    expect(during[0]!.metadata.generation).toBe('hash');
    await migrating.fill();
    expect((await b.store.coverage('hash2')).backlog).toBe(0);
    const after = await migrating.similaritySearch('bread dough', 1);
    expect(after[0]!.metadata.generation).toBe('hash2');
    await b.store.retire('hash2');
  });

  it('delete removes the rows from the table, and they are never returned', async () => {
    await vs.delete({ ids: [ids[1]!] });
    expect(await b.exec('SELECT id FROM notes WHERE id = ?', [Number(ids[1])])).toEqual([]);
    const docs = await vs.similaritySearch('bread dough rises', 4);
    expect(docs.map((d) => d.id)).not.toContain(ids[1]);
  });

  it('keeps filters to column equality: no SQL gets in', async () => {
    await rejectsWith(
      vs.similaritySearch('moon', 2, { 'lang = lang OR 1=1 --': 'x' }),
      TypeError,
      /not a column/,
    );
    expect(await vs.similaritySearch('moon', 2, { lang: "x' OR '1'='1" })).toEqual([]);
    expect((await b.exec('SELECT count(*) AS n FROM notes'))[0]!.n).toBe(3);
    // The store's own SQL filter still works for code (not assistants) that wants it.
    const sql = { where: `d.lang = ${_name === 'SQLite' ? '?' : '$1'}`, params: ['fr'] };
    expect((await vs.similaritySearch('moon', 2, sql)).map((d) => d.metadata.lang)).toEqual(['fr']);
  });

  it('addVectors stores the given vectors instead of embedding the text', async () => {
    const v = Array.from(embed('zebra stripes', 32));
    const [id] = await vs.addVectors(
      [v],
      [new Document({ pageContent: 'Unrelated words entirely.', metadata: { lang: 'en' } })],
    );
    const hit = await vs.similaritySearchVectorWithScore(v, 1);
    expect(hit[0]![0].id).toBe(id);
    expect(hit[0]![1]).toBeCloseTo(1, 4);
  });

  it('fuses full-text hits when hybrid', async () => {
    const hybrid = new VecfillVectorStore(embeddings, {
      store: b.store,
      generation: 'hash',
      hybrid: true,
    });
    const docs = await hybrid.similaritySearch('marée', 1);
    expect(docs[0]!.pageContent).toContain('marée');
  });
});
