import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type Chunk,
  type EncodeFn,
  type FillProgress,
  fill,
  InvalidVectorError,
  type Pending,
  PermanentEncodeError,
  ProviderFailureError,
  type Revision,
  type SaveItem,
  VecfillError,
} from '../../src/core/index.js';
import { openDatabase, SqliteStore } from '../../src/sqlite/index.js';
import { DOCS_DDL, SCHEMA, tempDir } from '../sqlite/helpers.js';
import { embed, hashEncoder } from '../support/hash-encoder.js';
import { MemoryStore, storeWith } from '../support/memory-store.js';
import { rejection, rejectsWith } from '../support/thrown.js';

// The finer promises of `fill` that the main fill tests do not pin down:
// option checking, progress figures, what a save records, how encode calls
// are cut, and the guards against loops. Each was found by a mutation
// (docs/invariants.md) that no test noticed.

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A real SQLite table of `n` documents (ids 1..n) and a store over it with generation `g1`. */
function sqliteTable(n: number, content = (i: number) => `document ${i} about topic ${i % 7}`) {
  const { dir, cleanup } = tempDir();
  const db: Database.Database = openDatabase(join(dir, 'fill.db'));
  cleanups.push(cleanup, () => db.close());
  db.exec(DOCS_DDL);
  const ins = db.prepare('INSERT INTO docs (id, content) VALUES (?, ?)');
  for (let i = 1; i <= n; i++) ins.run(i, content(i));
  const store = SqliteStore.open(db, SCHEMA);
  store.ensureGeneration('g1', { model: 'hash-16', dimensions: 16 }, 'building');
  return { db, store };
}

describe('fill options', () => {
  it('accepts the smallest valid values', async () => {
    const store = storeWith(3);
    const result = await fill(store, 'g1', hashEncoder(8).encode, {
      scanBatch: 1,
      concurrency: 1,
      batch: { batchSize: 1 },
      maxConsecutiveSkips: 1,
    });
    expect(result.documents).toBe(3);
  });

  it.each([
    [{ scanBatch: 0 }, 'scanBatch must be a positive integer, got 0'],
    [{ scanBatch: 1.5 }, 'scanBatch must be a positive integer, got 1.5'],
    [{ scanBatch: Number.NaN }, 'scanBatch must be a positive integer, got NaN'],
    [{ scanBatch: Number.POSITIVE_INFINITY }, 'scanBatch must be a positive integer, got Infinity'],
    [{ concurrency: 0 }, 'concurrency must be a positive integer, got 0'],
    [{ concurrency: 2.5 }, 'concurrency must be a positive integer, got 2.5'],
    [{ batch: { batchSize: 0 } }, 'batch.batchSize must be a positive integer, got 0'],
    [{ batch: { batchSize: 0.5 } }, 'batch.batchSize must be a positive integer, got 0.5'],
  ])('refuses %o with a RangeError that names the option and the value', async (opts, message) => {
    const store = storeWith(2);
    const { encode, calls } = hashEncoder(8);
    const error = await fill(store, 'g1', encode, opts).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toBe(`fill: ${message}`);
    expect(calls).toEqual([]);
    expect(store.saves).toEqual([]);
  });

  it('stops after 20 skips in a row of the same failure by default, not before', async () => {
    const rejectAll: EncodeFn = async () => {
      throw new PermanentEncodeError('the model rejects this text', { status: 400 });
    };
    const nineteen = storeWith(19);
    const r = await fill(nineteen, 'g1', rejectAll, { onEncodeError: () => true });
    expect(r).toMatchObject({ documents: 19, skipped: 19 });
    const twenty = storeWith(20);
    await rejectsWith(
      fill(twenty, 'g1', rejectAll, { onEncodeError: () => true }),
      ProviderFailureError,
      /20 inputs in a row failed the same way/,
    );
    expect(twenty.saves).toEqual([]);
  });

  it('retrySkipped needs a store with resetSkipped, and says so before any work', async () => {
    const store = storeWith(2);
    const { encode, calls } = hashEncoder(8);
    await rejectsWith(
      fill(store, 'g1', encode, { retrySkipped: true }),
      TypeError,
      'fill: retrySkipped needs a store with resetSkipped',
    );
    expect(calls).toEqual([]);
  });

  it('retrySkipped re-attempts the documents an earlier fill skipped and counts them', async () => {
    const { store } = sqliteTable(6);
    let broken = true;
    const inner = hashEncoder(16).encode;
    const flaky: EncodeFn = async (texts, o) => {
      if (broken && texts.some((t) => t.startsWith('document 3 ')))
        throw new PermanentEncodeError('rejected', { status: 400 });
      return inner(texts, o);
    };
    const first = await fill(store, 'g1', flaky, { onEncodeError: () => true });
    expect(first).toEqual({
      documents: 6,
      chunks: 5,
      skipped: 1,
      skippedChunks: 0,
      stale: 0,
      missing: 0,
    });
    broken = false;
    // Without retrySkipped the skip stands: nothing is pending.
    expect(await fill(store, 'g1', flaky)).toMatchObject({ documents: 0 });
    const again = await fill(store, 'g1', flaky, { retrySkipped: true });
    expect(again).toMatchObject({ retried: 1, documents: 1, chunks: 1, skipped: 0 });
    expect(store.coverage('g1')).toEqual({ embedded: 6, skipped: 0, backlog: 0 });
  });
});

