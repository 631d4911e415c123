import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fill, LifecycleError, UncoveredError } from '../../src/core/index.js';
import type { PgQueryable } from '../../src/postgres/index.js';
import { embed } from '../support/hash-encoder.js';
import { rejection } from '../support/thrown.js';
import {
  ENGINE,
  oneSession,
  pgHarness,
  startEngine,
  type TestEngine,
  withHarness,
} from './helpers.js';

// Generation lifecycle details of the Postgres store (src/postgres/pg-lifecycle.ts)
// that the conformance suite does not reach: the HNSW index around activate,
// and a reclaimed generation brought back.

let engine: TestEngine;
beforeAll(async () => {
  engine = await startEngine();
});
afterAll(async () => {
  await engine?.close();
});

const G8 = { model: 'm', dimensions: 8 };
const G8B = { model: 'm', dimensions: 8, params: { v: 2 } };
const encode = async (texts: string[]) => texts.map((t) => embed(t, 8));

describe(`PgStore generation lifecycle on ${ENGINE}`, () => {
  it('activate with a backlog is refused before any index is built, saying to fill first', async () => {
    await withHarness(engine.client, async (h) => {
      for (let i = 1; i <= 4; i++) await h.insert(i, `document ${i}`);
      await h.store.ensureGeneration('b', G8, 'building');
      const [p] = await h.store.pendingForGeneration('b', 1);
      await h.store.saveVectors('b', p!.doc, p!.revision, [
        { chunkIndex: 0, start: 0, end: p!.content.length, vector: embed(p!.content, 8) },
      ]);
      const e = await rejection(h.store.activate('b'));
      expect(e).toBeInstanceOf(UncoveredError);
      expect(e.message).toBe(
        'generation "b" cannot be activated: 3 document(s) are not embedded yet; run fill for it first',
      );
      expect(await h.pgStore.indexStatus('b')).toEqual({ present: false, valid: false, bytes: 0 });
    });
  });

  it('activate is refused when the index cannot be built, saying why and what to do; nothing changes', async () => {
    let failIndex = false;
    const { session, end } = await oneSession(engine);
    const client: PgQueryable = {
      query: async (text, params) => {
        if (failIndex && /^CREATE INDEX/.test(text))
          throw new Error('could not extend file: No space left on device');
        return session.query(text, params);
      },
    };
    const h = await pgHarness(client);
    try {
      for (let i = 1; i <= 3; i++) await h.insert(i, `document ${i}`);
      await h.store.ensureGeneration('a', G8, 'active');
      await fill(h.store, 'a', encode);
      await h.store.ensureGeneration('b', G8B, 'building');
      const pending = await h.store.pendingForGeneration('b', 10);
      await h.store.saveMany!(
        'b',
        pending.map((p) => ({
          doc: p.doc,
          revision: p.revision,
          vectors: [
            { chunkIndex: 0, start: 0, end: p.content.length, vector: embed(p.content, 8) },
          ],
        })),
      );
      failIndex = true;
      const e = await rejection(h.store.activate('b'));
      expect(e).toBeInstanceOf(LifecycleError);
      expect(e.message).toBe(
        'generation "b" was not activated: its HNSW index could not be built (could not extend file: No space left on device); fix the cause (often maintenance_work_mem or disk space) and activate again',
      );
      expect((await h.store.generations()).map((g) => [g.key, g.state])).toEqual([
        ['a', 'active'],
        ['b', 'building'],
      ]);
      failIndex = false;
      await h.store.activate('b');
      expect(await h.pgStore.indexStatus('b')).toMatchObject({ present: true, valid: true });
      expect(await h.store.liveGenerations()).toEqual(['b']);
    } finally {
      await h.close();
      await end();
    }
  });

  it('a reclaimed generation ensured again as active is active, empty, and scanned from the first document', async () => {
    await withHarness(engine.client, async (h) => {
      for (let i = 1; i <= 5; i++) await h.insert(i, `document ${i}`);
      await h.store.ensureGeneration('a', G8, 'active');
      expect((await h.store.pendingForGeneration('a', 2)).map((p) => p.doc)).toEqual([1, 2]);
      await h.store.retire('a', { force: true });
      await h.store.reclaim('a');
      const info = await h.store.ensureGeneration('a', G8, 'active');
      expect(info).toMatchObject({ key: 'a', state: 'active', reclaimed: false });
      expect(await h.store.liveGenerations()).toEqual(['a']);
      expect(await h.pgStore.indexStatus('a')).toMatchObject({ present: true, valid: true });
      expect((await h.store.pendingForGeneration('a', 2)).map((p) => p.doc)).toEqual([1, 2]);
    });
  });

  it('reclaiming a generation twice is harmless; reopening it is refused saying to create it again', async () => {
    await withHarness(engine.client, async (h) => {
      await h.insert(1, 'one');
      await h.store.ensureGeneration('a', G8, 'active');
      await fill(h.store, 'a', encode);
      await h.store.retire('a', { force: true });
      await h.store.reclaim('a');
      await h.store.reclaim('a');
      expect(await h.vectorRows('a')).toBe(0);
      const e = await rejection(h.store.reopen('a'));
      expect(e).toBeInstanceOf(LifecycleError);
      expect(e.message).toMatch(
        /^generation "a" was reclaimed: its vectors are gone, so it cannot be reopened/,
      );
      expect((await h.store.generations())[0]).toMatchObject({ state: 'retired', reclaimed: true });
    });
  });

  it('refuses generation options, naming each one, and creates nothing', async () => {
    await withHarness(engine.client, async (h) => {
      const options = { quantization: 'binary', rescore: 4 } as Parameters<
        typeof h.pgStore.ensureGeneration
      >[3];
      const e = await rejection(h.pgStore.ensureGeneration('q', G8, 'building', options));
      expect(e).toBeInstanceOf(TypeError);
      expect(e.message).toBe(
        "the PostgreSQL store has no generation options (got quantization, rescore); pgvector's HNSW index is built the same way for every generation",
      );
      expect(await h.store.generations()).toEqual([]);
      // No options, or an empty object, are fine.
      await h.pgStore.ensureGeneration('q', G8, 'building', {});
      expect((await h.store.generations()).map((g) => g.key)).toEqual(['q']);
    });
  });

  it('refuses an empty generation key and an invalid generation before creating anything', async () => {
    await withHarness(engine.client, async (h) => {
      const key = await rejection(h.store.ensureGeneration('', G8, 'building'));
      expect(key).toBeInstanceOf(TypeError);
      expect(key.message).toBe('generation key must be a non-empty string');
      const model = await rejection(h.store.ensureGeneration('a', { model: ' ', dimensions: 8 }));
      expect(model.message).toBe('generation.model must be a non-empty string');
      expect(await h.store.generations()).toEqual([]);
    });
  });

  it('activate re-checks the backlog under its lock: a document added after the first check refuses it', async () => {
    let addDocument: (() => Promise<unknown>) | undefined;
    const { session, end } = await oneSession(engine);
    const client: PgQueryable = {
      query: async (text, params) => {
        if (addDocument && /^LOCK TABLE/.test(text)) {
          const add = addDocument;
          addDocument = undefined;
          await add();
        }
        return session.query(text, params);
      },
    };
    const h = await pgHarness(client);
    try {
      for (let i = 1; i <= 2; i++) await h.insert(i, `document ${i}`);
      await h.store.ensureGeneration('a', G8, 'active');
      await fill(h.store, 'a', encode);
      await h.store.ensureGeneration('b', G8B, 'building');
      await fill(h.store, 'b', encode);
      addDocument = () =>
        engine.client.query(`INSERT INTO ${h.schema.docsTable} (id, content) VALUES (3, 'late')`);
      const e = await rejection(h.store.activate('b'));
      expect(e).toBeInstanceOf(UncoveredError);
      expect(e.message).toBe(
        'generation "b" cannot be activated: 1 document(s) are not embedded yet; run fill for it first',
      );
      expect((await h.store.generations()).map((g) => [g.key, g.state])).toEqual([
        ['a', 'active'],
        ['b', 'building'],
      ]);
    } finally {
      await h.close();
      await end();
    }
  });

  it('a reclaimed generation ensured again as building while another one builds is refused with what to do', async () => {
    await withHarness(engine.client, async (h) => {
      await h.store.ensureGeneration('a', G8, 'building');
      await h.store.retire('a');
      await h.store.reclaim('a');
      await h.store.ensureGeneration('b', G8B, 'building');
      const e = await rejection(h.store.ensureGeneration('a', G8, 'building'));
      expect(e).toBeInstanceOf(LifecycleError);
      expect(e.message).toBe(
        'generation "a" cannot be building: another generation already is (at most one active and one building); activate or retire it first',
      );
      expect((await h.store.generations()).map((g) => [g.key, g.state, g.reclaimed])).toEqual([
        ['a', 'retired', true],
        ['b', 'building', false],
      ]);
    });
  });
});
