import type { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EncodeFn, fill, InvalidIdentifierError } from '../../src/core/index.js';
import { PgStore, validatePgSchema } from '../../src/postgres/index.js';
import { embed } from '../support/hash-encoder.js';
import { pgHarness, startPglite } from './helpers.js';

let db: PGlite;
beforeAll(async () => {
  db = await startPglite();
});
afterAll(async () => {
  await db?.close();
});

describe('PgStore (Postgres specifics)', () => {
  it('refuses injection in every identifier, including each part of a schema-qualified name', () => {
    const base = {
      docsTable: 'app.docs',
      idColumn: 'id',
      contentColumn: 'content',
      vectorsPrefix: 'app.vf',
    };
    for (const [field, bad] of [
      ['docsTable', 'app.docs; DROP TABLE x'],
      ['docsTable', 'a"b.docs'],
      ['docsTable', 'a.b.c'],
      ['idColumn', 'id --'],
      ['contentColumn', "c' OR 1=1"],
      ['revisionColumn', 'rev;'],
      ['embedGenColumn', 'ｅ'],
      ['vectorsPrefix', 'x.y; DROP'],
    ] as const) {
      expect(() => validatePgSchema({ ...base, [field]: bad }), `${field}=${bad}`).toThrow(
        /not a valid SQL identifier|at most one schema qualifier/,
      );
    }
    expect(() => validatePgSchema({ ...base, idColumn: 'id"' })).toThrow(InvalidIdentifierError);
    expect(validatePgSchema(base).docs).toBe('"app"."docs"');
  });

  it('says which table is missing', async () => {
    await expect(
      PgStore.open(db, {
        docsTable: 'nowhere.docs',
        idColumn: 'id',
        contentColumn: 'c',
        vectorsPrefix: 'vf',
      }),
    ).rejects.toThrow(/documents table nowhere\.docs does not exist/);
  });

  it('two fill workers on one table embed every document exactly once (leases)', async () => {
    const h = await pgHarness(db, { leaseMs: 60_000 });
    try {
      for (let i = 1; i <= 120; i++) await h.insert(i, `document ${i} about ${i % 9}`);
      await h.store.ensureGeneration('g', { model: 'hash', dimensions: 16 }, 'active');
      // A second store instance on the same tables: another worker.
      const second = await PgStore.open(db, h.schema);
      const saves = new Map<unknown, number>();
      const counting = (store: PgStore): PgStore => {
        const save = store.saveMany!.bind(store);
        store.saveMany = async (gen, items) => {
          const out = await save(gen, items);
          items.forEach((it, i) => {
            if (out[i] === null) saves.set(it.doc, (saves.get(it.doc) ?? 0) + 1);
          });
          return out;
        };
        return store;
      };
      const encode: EncodeFn = async (texts) => {
        await new Promise((r) => setTimeout(r, 2));
        return texts.map((t) => embed(t, 16));
      };
      const [a, b] = await Promise.all([
        fill(counting(h.pgStore), 'g', encode, {
          scanBatch: 10,
          batch: { batchSize: 10 },
        }),
        fill(counting(second), 'g', encode, { scanBatch: 10, batch: { batchSize: 10 } }),
      ]);
      expect(a.documents + b.documents).toBe(120);
      expect(a.documents).toBeGreaterThan(0);
      expect(b.documents).toBeGreaterThan(0);
      expect(saves.size).toBe(120);
      expect([...saves.values()].every((n) => n === 1)).toBe(true);
      expect(await h.store.coverage('g')).toEqual({ embedded: 120, skipped: 0, backlog: 0 });
    } finally {
      await h.close();
    }
  });

  it('uses the HNSW index with iterative scans for the KNN', async () => {
    const h = await pgHarness(db);
    try {
      for (let i = 1; i <= 50; i++) await h.insert(i, `row ${i}`);
      await h.store.ensureGeneration('g', { model: 'hash', dimensions: 16 }, 'active');
      await fill(h.store, 'g', async (texts) => texts.map((t) => embed(t, 16)));
      const indexes = await db.query<{ def: string }>(
        "SELECT indexdef AS def FROM pg_indexes WHERE indexname LIKE 'vf_vec_%_hnsw'",
      );
      expect(
        indexes.rows.some((r) => /USING hnsw \(embedding vector_cosine_ops\)/.test(r.def)),
      ).toBe(true);
      const hits = await h.store.queryGeneration('g', embed('row 7', 16), 3);
      expect(hits[0]!.doc).toBe(7);
      expect(hits[0]!.score).toBeCloseTo(1, 4);
    } finally {
      await h.close();
    }
  });
});
