import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EmptyInputError, fill, search } from '../../src/core/index.js';
import {
  EncoderConfigError,
  isPermanentEncodeError,
  openAICompatible,
  skipPermanentErrors,
  TransientEncodeError,
} from '../../src/encoders/index.js';
import { openDatabase, SqliteStore } from '../../src/sqlite/index.js';
import { DOCS_DDL, SCHEMA, tempDir } from '../sqlite/helpers.js';
import { blankByTable } from '../support/blank-oracle.js';
import { type Fault, startFaultServer } from '../support/fault-server.js';
import { embed, hashEncoder } from '../support/hash-encoder.js';
import { rng } from '../support/rng.js';
import { rejectsWith } from '../support/thrown.js';

const DIMS = 16;

describe('provider faults', () => {
  it('finishes a fill through 429s, 500s, hangs, truncated JSON, NaN and resets, skipping only the poison document', async () => {
    const random = rng(42);
    const faults: [Fault, number][] = [
      ['429', 0.1],
      ['500', 0.1],
      ['hang', 0.03],
      ['truncated', 0.06],
      ['nan', 0.06],
      ['reset', 0.03],
    ];
    const server = await startFaultServer({
      dimensions: DIMS,
      poisonMarker: 'POISON',
      retryAfter: 0,
      decide: (n) => {
        // Every kind of fault early on for certain, then at random.
        const first: Fault[] = ['429', 'ok', '500', 'hang', 'truncated', 'nan', 'reset'];
        if (n <= first.length) return first[n - 1]!;
        let r = random();
        for (const [fault, p] of faults) {
          if (r < p) return fault;
          r -= p;
        }
        return 'ok';
      },
    });
    const { dir, cleanup } = tempDir();
    try {
      const db = openDatabase(join(dir, 'faults.db'));
      db.exec(DOCS_DDL);
      const ins = db.prepare('INSERT INTO docs (id, content) VALUES (?, ?)');
      for (let i = 1; i <= 300; i++)
        ins.run(
          i,
          i === 150 ? 'this one is POISON for the model' : `document ${i} about topic ${i % 11}`,
        );
      const store = SqliteStore.open(db, SCHEMA);
      const encoder = await openAICompatible({
        baseURL: server.url,
        model: 'fault-model',
        apiKey: 'sk-fault-secret',
        dimensions: DIMS,
        sendDimensions: false,
        timeoutMs: 250,
        retryBaseMs: 5,
        maxRetries: 10,
      });
      store.ensureGeneration('g', encoder.generation, 'active');
      const reported: string[] = [];
      const result = await fill(store, 'g', encoder.encode, {
        batch: { batchSize: 16 },
        concurrency: 2,
        onEncodeError: skipPermanentErrors((doc, err) =>
          reported.push(`${String(doc)}: ${err.message}`),
        ),
      });
      expect(result).toMatchObject({ documents: 300, skipped: 1, chunks: 299 });
      expect(reported).toHaveLength(1);
      expect(reported[0]).toMatch(/^150: provider refused the input \(HTTP 400\)/);
      expect(store.coverage('g')).toEqual({ embedded: 299, skipped: 1, backlog: 0 });
      // Every one of the 299 embedded documents has exactly the vector of its
      // content (read back from the store), and the poison one has none.
      const rows = db
        .prepare(
          `SELECT c.doc AS doc, d.content AS content, v.embedding AS embedding
           FROM vf_chunks c JOIN docs d ON d.id = c.doc JOIN vf_vec_1 v ON v.rowid = c.id ORDER BY c.doc`,
        )
        .all() as { doc: number; content: string; embedding: Buffer }[];
      expect(rows.map((r) => r.doc)).toEqual(
        Array.from({ length: 300 }, (_, i) => i + 1).filter((id) => id !== 150),
      );
      for (const r of rows) {
        const stored = new Float32Array(
          r.embedding.buffer,
          r.embedding.byteOffset,
          r.embedding.byteLength / 4,
        );
        expect(Array.from(stored), `document ${r.doc}`).toEqual(Array.from(embed(r.content, DIMS)));
      }
      // Bounded requests: 19 batches, one isolation pass for the poisoned batch, and retries.
      const served = server.log.filter((l) => l.fault !== 'ok' && l.fault !== '400').length;
      expect(server.log.length).toBeLessThan(150);
      expect(served).toBeGreaterThan(5);
      expect(new Set(server.log.map((l) => l.fault))).toEqual(
        new Set(['ok', '400', '429', '500', 'hang', 'truncated', 'nan', 'reset']),
      );
      expect(server.log.every((l) => l.authorization === 'Bearer sk-fault-secret')).toBe(true);
      expect(reported.join('\n')).not.toContain('sk-fault-secret');
      db.close();
    } finally {
      await server.close();
      cleanup();
    }
  }, 60_000);

  it('stops the fill on an outage instead of skipping documents', async () => {
    const server = await startFaultServer({ dimensions: DIMS, decide: () => '500' });
    const { dir, cleanup } = tempDir();
    try {
      const db = openDatabase(join(dir, 'outage.db'));
      db.exec(DOCS_DDL);
      for (let i = 1; i <= 5; i++)
        db.prepare('INSERT INTO docs (id, content) VALUES (?, ?)').run(i, `doc ${i}`);
      const store = SqliteStore.open(db, SCHEMA);
      const encoder = await openAICompatible({
        baseURL: server.url,
        model: 'm',
        dimensions: DIMS,
        retryBaseMs: 1,
        maxRetries: 2,
      });
      store.ensureGeneration('g', encoder.generation, 'active');
      await rejectsWith(
        fill(store, 'g', encoder.encode, { onEncodeError: skipPermanentErrors() }),
        TransientEncodeError,
        /gave up after 3 attempts/,
      );
      expect(store.coverage('g')).toEqual({ embedded: 0, skipped: 0, backlog: 5 });
      db.close();
    } finally {
      await server.close();
      cleanup();
    }
  });

  it('stops the fill on a misconfigured encoder (wrong dimensions) instead of skipping every document', async () => {
    // The server answers with 8-dimensional vectors; the generation says 16.
    const server = await startFaultServer({ dimensions: 8, decide: () => 'ok' });
    const { dir, cleanup } = tempDir();
    try {
      const db = openDatabase(join(dir, 'config.db'));
      db.exec(DOCS_DDL);
      for (let i = 1; i <= 5; i++)
        db.prepare('INSERT INTO docs (id, content) VALUES (?, ?)').run(i, `doc ${i}`);
      const store = SqliteStore.open(db, SCHEMA);
      const encoder = await openAICompatible({
        baseURL: server.url,
        model: 'm',
        dimensions: DIMS,
        sendDimensions: false,
        retryBaseMs: 1,
      });
      store.ensureGeneration('g', encoder.generation, 'active');
      // Even a handler that would skip anything is not asked: the setting is
      // wrong for every document, so none of them is at fault.
      const asked: unknown[] = [];
      const err = await fill(store, 'g', encoder.encode, {
        onEncodeError: (doc) => {
          asked.push(doc);
          return true;
        },
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EncoderConfigError);
      expect(isPermanentEncodeError(err)).toBe(false);
      expect(skipPermanentErrors()(1, err)).toBe(false);
      expect(asked).toEqual([]);
      // Nothing was stamp-skipped: fixing the setting and filling again embeds everything.
      expect(store.coverage('g')).toEqual({ embedded: 0, skipped: 0, backlog: 5 });
      expect(server.log).toHaveLength(1);
      db.close();
    } finally {
      await server.close();
      cleanup();
    }
  });
});

describe('hostile input', () => {
  it('embeds a 10 MB document into bounded chunks and finds it', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const db = openDatabase(join(dir, 'huge.db'));
      db.exec(DOCS_DDL);
      const para = 'Glaciers carve valleys slowly over thousands of years. ';
      db.prepare('INSERT INTO docs (id, content) VALUES (1, ?)').run(
        para.repeat(Math.ceil(10_000_000 / para.length)),
      );
      db.prepare('INSERT INTO docs (id, content) VALUES (2, ?)').run(
        'a short unrelated note about jazz',
      );
      const store = SqliteStore.open(db, SCHEMA);
      store.ensureGeneration('g', { model: 'hash', dimensions: DIMS }, 'active');
      const result = await fill(store, 'g', hashEncoder(DIMS).encode, {
        split: { maxChars: 4000 },
        batch: { batchSize: 256 },
      });
      expect(result.documents).toBe(2);
      expect(result.chunks).toBeGreaterThan(2500);
      const hits = await search(store, 'glaciers carve valleys', {
        encoderFor: () => hashEncoder(DIMS).encode,
        limit: 2,
      });
      expect(hits[0]!.doc).toBe(1);
      expect(hits).toHaveLength(2);
      db.close();
    } finally {
      cleanup();
    }
  }, 60_000);

  it('query text of any shape gives results or a typed error, never anything else (SQLite, hybrid)', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const db = openDatabase(join(dir, 'q.db'));
      db.exec(DOCS_DDL);
      for (let i = 1; i <= 20; i++)
        db.prepare('INSERT INTO docs (id, content) VALUES (?, ?)').run(
          i,
          `note ${i} "quoted" AND NEAR(x) *`,
        );
      const store = SqliteStore.open(db, SCHEMA);
      store.ensureGeneration('g', { model: 'hash', dimensions: DIMS }, 'active');
      const { encode } = hashEncoder(DIMS);
      await fill(store, 'g', encode);
      await fc.assert(
        fc.asyncProperty(
          fc.string({ unit: 'binary', maxLength: 200 }),
          fc.boolean(),
          async (q, hybrid) => {
            const outcome = await search(store, q, {
              encoderFor: () => encode,
              limit: 5,
              hybrid,
            }).then(
              (hits) => ({ hits, error: undefined }),
              (error: unknown) => ({ hits: undefined, error }),
            );
            if (blankByTable(q)) {
              // Only a blank query is refused, with the typed error.
              expect(outcome.error).toBeInstanceOf(EmptyInputError);
            } else {
              expect(outcome.error).toBeUndefined();
              expect(outcome.hits).toHaveLength(5);
            }
          },
        ),
        { numRuns: 300 },
      );
      db.close();
    } finally {
      cleanup();
    }
  });
});