describe('fill progress', () => {
  it('reports after every save: documents rise, pending seen counts the scans, rate is documents per second', async () => {
    let now = 1_000_000;
    vi.spyOn(Date, 'now').mockImplementation(() => {
      now += 10;
      return now;
    });
    const store = storeWith(9);
    store.put('d0004', '   ');
    const events: FillProgress[] = [];
    const result = await fill(store, 'g1', hashEncoder(8).encode, {
      scanBatch: 4,
      onProgress: (p) => events.push({ ...p }),
    });
    expect(result).toEqual({
      documents: 9,
      chunks: 8,
      skipped: 1,
      skippedChunks: 0,
      stale: 0,
      missing: 0,
    });
    const last = events.at(-1)!;
    expect(last).toMatchObject({ documents: 9, pendingSeen: 9, chunks: 8, skipped: 1, stale: 0 });
    for (const e of events) {
      expect(e.elapsedMs).toBeGreaterThan(0);
      expect(e.rate).toBeCloseTo((e.documents * 1000) / e.elapsedMs, 10);
    }
    // One event per save (each raises the count), then the final one.
    const duringRun = events.slice(0, -1).map((e) => e.documents);
    expect(duringRun).toEqual([...new Set(duringRun)].sort((a, b) => a - b));
    expect(duringRun.at(-1)).toBe(9);
    // pending seen grows page by page: 4, 8, 9.
    expect([...new Set(events.map((e) => e.pendingSeen))]).toEqual([4, 8, 9]);
  });

  it('reports a rate of 0, not NaN, when no time has passed', async () => {
    vi.spyOn(Date, 'now').mockReturnValue(5_000);
    const events: FillProgress[] = [];
    await fill(storeWith(2), 'g1', hashEncoder(8).encode, { onProgress: (p) => events.push(p) });
    expect(events.length).toBeGreaterThan(0);
    for (const e of events) expect(e).toMatchObject({ rate: 0, elapsedMs: 0 });
  });
});

describe('how fill cuts encode calls', () => {
  it('encodes a document on its own in calls of at most 64 chunks', async () => {
    const store = new MemoryStore();
    const words = Array.from({ length: 130 }, (_, i) => `Paragraph ${i} says word${i}.`);
    store.put('long', words.join('\n\n'));
    store.put('short', 'a short one');
    const { encode, calls } = hashEncoder(8);
    const result = await fill(store, 'g1', encode, { split: { maxChars: 30 } });
    expect(calls.map((c) => c.length)).toEqual([64, 64, 2, 1]);
    expect(result.chunks).toBe(131);
    expect(
      store.stamps
        .get('g1')!
        .get('long')!
        .vectors.map((v) => v.chunkIndex),
    ).toEqual(words.map((_, i) => i));
  });

  it('cuts cross-document batches at batchSize and sends the remainder', async () => {
    const store = storeWith(12);
    const { encode, calls } = hashEncoder(8);
    await fill(store, 'g1', encode, { batch: { batchSize: 5 } });
    expect(calls.map((c) => c.length)).toEqual([5, 5, 2]);
    expect(calls.flat()).toEqual([...store.rows.values()].map((r) => r.content));
  });

  it('runs at most `concurrency` encode calls at once, and no more workers than calls', async () => {
    const store = storeWith(12);
    let inFlight = 0;
    let most = 0;
    const encode: EncodeFn = async (texts) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return texts.map((t) => embed(t, 8));
    };
    await fill(store, 'g1', encode, { batch: { batchSize: 2 }, concurrency: 3 });
    expect(most).toBe(3);
    expect(store.pending('g1', 100)).toEqual([]);
  });

  it('uses a split function as given: its chunks, and no blank one is encoded', async () => {
    const store = new MemoryStore();
    store.put('a', 'alpha beta|  |gamma');
    store.put('blank', ' \n ');
    const seen: string[] = [];
    const splitter = (content: string): Chunk[] => {
      seen.push(content);
      let start = 0;
      return content.split('|').map((text, index) => {
        const c = { index, start, end: start + text.length, text };
        start += text.length + 1;
        return c;
      });
    };
    const { encode, calls } = hashEncoder(8);
    const result = await fill(store, 'g1', encode, { split: splitter });
    expect(seen).toEqual(['alpha beta|  |gamma']); // never asked to split blank content
    expect(calls.flat()).toEqual(['alpha beta', 'gamma']);
    expect(result).toMatchObject({ documents: 2, chunks: 2, skipped: 1 });
    expect(
      store.stamps
        .get('g1')!
        .get('a')!
        .vectors.map(({ chunkIndex, start, end }) => ({ chunkIndex, start, end })),
    ).toEqual([
      { chunkIndex: 0, start: 0, end: 10 },
      { chunkIndex: 2, start: 14, end: 19 },
    ]);
  });
});

