import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fill } from '../../src/core/index.js';
import { openDatabase, SqliteStore } from '../../src/sqlite/index.js';
import { hashEncoder } from '../support/hash-encoder.js';
import { DOCS_DDL, SCHEMA, tempDir } from './helpers.js';

// What the pending scan hands out when the content column is not TEXT
// (src/sqlite/sqlite-scan.ts, mutation run in docs/invariants.md): SQLite
// columns take any type, and an application may keep its text as a BLOB,
// a number or NULL.

const cleanups: (() => unknown)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

describe('pending content of any column type', () => {
  it('is handed out as text: UTF-8 BLOBs decoded, numbers as digits, NULL as empty', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const db = openDatabase(join(dir, 'any.db'));
    cleanups.push(() => db.close());
    db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body)');
    const ins = db.prepare('INSERT INTO notes (id, body) VALUES (?, ?)');
    ins.run(1, Buffer.from('crème brûlée recipe', 'utf8'));
    ins.run(2, 42.5);
    ins.run(3, null);
    ins.run(4, 'plain text');
    const store = SqliteStore.open(db, {
      docsTable: 'notes',
      idColumn: 'id',
      contentColumn: 'body',
      vectorsPrefix: 'vf',
    });
    store.ensureGeneration('g', { model: 'hash-bow', dimensions: 16 }, 'active');
    expect(store.pendingForGeneration('g', 10)).toEqual([
      { doc: 1, content: 'crème brûlée recipe' },
      { doc: 2, content: '42.5' },
      { doc: 3, content: '' },
      { doc: 4, content: 'plain text' },
    ]);
    // A fill embeds the decoded text, and the empty row is set aside as blank.
    const { encode, calls } = hashEncoder(16);
    await fill(store, 'g', encode);
    expect(calls.flat().sort()).toEqual(['42.5', 'crème brûlée recipe', 'plain text']);
    expect(store.coverage('g')).toMatchObject({ backlog: 0 });
  });
});

function docsFile(rows: number) {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const path = join(dir, 'docs.db');
  const db = openDatabase(path);
  cleanups.push(() => db.close());
  db.exec(DOCS_DDL);
  const ins = db.prepare('INSERT INTO docs (id, content) VALUES (?, ?)');
  for (let i = 1; i <= rows; i++) ins.run(i, `row ${i}`);
  return { db, path };
}

describe('pending keys, revisions and leases', () => {
  it('hands out revisions as numbers, and as bigints above 2^53', () => {
    const { db } = docsFile(2);
    db.prepare('UPDATE docs SET revision = ? WHERE id = 2').run(2n ** 60n);
    const store = SqliteStore.open(db, SCHEMA);
    store.ensureGeneration('g', { model: 'hash-bow', dimensions: 16 }, 'active');
    expect(store.pendingForGeneration('g', 10)).toEqual([
      { doc: 1, content: 'row 1', revision: 1 },
      { doc: 2, content: 'row 2', revision: 2n ** 60n },
    ]);
  });

  it("does not free the leases of another machine's worker, whatever runs here", () => {
    const { db, path } = docsFile(10);
    const schema = { ...SCHEMA, leaseMs: 60_000 };
    const a = SqliteStore.open(db, schema);
    a.ensureGeneration('g', { model: 'hash-bow', dimensions: 16 }, 'active');
    expect(a.pendingForGeneration('g', 4).map((p) => p.doc)).toEqual([1, 2, 3, 4]);
    // Documents 1 and 2 are leased by a worker on another machine (no such pid here).
    db.prepare('UPDATE vf_leases SET owner = ? WHERE doc IN (1, 2)').run(
      'elsewhere.example/999999999/x',
    );
    const other = openDatabase(path);
    cleanups.push(() => other.close());
    const b = SqliteStore.open(other, schema);
    expect(b.pendingForGeneration('g', 10).map((p) => p.doc)).toEqual([5, 6, 7, 8, 9, 10]);
  });

  it('releaseLeases gives back nothing when nothing is held, with or without leases', () => {
    const { db } = docsFile(2);
    const leasing = SqliteStore.open(db, { ...SCHEMA, leaseMs: 60_000 });
    expect(leasing.releaseLeases()).toBe(0);
    expect(SqliteStore.open(db, SCHEMA).releaseLeases()).toBe(0);
  });

  it('frees the leases of a dead local process at most once a second', async () => {
    const { db, path } = docsFile(10);
    const schema = { ...SCHEMA, leaseMs: 60_000 };
    const a = SqliteStore.open(db, schema);
    a.ensureGeneration('g', { model: 'hash-bow', dimensions: 16 }, 'active');
    expect(a.pendingForGeneration('g', 4).map((p) => p.doc)).toEqual([1, 2, 3, 4]);
    const other = openDatabase(path);
    cleanups.push(() => other.close());
    const b = SqliteStore.open(other, schema);
    expect(b.pendingForGeneration('g', 2).map((p) => p.doc)).toEqual([5, 6]);
    // The worker holding 1 and 2 dies (a pid that runs nowhere on this machine).
    db.prepare('UPDATE vf_leases SET owner = ? WHERE doc IN (1, 2)').run(
      `${hostname()}/999999999/x`,
    );
    // b looked less than a second ago: it does not look again yet.
    const docs = () =>
      b
        .pendingForGeneration('g', 10)
        .map((p) => p.doc as number)
        .sort((x, y) => x - y);
    expect(docs()).toEqual([5, 6, 7, 8, 9, 10]);
    await new Promise((r) => setTimeout(r, 1100));
    expect(docs()).toEqual([1, 2, 5, 6, 7, 8, 9, 10]);
  });
});
