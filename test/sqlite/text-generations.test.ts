import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fill, LifecycleError, VecfillError } from '../../src/core/index.js';
import { openDatabase, SqliteStore } from '../../src/sqlite/index.js';
import { hashEncoder } from '../support/hash-encoder.js';
import { throwsWith } from '../support/thrown.js';
import { DOCS_DDL, SCHEMA, tempDir } from './helpers.js';

// What src/sqlite/sqlite-text.ts and sqlite-generations.ts do that their
// mutation run showed untested (docs/invariants.md).

const cleanups: (() => unknown)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

const DIMS = 16;
const GEN = { model: 'hash-bow', dimensions: DIMS };

let path = '';

function open(fullText = true) {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  path = join(dir, 'tg.db');
  const db = openDatabase(path);
  cleanups.push(() => db.close());
  db.exec(DOCS_DDL);
  const store = SqliteStore.open(db, { ...SCHEMA, fullText });
  return { db, store };
}

async function withTexts(texts: readonly string[], fullText = true) {
  const { db, store } = open(fullText);
  const ins = db.prepare('INSERT INTO docs (id, content) VALUES (?, ?)');
  for (const [i, t] of texts.entries()) ins.run(i + 1, t);
  store.ensureGeneration('a', GEN, 'active');
  await fill(store, 'a', hashEncoder(DIMS).encode);
  return { db, store };
}

const docsOf = (hits: readonly { doc: unknown }[]) =>
  hits.map((h) => Number(h.doc)).sort((a, b) => a - b);

describe('queryFullText', () => {
  it('a store opened with fullText: false refuses it with NO_FULL_TEXT, never "no match"', async () => {
    const { store } = await withTexts(['a note about the sea'], false);
    let err: unknown;
    try {
      store.queryFullText('a', 'sea', 5);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VecfillError);
    expect((err as VecfillError).code).toBe('NO_FULL_TEXT');
    expect((err as Error).message).toContain('fullText: false');
  });

  it('text without a word finds nothing', async () => {
    const { store } = await withTexts(['a note about the sea']);
    expect(store.queryFullText('a', '!!! ...', 5)).toEqual([]);
  });

  it('searches by the rare words (in at most 5 % of the documents) alone, up to 5 % inclusive', async () => {
    // 20 documents: "quokka" in one of them (1 × 20 <= 20: rare), "sea" in
    // the other 19 (common). Requiring both would find nothing.
    const texts = ['a quokka on the beach'];
    for (let i = 2; i <= 20; i++) texts.push(`a note about the sea ${i}`);
    const { store } = await withTexts(texts);
    expect(docsOf(store.queryFullText('a', 'sea quokka', 5))).toEqual([1]);
  });

  it('of more than eight rare words, the eight rarest are searched', async () => {
    // w1 is in two documents, w2…w9 in one each (all rare among 60). The
    // query puts w1 in the middle; the eight rarest are w2…w9, so the
    // documents that hold only w1 are not matched.
    const texts = ['alpha w1', 'beta w1'];
    for (let i = 2; i <= 9; i++) texts.push(`gamma w${i}`);
    while (texts.length < 60) texts.push(`filler ${texts.length}`);
    const { store } = await withTexts(texts);
    const hits = store.queryFullText('a', 'w2 w3 w4 w5 w1 w6 w7 w8 w9', 20);
    expect(docsOf(hits)).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('when every word is common, the eight rarest must all be in a document', async () => {
    // 20 documents: c1…c8 in documents 1 and 2 (2 × 20 > 20: common), c9 in
    // three others. c9, the most common, is left out of the AND.
    const eight = 'c1 c2 c3 c4 c5 c6 c7 c8';
    const texts = [eight, `${eight} again`, 'c9 one', 'c9 two', 'c9 three'];
    while (texts.length < 20) texts.push(`filler ${texts.length}`);
    const { store } = await withTexts(texts);
    expect(docsOf(store.queryFullText('a', `c9 ${eight}`, 5))).toEqual([1, 2]);
  });
});

describe('forgetting a document', () => {
  it("a connection that has indexed no text yet drops a deleted document's text", async () => {
    await withTexts(['a quokka on the beach', 'a note about the sea']);
    const db = openDatabase(path);
    cleanups.push(() => db.close());
    const other = SqliteStore.open(db, SCHEMA);
    db.prepare('DELETE FROM docs WHERE id = 1').run();
    other.deleteVectors(1);
    expect(other.queryFullText('a', 'quokka', 5)).toEqual([]);
    expect(docsOf(other.queryFullText('a', 'sea', 5))).toEqual([2]);
  });
});

describe('ensureGeneration options on an existing generation', () => {
  it('oversample on a float generation is refused', () => {
    const { store } = open();
    store.ensureGeneration('f', GEN, 'active');
    throwsWith(
      () => store.ensureGeneration('f', GEN, 'active', { oversample: 4 }),
      TypeError,
      /oversample applies to a quantized generation; "f" uses exact float search/,
    );
  });

  it('keeps the oversample set before when called again without one, and changes it when given', () => {
    const { store } = open();
    expect(
      store.ensureGeneration('q', GEN, 'active', { quantization: 'int8', oversample: 7 })
        .oversample,
    ).toBe(7);
    expect(store.ensureGeneration('q', GEN, 'active').oversample).toBe(7);
    expect(store.ensureGeneration('q', GEN, 'active', { oversample: 3 }).oversample).toBe(3);
  });

  it('an int8 generation reports no "centered" (only binary codes are centered)', () => {
    const { store } = open();
    const info = store.ensureGeneration('q', GEN, 'active', { quantization: 'int8' });
    expect(info).not.toHaveProperty('centered');
    expect(
      store.ensureGeneration('b', { ...GEN, params: { b: 1 } }, 'building', {
        quantization: 'binary',
      }),
    ).toHaveProperty('centered', false);
  });

  it('an oversample that is not a positive integer is named in the error', () => {
    const { store } = open();
    throwsWith(
      () => store.ensureGeneration('q', GEN, 'active', { quantization: 'int8', oversample: 0 }),
      RangeError,
      'oversample must be a positive integer, got 0',
    );
  });

  it('a reclaimed generation rebuilt as active while another is active is refused, naming the other', () => {
    const { store } = open();
    store.ensureGeneration('a', GEN, 'active');
    store.ensureGeneration('b', { ...GEN, params: { b: 1 } }, 'building');
    store.activate('b', { force: true });
    store.reclaim('a');
    throwsWith(() => store.ensureGeneration('a', GEN, 'active'), LifecycleError, /"b" already is/);
    expect(store.generations().find((g) => g.key === 'b')?.state).toBe('active');
  });
});