describe('what a save records', () => {
  it('a skip stamp keeps the error as one line of at most 300 characters', async () => {
    const { store } = sqliteTable(6);
    const exactly300 = 'y'.repeat(300);
    const long = `line one\n\n  line\ttwo ${'x'.repeat(400)}`;
    const inner = hashEncoder(16).encode;
    const encode: EncodeFn = async (texts, o) => {
      if (texts.some((t) => t.startsWith('document 2 '))) throw new PermanentEncodeError(long);
      if (texts.some((t) => t.startsWith('document 4 ')))
        throw new PermanentEncodeError('  short\nreason  ');
      if (texts.some((t) => t.startsWith('document 6 ')))
        throw new PermanentEncodeError(exactly300);
      return inner(texts, o);
    };
    const result = await fill(store, 'g1', encode, { onEncodeError: () => true });
    expect(result).toMatchObject({ documents: 6, skipped: 3, chunks: 3 });
    const reasons = store.skipReasons('g1').map((r) => r.reason);
    const oneLine = long.replace(/\s+/g, ' ');
    expect(reasons.sort()).toEqual(
      [`${oneLine.slice(0, 299)}…`, 'short reason', exactly300].sort(),
    );
  });

  it('a skip of a non-Error value records the value', async () => {
    const { store } = sqliteTable(2);
    const inner = hashEncoder(16).encode;
    const encode: EncodeFn = async (texts, o) => {
      if (texts.some((t) => t.startsWith('document 2 '))) throw 'quota string';
      return inner(texts, o);
    };
    await fill(store, 'g1', encode, { onEncodeError: () => true });
    expect(store.skipReasons('g1')).toEqual([
      { reason: expect.stringContaining('quota string'), documents: 1 },
    ]);
  });

  it.each([
    ['one save at a time', 1],
    ['saves gathered into saveMany', 4],
  ])(
    'a document saved without its rejected chunks records how many were skipped (%s)',
    async (_name, concurrency) => {
      const para = (i: number) =>
        [`First part of ${i} here.`, `REJECT part ${i}.`, `Last part of ${i} here.`].join('\n\n');
      const { store } = sqliteTable(8, para);
      const inner = hashEncoder(16).encode;
      const encode: EncodeFn = async (texts, o) => {
        await new Promise((r) => setTimeout(r, 1));
        if (texts.some((t) => t.startsWith('REJECT'))) throw new PermanentEncodeError('no');
        return inner(texts, o);
      };
      const result = await fill(store, 'g1', encode, {
        split: { maxChars: 30 },
        concurrency,
        onEncodeError: () => true,
      });
      expect(result).toMatchObject({ documents: 8, chunks: 16, skipped: 0, skippedChunks: 8 });
      expect(store.stats('g1').skippedChunks).toBe(8);
      // Saved with their other chunks: not stamp-skips, no skip reason.
      expect(store.coverage('g1')).toEqual({ embedded: 8, skipped: 0, backlog: 0 });
      expect(store.skipReasons('g1')).toEqual([]);
    },
  );

  it('prunes the vectors of rows deleted outside vecfill once nothing is pending, only when asked', async () => {
    const { db, store } = sqliteTable(5);
    await fill(store, 'g1', hashEncoder(16).encode);
    db.prepare('DELETE FROM docs WHERE id IN (2, 4)').run();
    const plain = await fill(store, 'g1', hashEncoder(16).encode);
    expect(plain.pruned).toBeUndefined();
    expect(store.stats('g1').chunks).toBe(5);
    const result = await fill(store, 'g1', hashEncoder(16).encode, { prune: true });
    expect(result).toEqual({
      documents: 0,
      chunks: 0,
      skipped: 0,
      skippedChunks: 0,
      stale: 0,
      missing: 0,
      pruned: 2,
    });
    expect(store.stats('g1').chunks).toBe(3);
  });
});

