import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DimensionMismatchError,
  DuplicateKeyError,
  fill,
  UnknownGenerationError,
} from '../../src/core/index.js';
import { type PgKey, type PgQueryable, type PgSchema, PgStore } from '../../src/postgres/index.js';
import { embed } from '../support/hash-encoder.js';
import { rejection, rejectsWith } from '../support/thrown.js';
import {
  ENGINE,
  oneSession,
  pgHarness,
  startEngine,
  type TestEngine,
  withHarness,
} from './helpers.js';

// Saves of the Postgres store (src/postgres/pg-save.ts) in the cases the
// conformance suite leaves out: a batch naming a document twice, tables
// without the optional columns, documents of a reclaimed generation.

let engine: TestEngine;
beforeAll(async () => {
  engine = await startEngine();
});
afterAll(async () => {
  await engine?.close();
});

const G8 = { model: 'm', dimensions: 8 };
const encode = async (texts: string[]) => texts.map((t) => embed(t, 8));

const chunk = (i: number, start: number, end: number, text: string) => ({
  chunkIndex: i,
  start,
  end,
  vector: embed(text, 8),
});

describe(`PgStore saves on ${ENGINE}`, () => {
  it('saveMany naming one document twice saves both in order: the last one wins', async () => {
    await withHarness(engine.client, async (h) => {
      await h.insert(1, 'alpha beta gamma');
      await h.insert(2, 'delta epsilon');
      await h.store.ensureGeneration('a', G8, 'active');
      const [p1, p2] = await h.store.pendingForGeneration('a', 10);
      const out = await h.store.saveMany!('a', [
        { doc: p1!.doc, revision: p1!.revision, vectors: [chunk(0, 0, 5, 'first save')] },
        { doc: p2!.doc, revision: p2!.revision, vectors: [chunk(0, 0, 5, 'delta')] },
        {
          doc: p1!.doc,
          revision: p1!.revision,
          vectors: [chunk(0, 0, 5, 'alpha'), chunk(1, 6, 16, 'beta gamma')],
        },
      ]);
      expect(out).toEqual([null, null, null]);
      expect(await h.vectorRows('a')).toBe(3);
      const hits = await h.store.queryGeneration('a', embed('beta gamma', 8), 1);
      expect(hits).toEqual([
        { doc: 1, chunkIndex: 1, start: 6, end: 16, score: expect.closeTo(1, 5) },
      ]);
      expect(await h.store.queryGeneration('a', embed('first save', 8), 5)).not.toContainEqual(
        expect.objectContaining({ score: expect.closeTo(1, 5) }),
      );
      expect(await h.store.coverage('a')).toEqual({ embedded: 2, skipped: 0, backlog: 0 });
    });
  });

  it('refuses to save a key two rows share (the key column is not unique): nothing is saved', async () => {
    const ns = `dup${process.pid}`;
    await engine.client.query(`CREATE SCHEMA ${ns}`);
    try {
      await engine.client.query(`CREATE TABLE ${ns}.notes (ref integer, body text NOT NULL)`);
      await engine.client.query(`INSERT INTO ${ns}.notes VALUES (1, 'one'), (2, 'two')`);
      const store = await PgStore.open(engine.client, {
        docsTable: `${ns}.notes`,
        idColumn: 'ref',
        contentColumn: 'body',
        vectorsPrefix: `${ns}.vf`,
      });
      await engine.client.query(`INSERT INTO ${ns}.notes VALUES (1, 'one again')`);
      await store.ensureGeneration('a', G8, 'active');
      const error = await rejectsWith(
        fill(store, 'a', encode),
        DuplicateKeyError,
        /column ref of table dup\d+\.notes is not unique \(several rows have 1\)/,
      );
      expect(error.key).toBe(1);
      for (const table of ['vf_stamps', 'vf_chunks']) {
        const rows = await engine.client.query(`SELECT count(*)::int AS n FROM ${ns}.${table}`);
        expect(rows.rows[0]!.n, table).toBe(0);
      }
      // One document at a time, too.
      await rejectsWith(
        store.saveVectors('a', 1, undefined, [chunk(0, 0, 3, 'one')]),
        DuplicateKeyError,
        /several rows have 1/,
      );
    } finally {
      await engine.client.query(`DROP SCHEMA ${ns} CASCADE`);
    }
  });

  it('saveMany of nothing returns nothing, and still names an unknown generation', async () => {
    await withHarness(engine.client, async (h) => {
      await h.store.ensureGeneration('a', G8, 'active');
      expect(await h.store.saveMany!('a', [])).toEqual([]);
      expect(await rejection(h.store.saveMany!('nope', []))).toBeInstanceOf(UnknownGenerationError);
    });
  });

  it('a table without an embed_gen column: fill, search and re-embedding an edit work', async () => {
    await withHarness(engine.client, async (h) => {
      const schema: PgSchema = { ...h.schema, vectorsPrefix: `${h.schema.vectorsPrefix}2` };
      delete schema.embedGenColumn;
      const store = await PgStore.open(engine.client, schema);
      for (let i = 1; i <= 3; i++) await h.insert(i, `note ${i} about rockets`);
      await store.ensureGeneration('a', G8, 'active');
      expect((await fill(store, 'a', encode)).documents).toBe(3);
      const embedGen = await engine.client.query(`SELECT embed_gen FROM ${h.schema.docsTable}`);
      expect(embedGen.rows.map((r) => r.embed_gen)).toEqual([null, null, null]);
      await h.update(2, 'note 2 about gardens');
      expect((await store.pendingForGeneration('a', 10)).map((p) => p.doc)).toEqual([2]);
      expect((await fill(store, 'a', encode)).documents).toBe(1);
      expect((await store.queryGeneration('a', embed('note 2 about gardens', 8), 1))[0]!.doc).toBe(
        2,
      );
    });
  });

  it('a table without a revision column: documents are saved with no revision and found', async () => {
    await withHarness(engine.client, async (h) => {
      const schema: PgSchema = { ...h.schema, vectorsPrefix: `${h.schema.vectorsPrefix}3` };
      delete schema.revisionColumn;
      const store = await PgStore.open(engine.client, schema);
      for (let i = 1; i <= 3; i++) await h.insert(i, `note ${i} about rockets`);
      await store.ensureGeneration('a', G8, 'active');
      const pending = await store.pendingForGeneration('a', 10);
      expect(pending.map((p) => p.revision)).toEqual([undefined, undefined, undefined]);
      const out = await store.saveMany!(
        'a',
        pending.map((p) => ({
          doc: p.doc,
          revision: null,
          vectors: [chunk(0, 0, p.content.length, p.content)],
        })),
      );
      expect(out).toEqual([null, null, null]);
      await store.saveVectors('a', 2 as PgKey, undefined, [chunk(0, 0, 4, 'note 2 about rockets')]);
      expect(await store.coverage('a')).toEqual({ embedded: 3, skipped: 0, backlog: 0 });
      expect((await store.queryGeneration('a', embed('note 3 about rockets', 8), 1))[0]!.doc).toBe(
        3,
      );
    });
  });

  it('deleteVectors and prune work with a reclaimed generation beside the live ones', async () => {
    await withHarness(engine.client, async (h) => {
      for (let i = 1; i <= 3; i++) await h.insert(i, `note ${i}`);
      await h.store.ensureGeneration('a', G8, 'active');
      await fill(h.store, 'a', encode);
      await h.store.retire('a', { force: true });
      await h.store.reclaim('a');
      await h.store.ensureGeneration('b', { ...G8, params: { v: 2 } }, 'active');
      await fill(h.store, 'b', encode);
      await h.store.deleteVectors!(1);
      expect(await h.vectorRows('b')).toBe(2);
      await h.remove(2);
      expect(await h.store.prune!()).toBe(1);
      expect(await h.vectorRows('b')).toBe(1);
    });
  });

  it('saveMany throws a vector of the wrong length for the whole batch instead of listing it, writing nothing', async () => {
    await withHarness(engine.client, async (h) => {
      await h.insert(1, 'one');
      await h.insert(2, 'two');
      await h.store.ensureGeneration('a', G8, 'active');
      const [p1, p2] = await h.store.pendingForGeneration('a', 10);
      const e = await rejection(
        h.store.saveMany!('a', [
          { doc: p1!.doc, revision: p1!.revision, vectors: [chunk(0, 0, 3, 'one')] },
          {
            doc: p2!.doc,
            revision: p2!.revision,
            vectors: [{ chunkIndex: 0, start: 0, end: 3, vector: new Float32Array(5) }],
          },
        ]),
      );
      expect(e).toBeInstanceOf(DimensionMismatchError);
      expect(await h.vectorRows('a')).toBe(0);
      expect(await h.store.coverage('a')).toEqual({ embedded: 0, skipped: 0, backlog: 2 });
    });
  });

  it('an invalidated document saved for one generation loses its vectors in the others, not only its stamps', async () => {
    await withHarness(engine.client, async (h) => {
      for (let i = 1; i <= 3; i++) await h.insert(i, `note ${i}`);
      await h.store.ensureGeneration('a', G8, 'active');
      await h.store.ensureGeneration('b', { ...G8, params: { v: 2 } }, 'building');
      await fill(h.store, 'a', encode);
      await fill(h.store, 'b', encode);
      await h.invalidate(2);
      await fill(h.store, 'b', encode);
      expect(await h.vectorRows('a')).toBe(2);
      expect((await h.pgStore.stats('a')).chunks).toBe(2);
      expect(await h.vectorRows('b')).toBe(3);
    });
  });

  it('a client that is not node-postgres (any object with query) saves its vectors by INSERT, exactly', async () => {
    const { session, end } = await oneSession(engine);
    const plain: PgQueryable = { query: (text, params) => session.query(text, params) };
    const h = await pgHarness(plain);
    try {
      await h.insert(1, 'one');
      await h.store.ensureGeneration('a', { model: 'm', dimensions: 4 }, 'active');
      const [p] = await h.store.pendingForGeneration('a', 1);
      const vector = Float32Array.of(Math.fround(1 / 3), -0.5, 1e-30, 12345.678);
      await h.store.saveVectors('a', p!.doc, p!.revision, [
        { chunkIndex: 0, start: 0, end: 3, vector },
      ]);
      expect(await h.vectorRows('a')).toBe(1);
      const [hit] = await h.store.queryGeneration('a', vector, 1);
      expect(hit).toMatchObject({ doc: 1, chunkIndex: 0, start: 0, end: 3 });
      expect(hit!.score).toBeCloseTo(1, 6);
    } finally {
      await h.close();
      await end();
    }
  });
});
