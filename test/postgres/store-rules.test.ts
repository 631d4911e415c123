import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fill, LifecycleError } from '../../src/core/index.js';
import { embed } from '../support/hash-encoder.js';
import { rejection } from '../support/thrown.js';
import { ENGINE, pgHarness, startEngine, type TestEngine, withHarness } from './helpers.js';

// The shared SQL layer's rules that only the Postgres store reaches
// (docs/invariants.md, the src/sql mutation run): the refusal of a second
// building generation found by the unique index, and a reclaimed
// generation's vectors.

let engine: TestEngine;
beforeAll(async () => {
  engine = await startEngine();
});
afterAll(async () => {
  await engine?.close();
});

const G8 = { model: 'm', dimensions: 8 };

describe(`PgStore rules on ${ENGINE}`, () => {
  it('a second building generation is refused with what to do', async () => {
    const { store } = await pgHarness(engine.client);
    await store.ensureGeneration('a', G8, 'building');
    const e = await rejection(store.ensureGeneration('b', G8, 'building'));
    expect(e).toBeInstanceOf(LifecycleError);
    expect(e.message).toMatch(/^generation "b" cannot be building: another generation already is/);
    expect(e.message).toContain('activate or retire it first');
  });

  it('a reclaimed generation refuses its scan and says to ensure it again', async () => {
    const { store, insert } = await pgHarness(engine.client);
    await insert(1, 'one');
    await store.ensureGeneration('a', G8, 'active');
    await store.retire('a', { force: true });
    await store.reclaim('a');
    const e = await rejection(store.pendingForGeneration('a', 10));
    expect(e).toBeInstanceOf(LifecycleError);
    expect(e.message).toBe(
      'generation "a" was reclaimed: its vectors are gone; ensure it again to rebuild it',
    );
    expect(await store.coverage('a')).toEqual({ embedded: 0, skipped: 0, backlog: 1 });
  });

  it('consecutive scans without saves move on from the last page, then wrap around to the head', async () => {
    await withHarness(engine.client, async (h) => {
      for (let i = 1; i <= 5; i++) await h.insert(i, `document ${i}`);
      await h.store.ensureGeneration('a', G8, 'active');
      const page = async () => (await h.store.pendingForGeneration('a', 2)).map((p) => p.doc);
      expect(await page()).toEqual([1, 2]);
      expect(await page()).toEqual([3, 4]);
      // Short after the cursor: the page is filled from the head.
      expect(await page()).toEqual([5, 1]);
      expect(await page()).toEqual([2, 3]);
    });
  });

  it('a row whose content is NULL is pending as blank text, and a fill stamps it skipped', async () => {
    await withHarness(engine.client, async (h) => {
      await engine.client.query(
        `ALTER TABLE ${h.schema.docsTable} ALTER COLUMN content DROP NOT NULL`,
      );
      await h.insert(1, 'one');
      await engine.client.query(`INSERT INTO ${h.schema.docsTable} (id, content) VALUES (2, NULL)`);
      await h.store.ensureGeneration('a', G8, 'active');
      const pending = await h.store.pendingForGeneration('a', 10);
      expect(pending.map((p) => [p.doc, p.content])).toEqual([
        [1, 'one'],
        [2, ''],
      ]);
      const done = await fill(h.store, 'a', async (texts) => texts.map((t) => embed(t, 8)));
      expect(done.documents).toBe(2);
      expect(await h.store.coverage('a')).toEqual({ embedded: 1, skipped: 1, backlog: 0 });
    });
  });

  it("stats counts a generation's chunks, vector bytes, skipped chunks and index; reclaimed, none of them", async () => {
    await withHarness(engine.client, async (h) => {
      for (let i = 1; i <= 3; i++) await h.insert(i, `document ${i}`);
      await h.insert(4, 'a document whose encoder refuses a chunk');
      await h.store.ensureGeneration('a', G8, 'active');
      const [p1, p2, p3, p4] = await h.store.pendingForGeneration('a', 10);
      const chunk = (i: number, text: string) => ({
        chunkIndex: i,
        start: 0,
        end: text.length,
        vector: embed(`${text} ${i}`, 8),
      });
      await h.store.saveVectors('a', p1!.doc, p1!.revision, [
        chunk(0, p1!.content),
        chunk(1, p1!.content),
      ]);
      await h.store.saveVectors('a', p2!.doc, p2!.revision, [chunk(0, p2!.content)]);
      await h.store.saveVectors('a', p3!.doc, p3!.revision, [chunk(0, p3!.content)]);
      await h.store.saveVectors('a', p4!.doc, p4!.revision, [], {
        skipReason: 'HTTP 422: too long',
      });
      await h.store.saveVectors('a', p4!.doc, p4!.revision, [chunk(0, p4!.content)], {
        skippedChunks: 2,
      });
      const stats = await h.pgStore.stats('a');
      expect(stats).toMatchObject({
        chunks: 5,
        vectorBytes: 5 * 8 * 4,
        skippedChunks: 2,
        index: 'hnsw',
      });
      expect(stats.indexBytes).toBeGreaterThan(0);
      expect(await h.pgStore.indexStatus('a')).toMatchObject({ present: true, valid: true });
      // An index left invalid (a build killed half-way) is reported as such.
      const ns = h.schema.docsTable.split('.')[0]!;
      const [{ id }] = (
        await engine.client.query(`SELECT id FROM ${ns}.vf_generations WHERE key = 'a'`)
      ).rows as [{ id: number }];
      await engine.client.query(
        `UPDATE pg_index SET indisvalid = false WHERE indexrelid = '${ns}.vf_vec_${id}_hnsw'::regclass`,
      );
      expect((await h.pgStore.stats('a')).index).toBe(
        'hnsw (building, or invalid: rebuilt at activate)',
      );
      await h.store.ensureGeneration('b', { ...G8, params: { v: 2 } }, 'building');
      expect(await h.pgStore.stats('b')).toEqual({
        chunks: 0,
        vectorBytes: 0,
        skippedChunks: 0,
        index: 'none (deferred: built when filled)',
        indexBytes: 0,
      });
      await h.store.retire('a', { force: true });
      await h.store.reclaim('a');
      expect(await h.pgStore.stats('a')).toEqual({
        chunks: 0,
        vectorBytes: 0,
        skippedChunks: 0,
        index: 'none',
        indexBytes: 0,
      });
    });
  });

  it('a reclaimed generation lists no skip reasons, though its generation row stays', async () => {
    await withHarness(engine.client, async (h) => {
      await h.insert(1, 'one');
      await h.store.ensureGeneration('a', G8, 'active');
      const [p] = await h.store.pendingForGeneration('a', 1);
      await h.store.saveVectors('a', p!.doc, p!.revision, [], { skipReason: 'HTTP 422: too long' });
      expect(await h.store.skipReasons('a')).toEqual([
        { reason: 'HTTP 422: too long', documents: 1 },
      ]);
      await h.store.retire('a', { force: true });
      await h.store.reclaim('a');
      expect(await h.store.skipReasons('a')).toEqual([]);
      expect((await h.store.generations()).map((g) => g.key)).toEqual(['a']);
    });
  });

  it('queryFullText: a NUL byte searches as a space, blank text finds nothing, a skipped document is never returned', async () => {
    await withHarness(engine.client, async (h) => {
      await h.insert(1, 'rocket launch at dawn');
      await h.insert(2, 'a rocket launch the encoder refused');
      await h.insert(3, 'gardening notes');
      await h.store.ensureGeneration('a', G8, 'active');
      for (const p of await h.store.pendingForGeneration('a', 10)) {
        if (p.doc === 2)
          await h.store.saveVectors('a', p.doc, p.revision, [], { skipReason: 'HTTP 422' });
        else
          await h.store.saveVectors('a', p.doc, p.revision, [
            { chunkIndex: 0, start: 0, end: p.content.length, vector: embed(p.content, 8) },
          ]);
      }
      const docs = async (text: string) =>
        (await h.store.queryFullText!('a', text, 5)).map((x) => x.doc);
      expect(await docs('rocket launch')).toEqual([1]);
      expect(await docs('rocket\u0000launch')).toEqual([1]);
      expect(await docs('   ')).toEqual([]);
      expect(await docs('\u0000')).toEqual([]);
    });
  });

  it('queryFullText runs its filter read-only: a filter that writes is refused', async () => {
    await withHarness(engine.client, async (h) => {
      const ns = h.schema.docsTable.split('.')[0]!;
      await engine.client.query(`CREATE SEQUENCE ${ns}.s1`);
      await h.insert(1, 'rocket launch');
      await h.store.ensureGeneration('a', G8, 'active');
      await fill(h.store, 'a', async (texts) => texts.map((t) => embed(t, 8)));
      const e = await rejection(
        h.store.queryFullText!('a', 'rocket', 5, {
          filter: { where: `setval('${ns}.s1', 999) > 0` },
        }),
      );
      expect(e.message).toMatch(/read-only transaction/);
      const seq = await engine.client.query(`SELECT is_called FROM ${ns}.s1`);
      expect(seq.rows[0]).toMatchObject({ is_called: false });
    });
  });
});