describe('fill guards against loops', () => {
  /** A store that makes `doc` pending again right after each of its first `times` saves. */
  function invalidatedAfterSave(store: MemoryStore, doc: string, times: number) {
    const save = store.saveVectors.bind(store);
    let n = 0;
    store.saveVectors = async (gen, d, revision, vectors) => {
      await save(gen, d, revision, vectors);
      if (d === doc && n < times) {
        n++;
        store.stamps.get(gen)!.delete(d); // as `embed_gen = NULL` would
      }
    };
  }

  it('a document invalidated right after its save three times is simply embedded again', async () => {
    const store = storeWith(4);
    invalidatedAfterSave(store, 'd0001', 3);
    const result = await fill(store, 'g1', hashEncoder(8).encode, { scanBatch: 2 });
    expect(result).toMatchObject({ documents: 7, stale: 0 });
    expect(store.pending('g1', 10)).toEqual([]);
  });

  it('a document pending again after every save at the same revision stops the fill after 4 saves', async () => {
    const store = storeWith(3);
    invalidatedAfterSave(store, 'd0001', Number.POSITIVE_INFINITY);
    const error = await fill(store, 'g1', hashEncoder(8).encode).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VecfillError);
    expect((error as VecfillError).code).toBe('STORE_INCONSISTENT');
    expect((error as Error).message).toContain('document "d0001" pending at revision 1');
    expect((error as Error).message).toContain('each of 4 saves');
    expect(store.saves.filter((s) => s.doc === 'd0001')).toHaveLength(4);
  });

  it('a document edited after each save (new revision every time) is not a loop', async () => {
    const store = storeWith(2);
    const save = store.saveVectors.bind(store);
    let edits = 0;
    store.saveVectors = async (gen, d, revision, vectors) => {
      await save(gen, d, revision, vectors);
      if (d === 'd0000' && edits < 6) {
        edits++;
        store.put('d0000', `edited ${edits}`);
      }
    };
    const result = await fill(store, 'g1', hashEncoder(8).encode);
    expect(result.documents).toBe(8);
    expect(store.pending('g1', 10)).toEqual([]);
  });

  it.each([
    ['undefined', undefined],
    ['null', null],
  ])(
    'without revisions (%s), a document pending again right after its save is left for the next run',
    async (_name, none) => {
      const inner = storeWith(3);
      invalidatedAfterSave(inner, 'd0001', Number.POSITIVE_INFINITY);
      // The store tracks no revision: pending documents carry none.
      const store = Object.assign(Object.create(inner) as MemoryStore, {
        async pendingForGeneration(gen: string, limit: number): Promise<Pending<string>[]> {
          const rows = await inner.pendingForGeneration(gen, limit);
          return rows.map(({ doc, content }) =>
            none === null ? { doc, content, revision: none } : { doc, content },
          );
        },
        saveVectors: (gen: string, doc: string, _rev: Revision | undefined, vectors: never[]) =>
          inner.saveVectors(gen, doc, inner.rows.get(doc)?.revision, vectors),
      });
      const result = await fill(store, 'g1', hashEncoder(8).encode);
      expect(result).toMatchObject({ documents: 3, stale: 0 });
      expect(inner.saves.filter((s) => s.doc === 'd0001')).toHaveLength(1);
      expect(inner.pending('g1', 10).map((p) => p.doc)).toEqual(['d0001']);
    },
  );

  it('a stale document set aside does not shrink the next scan: scanBatch 1 still reaches every document', async () => {
    const store = storeWith(5);
    store.beforeSave = (doc) => {
      if (doc === 'd0000') store.put('d0000', `edited ${Math.random()}`);
    };
    const result = await fill(store, 'g1', hashEncoder(8).encode, { scanBatch: 1 });
    expect(result).toMatchObject({ documents: 4, stale: 1 });
    expect(store.pending('g1', 10).map((p) => p.doc)).toEqual(['d0000']);
  });

  it('a skip held by the breaker does not shrink the next scan: scanBatch 1 still reaches every document', async () => {
    const store = storeWith(5);
    store.put('d0000', 'poison pill');
    const inner = hashEncoder(8).encode;
    const encode: EncodeFn = async (texts, o) => {
      if (texts.includes('poison pill')) throw new PermanentEncodeError('rejected');
      return inner(texts, o);
    };
    const result = await fill(store, 'g1', encode, { scanBatch: 1, onEncodeError: () => true });
    expect(result).toMatchObject({ documents: 5, chunks: 4, skipped: 1, stale: 0 });
    expect(store.pending('g1', 10)).toEqual([]);
  });

  it('a store failure stops the saves: nothing after the failed save is written', async () => {
    const store = storeWith(8);
    store.beforeSave = (doc) => {
      if (doc === 'd0002') throw new Error('disk I/O error');
    };
    const slow: EncodeFn = async (texts) => {
      await new Promise((r) => setTimeout(r, 2));
      return texts.map((t) => embed(t, 8));
    };
    expect((await rejection(fill(store, 'g1', slow, { concurrency: 4 }))).message).toBe(
      'disk I/O error',
    );
    expect(store.saves.map((s) => s.doc)).toEqual(['d0000', 'd0001']);
  });

  it('an abort while encoding is not an encoder error: onEncodeError is not asked', async () => {
    const store = storeWith(6);
    const controller = new AbortController();
    const encode: EncodeFn = (texts, o) =>
      new Promise((resolve, reject) => {
        if (texts[0]!.startsWith('document number 3 ')) {
          controller.abort(new Error('interrupted'));
          reject(new Error('socket closed by abort'));
          return;
        }
        resolve(texts.map((t) => embed(t, 8)));
        void o;
      });
    const asked: unknown[] = [];
    await rejectsWith(
      fill(store, 'g1', encode, {
        signal: controller.signal,
        onEncodeError: (doc) => {
          asked.push(doc);
          return true;
        },
      }),
      Error,
      'interrupted',
    );
    expect(asked).toEqual([]);
    expect(store.pending('g1', 10).map((p) => p.doc)).toEqual(['d0003', 'd0004', 'd0005']);
  });
});

