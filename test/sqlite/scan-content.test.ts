import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fill } from '../../src/core/index.js';
import { openDatabase, SqliteStore } from '../../src/sqlite/index.js';
import { hashEncoder } from '../support/hash-encoder.js';
import { tempDir } from './helpers.js';

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
