import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fill } from '../../src/core/index.js';
import { openDatabase, type ScanOptions, SqliteStore } from '../../src/sqlite/index.js';
import { embed, hashEncoder } from '../support/hash-encoder.js';
import { DOCS_DDL, SCHEMA, tempDir } from './helpers.js';

// Search paths of src/sqlite/sqlite-search.ts that its mutation run showed
// untested (docs/invariants.md).

const cleanups: (() => unknown)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

const DIMS = 16;
const GEN = { model: 'hash-bow', dimensions: DIMS };

async function filled(n: number, scan?: ScanOptions) {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const db = openDatabase(join(dir, 'search.db'));
  cleanups.push(() => db.close());
  db.exec(DOCS_DDL);
  const ins = db.prepare('INSERT INTO docs (id, content, category) VALUES (?, ?, ?)');
  for (let i = 1; i <= n; i++) ins.run(i, `note ${i} about the sea`, i % 2 ? 'odd' : 'even');
  const store = SqliteStore.open(db, scan ? { ...SCHEMA, scan } : SCHEMA);
  store.ensureGeneration('a', GEN, 'active');
  await fill(store, 'a', hashEncoder(DIMS).encode);
  return { db, store };
}

describe('searches on a read-only connection', () => {
  it('a connection the application set to query_only stays query_only after a search', async () => {
    const { db, store } = await filled(5);
    db.pragma('query_only = ON');
    const hits = store.queryGeneration('a', embed('note 3 about the sea', DIMS), 3, {
      filter: { where: 'd.category = ?', params: ['odd'] },
    });
    expect(hits.map((h) => h.doc)).toContain(3);
    expect(db.pragma('query_only', { simple: true })).toBe(1);
  });
});

describe('what a store search mixes in', () => {
  it('text without hybrid, or hybrid without text, gives the vector hits alone', async () => {
    const { store } = await filled(6);
    const q = embed('note 4 about the sea', DIMS);
    const plain = store.queryGeneration('a', q, 3);
    expect(plain[0]).toMatchObject({ doc: 4 });
    expect(store.queryGeneration('a', q, 3, { text: 'note 1' })).toEqual(plain);
    expect(store.queryGeneration('a', q, 3, { hybrid: true })).toEqual(plain);
  });

  it.each([
    ['in memory', undefined],
    ['by sqlite-vec', { float: 'sqlite-vec' } as const],
  ])('a filter no row passes finds nothing (scanned %s)', async (_name, scan) => {
    const { store } = await filled(6, scan);
    const q = embed('note 4 about the sea', DIMS);
    expect(
      store.queryGeneration('a', q, 3, { filter: { where: 'd.category = ?', params: ['none'] } }),
    ).toEqual([]);
  });
});

describe('a filtered search of an empty documents table', () => {
  it('finds nothing, scanned by sqlite-vec', async () => {
    const { store } = await filled(0, { float: 'sqlite-vec' });
    const hits = store.queryGeneration('a', embed('note about the sea', DIMS), 3, {
      filter: { where: 'd.category = ?', params: ['odd'] },
    });
    expect(hits).toEqual([]);
  });
});

describe('searches scanned by sqlite-vec past its 4096-chunk window', () => {
  // 5000 documents: 4995 right at the query but stale (edited after they
  // were embedded), 5 fresh ones at the far side. Every window sqlite-vec
  // can give (4096 at most) holds stale rows only, so only the exact scan
  // that finishes the search reaches the fresh ones; a search that kept
  // widening a window stuck at 4096 would never return.
  it.each([
    ['float, scan: sqlite-vec', { float: 'sqlite-vec' } as const, {}],
    ['int8 over the memory cap', { maxResidentBytes: 0 }, { quantization: 'int8' } as const],
  ])('%s: the fresh hits behind 4096 stale ones are found', (_name, scan, options) => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const db = openDatabase(join(dir, 'window.db'));
    cleanups.push(() => db.close());
    db.exec(DOCS_DDL);
    const store = SqliteStore.open(db, { ...SCHEMA, scan });
    store.ensureGeneration('w', { model: 'm', dimensions: 4 }, 'active', options);
    expect(store.stats('w').scan.scan).toBe('sqlite-vec');
    const n = 5000;
    const q = new Float32Array([1, 0.5, 0, 0]);
    const far = new Float32Array([-1, -0.5, 0, 0]);
    const ins = db.prepare('INSERT INTO docs (id, content) VALUES (?, ?)');
    db.transaction(() => {
      for (let i = 1; i <= n; i++) ins.run(i, `doc ${i}`);
    })();
    const saved = store.saveMany(
      'w',
      Array.from({ length: n }, (_, i) => ({
        doc: i + 1,
        revision: 1,
        vectors: [{ chunkIndex: 0, start: 0, end: 5, vector: i < n - 5 ? q : far }],
      })),
    );
    expect(saved.every((r) => r === null)).toBe(true);
    db.prepare('UPDATE docs SET revision = 2 WHERE id <= ?').run(n - 5);
    const hits = store.queryGeneration('w', q, 5);
    expect(hits.map((h) => h.doc).sort()).toEqual([4996, 4997, 4998, 4999, 5000]);
    for (const h of hits) expect(h.score).toBeCloseTo(-1, 5);
  });
});