describe('a batch with one unusable vector', () => {
  it('skips the input the error names and encodes the rest together', async () => {
    const store = storeWith(5);
    const calls: string[][] = [];
    const encode: EncodeFn = async (texts) => {
      calls.push([...texts]);
      return texts.map((t) =>
        t.startsWith('document number 2 ') ? new Float32Array(8).fill(Number.NaN) : embed(t, 8),
      );
    };
    const asked: unknown[] = [];
    let pendingSeen = 0;
    const result = await fill(store, 'g1', encode, {
      batch: { batchSize: 5 },
      onEncodeError: (doc, _e, chunk) => {
        asked.push([doc, chunk.index]);
        return true;
      },
      onProgress: (p) => {
        pendingSeen = p.pendingSeen;
      },
    });
    expect(asked).toEqual([['d0002', 0]]);
    expect(calls.map((c) => c.length)).toEqual([5, 4]);
    expect(result).toMatchObject({ documents: 5, chunks: 4, skipped: 1 });
    // All in the one scan: the rest was not left for another page.
    expect(pendingSeen).toBe(5);
  });

  it('a batch with the wrong number of vectors is the provider failing: the fill stops, nothing is skipped', async () => {
    const store = storeWith(5);
    const calls: number[] = [];
    const encode: EncodeFn = async (texts) => {
      calls.push(texts.length);
      // A provider that drops the last vector of a batch.
      return texts.map((t) => embed(t, 8)).slice(0, -1);
    };
    const asked: unknown[] = [];
    const error = await rejection(
      fill(store, 'g1', encode, {
        batch: { batchSize: 5 },
        onEncodeError: (doc) => {
          asked.push(doc);
          return true;
        },
      }),
    );
    expect(error).toBeInstanceOf(InvalidVectorError);
    expect(asked).toEqual([]);
    expect(calls).toEqual([5]);
    expect(store.saves).toEqual([]);
  });
});

describe('fill and the breaker', () => {
  it('a document saved with its good chunks stays saved when the breaker trips after it', async () => {
    const store = new MemoryStore();
    store.put('a', 'good words here\n\nREJECT this part');
    store.put('b', 'REJECT b');
    store.put('c', 'REJECT c');
    store.put('d', 'REJECT d');
    const inner = hashEncoder(8).encode;
    const encode: EncodeFn = async (texts, o) => {
      if (texts.some((t) => t.startsWith('REJECT'))) throw new PermanentEncodeError('unknown word');
      return inner(texts, o);
    };
    const error = await rejection(
      fill(store, 'g1', encode, {
        split: { maxChars: 20 },
        maxConsecutiveSkips: 3,
        onEncodeError: () => true,
      }),
    );
    expect(error.message).toMatch(/3 inputs in a row failed the same way/);
    // "a" was complete (one chunk embedded, one skipped) before the run of
    // rejections: it is saved. The stamp-skips of b, c, d are not.
    expect(store.saves.map((s) => [s.doc, s.chunks])).toEqual([['a', 1]]);
    expect(store.pending('g1', 10).map((p) => p.doc)).toEqual(['b', 'c', 'd']);
  });
});

describe('the breaker counts the same failure in a row', () => {
  it.each([0, -1, 1.5, Number.NaN])(
    'refuses maxConsecutiveSkips %s with a RangeError that names it, before any work',
    async (maxConsecutiveSkips) => {
      const store = storeWith(2);
      const { encode, calls } = hashEncoder(8);
      const error = await rejection(fill(store, 'g1', encode, { maxConsecutiveSkips }));
      expect(error).toBeInstanceOf(RangeError);
      expect(error.message).toBe(
        `fill: maxConsecutiveSkips must be a positive integer or Infinity, got ${maxConsecutiveSkips}`,
      );
      expect(calls).toEqual([]);
      expect(store.saves).toEqual([]);
    },
  );

  it('maxConsecutiveSkips Infinity turns the breaker off: 25 rejections in a row are all skipped', async () => {
    const store = storeWith(25);
    const rejectAll: EncodeFn = async () => {
      throw new PermanentEncodeError('the model rejects this text', { status: 400 });
    };
    const result = await fill(store, 'g1', rejectAll, {
      maxConsecutiveSkips: Number.POSITIVE_INFINITY,
      onEncodeError: () => true,
    });
    expect(result).toMatchObject({ documents: 25, skipped: 25 });
    expect(store.pending('g1', 30)).toEqual([]);
  });

  /** Fills documents whose encoding fails with `failure(content)`, the breaker at 2. */
  async function alternating(contents: string[], failure: (text: string) => unknown) {
    const store = new MemoryStore();
    for (const [i, c] of contents.entries()) store.put(`d${i}`, c);
    const encode: EncodeFn = async (texts) => {
      throw failure(texts[0]!);
    };
    const result = await fill(store, 'g1', encode, {
      maxConsecutiveSkips: 2,
      onEncodeError: () => true,
    });
    return { store, result };
  }

  it("two different errors taking turns are the documents' own faults: all are skipped, none trips it", async () => {
    const { store, result } = await alternating(['aaa', 'bbbbb', 'ccc', 'ddddd', 'eee'], (t) =>
      t.length === 3
        ? new PermanentEncodeError('text too short', { status: 400 })
        : new PermanentEncodeError('text refused', { status: 422 }),
    );
    expect(result).toMatchObject({ documents: 5, skipped: 5 });
    expect(store.saves.map((s) => s.doc).sort()).toEqual(['d0', 'd1', 'd2', 'd3', 'd4']);
  });

  it('errors of the same class and status are told apart by their message', async () => {
    const { result } = await alternating(['aaa', 'bbbbb', 'ccc', 'ddddd'], (t) =>
      t.length === 3
        ? new PermanentEncodeError('text too short', { status: 400 })
        : new PermanentEncodeError('text refused', { status: 400 }),
    );
    expect(result).toMatchObject({ documents: 4, skipped: 4 });
  });

  it('thrown values that are not Errors are told apart by their value', async () => {
    const { result } = await alternating(['aa', 'bbb', 'cc', 'ddd'], (t) =>
      t.length === 2 ? 'refused: even' : 'refused: odd',
    );
    expect(result).toMatchObject({ documents: 4, skipped: 4 });
    // The same value every time is the same failure.
    const same = await rejection(alternating(['aa', 'bbb', 'cc'], () => 'refused'));
    expect(same.message).toMatch(/^2 inputs in a row failed the same way \("refused"\)/);
  });

  it('invalid vectors are told apart by their reason, whatever input they name', async () => {
    const store = new MemoryStore();
    for (const [i, c] of ['nan one', 'zero two', 'nan three', 'zero four'].entries())
      store.put(`d${i}`, c);
    const encode: EncodeFn = async (texts) =>
      texts.map((t) => {
        const v = new Float32Array(8).fill(t.startsWith('nan') ? 1 : 0);
        if (t.startsWith('nan')) v[3] = Number.NaN;
        return v;
      });
    const result = await fill(store, 'g1', encode, {
      maxConsecutiveSkips: 2,
      onEncodeError: () => true,
    });
    expect(result).toMatchObject({ documents: 4, skipped: 4 });
  });
  it('invalid vectors of one reason are the same failure, whichever component they name', async () => {
    const store = new MemoryStore();
    for (const i of [1, 2, 3]) store.put(`d${i}`, `nan ${i}`);
    const encode: EncodeFn = async (texts) =>
      texts.map((t) => {
        const v = new Float32Array(8).fill(1);
        v[Number(t.slice(4))] = Number.NaN;
        return v;
      });
    const error = await rejection(
      fill(store, 'g1', encode, { maxConsecutiveSkips: 2, onEncodeError: () => true }),
    );
    expect(error.message).toMatch(/^2 inputs in a row failed the same way/);
    expect(store.saves).toEqual([]);
  });
});

describe('fill and the encoder', () => {
  it('sends a batch of 100 as one call of 100 document texts', async () => {
    const store = storeWith(100);
    const seen: { n: number; kind: unknown }[] = [];
    const encode: EncodeFn = async (texts, o) => {
      seen.push({ n: texts.length, kind: o?.kind });
      return texts.map((t) => embed(t, 8));
    };
    await fill(store, 'g1', encode, { batch: { batchSize: 100 } });
    expect(seen).toEqual([{ n: 100, kind: 'document' }]);
  });

  it("an abort between encode calls rejects with the signal's reason; saved documents stay", async () => {
    const store = storeWith(20);
    const controller = new AbortController();
    const error = await rejection(
      fill(store, 'g1', hashEncoder(8).encode, {
        signal: controller.signal,
        onProgress: (p) => {
          if (p.documents === 3) controller.abort(new Error('stop here'));
        },
      }),
    );
    expect(error.message).toBe('stop here');
    const saved = store.saves.length;
    expect(saved).toBeGreaterThanOrEqual(3);
    expect(saved).toBeLessThan(20);
    expect(store.pending('g1', 100)).toHaveLength(20 - saved);
  });

  it('an abort reaches an encoder call that never answers', async () => {
    const store = storeWith(3);
    const hanging: EncodeFn = () => new Promise(() => {});
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('interrupted')), 20);
    await rejectsWith(
      fill(store, 'g1', hanging, { signal: controller.signal }),
      Error,
      'interrupted',
    );
  }, 5_000);

  it('starts no encode call after one failed (concurrency 2)', async () => {
    const store = storeWith(200);
    let failedAt = 0;
    let startedAfter = 0;
    const encode: EncodeFn = async (texts) => {
      if (failedAt) startedAfter++;
      if (texts[0]!.startsWith('document number 0 ')) {
        // Fails while the other worker is between its calls.
        for (let i = 0; i < 6; i++) await new Promise((r) => setImmediate(r));
        failedAt = Date.now();
        throw new Error('boom');
      }
      return texts.map((t) => embed(t, 8));
    };
    await rejectsWith(fill(store, 'g1', encode, { concurrency: 2 }), Error, 'boom');
    expect(failedAt).toBeGreaterThan(0);
    expect(startedAfter).toBe(0);
  });

  it('takes a concurrency far above the work (no limit in practice)', async () => {
    const store = storeWith(3);
    const result = await fill(store, 'g1', hashEncoder(8).encode, {
      concurrency: Number.MAX_SAFE_INTEGER,
    });
    expect(result.documents).toBe(3);
  });

  it('an abort lands between batches with a synchronous store and encoder (SQLite)', async () => {
    const { db, store } = sqliteTable(0);
    const ins = db.prepare('INSERT INTO docs (id, content) VALUES (?, ?)');
    for (let i = 1; i <= 2000; i++) ins.run(i, `document ${i} about topic ${i % 7}`);
    const syncEncode = ((texts: string[]) => {
      const until = Date.now() + 2;
      while (Date.now() < until) {}
      return texts.map((t) => embed(t, 16));
    }) as unknown as EncodeFn;
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('interrupted')), 30);
    await rejectsWith(
      fill(store, 'g1', syncEncode, { batch: { batchSize: 4 }, signal: controller.signal }),
      Error,
      'interrupted',
    );
    const { backlog, embedded } = store.coverage('g1');
    expect(embedded).toBeGreaterThan(0);
    expect(backlog).toBeGreaterThan(0); // a fill that never yielded would have finished
  });
});

describe('fill and a store without saveMany', () => {
  /** The SQLite store seen through the Store methods only (no saveMany). */
  function singleSaves(store: SqliteStore) {
    return {
      pendingForGeneration: (g: string, limit: number) => store.pendingForGeneration(g, limit),
      saveVectors: (...a: Parameters<SqliteStore['saveVectors']>) => store.saveVectors(...a),
      liveGenerations: () => store.liveGenerations(),
      queryGeneration: (...a: Parameters<SqliteStore['queryGeneration']>) =>
        store.queryGeneration(...a),
    };
  }

  it('passes why a document was skipped and how many chunks were to saveVectors', async () => {
    const para = (i: number) =>
      i === 3
        ? 'REJECT all of it.'
        : [`First part of ${i} here.`, `REJECT part ${i}.`].join('\n\n');
    const { store } = sqliteTable(4, para);
    const inner = hashEncoder(16).encode;
    const encode: EncodeFn = async (texts, o) => {
      if (texts.some((t) => t.startsWith('REJECT'))) throw new PermanentEncodeError('no such word');
      return inner(texts, o);
    };
    const result = await fill(singleSaves(store), 'g1', encode, {
      split: { maxChars: 30 },
      onEncodeError: () => true,
    });
    expect(result).toMatchObject({ documents: 4, skipped: 1, skippedChunks: 3, chunks: 3 });
    expect(store.skipReasons('g1')).toEqual([{ reason: 'no such word', documents: 1 }]);
    expect(store.stats('g1').skippedChunks).toBe(3);
  });

  it('stops at the first save that fails; the documents queued with it are not written', async () => {
    const { db, store } = sqliteTable(0);
    const ins = db.prepare('INSERT INTO docs (id, content) VALUES (?, ?)');
    for (let i = 1; i <= 3; i++) ins.run(i, ' '); // blank: all queued at once
    const saved: unknown[] = [];
    const failing = {
      ...singleSaves(store),
      saveVectors: (...a: Parameters<SqliteStore['saveVectors']>) => {
        if (a[1] === 1) throw new Error('disk I/O error');
        saved.push(a[1]);
        return store.saveVectors(...a);
      },
    };
    await rejectsWith(fill(failing, 'g1', hashEncoder(16).encode), Error, 'disk I/O error');
    expect(saved).toEqual([]);
  });
});

describe('fill and saveMany', () => {
  function withSaveMany(
    store: MemoryStore,
    outcome: (doc: string, saved: () => void) => Error | null | undefined,
  ) {
    return Object.assign(store, {
      saveMany(gen: string, items: readonly SaveItem<string>[]): (Error | null)[] {
        // A JavaScript store may leave a saved item's entry undefined.
        return items.map(
          (it) =>
            outcome(it.doc, () => store.save(gen, it.doc, it.revision, it.vectors)) as Error | null,
        );
      },
    });
  }

  it('an item refused with another error than stale stops the fill with it', async () => {
    const store = withSaveMany(storeWith(6), (doc, save) => {
      if (doc === 'd0002') return new Error('constraint failed');
      save();
      return null;
    });
    await rejectsWith(
      fill(store, 'g1', hashEncoder(8).encode, { batch: { batchSize: 6 } }),
      Error,
      'constraint failed',
    );
  });

  it('an item reported as undefined counts as saved', async () => {
    const store = withSaveMany(storeWith(6), (_doc, save) => {
      save();
      return undefined;
    });
    const result = await fill(store, 'g1', hashEncoder(8).encode, { batch: { batchSize: 6 } });
    expect(result).toMatchObject({ documents: 6, chunks: 6, stale: 0 });
  });
});

describe('fill counts returns in a row', () => {
  it('a document whose returns are interrupted by a page without it starts counting again', async () => {
    // scanBatch 1: "a" is deleted at its save (set aside, gone), so the next
    // scans read two documents and keep the first. "c" is made pending again
    // after each of its first 5 saves; after its 3rd, "b" is inserted and
    // takes the page, so "c" is read but not saved once: its returns are no
    // longer in a row, and the fill finishes.
    const store = new MemoryStore();
    store.put('a', 'alpha words');
    store.put('c', 'gamma words');
    store.put('d', 'delta words');
    let cSaves = 0;
    const save = store.saveVectors.bind(store);
    store.saveVectors = async (gen, doc, revision, vectors) => {
      if (doc === 'a') store.delete('a');
      await save(gen, doc, revision, vectors);
      if (doc === 'c') {
        cSaves++;
        if (cSaves <= 5) store.stamps.get(gen)!.delete('c');
        if (cSaves === 3) store.put('b', 'beta words');
      }
    };
    const { encode, calls } = hashEncoder(8);
    const result = await fill(store, 'g1', encode, { scanBatch: 1, batch: { batchSize: 10 } });
    expect(cSaves).toBe(6);
    expect(result).toMatchObject({ stale: 0, missing: 1, documents: 8 });
    expect(store.pending('g1', 10)).toEqual([]);
    // scanBatch bounds every page, also when a set-aside document is gone.
    expect(calls.every((c) => c.length === 1)).toBe(true);
  });
});
