import { describe, expect, it } from 'vitest';
import {
  type EncodeFn,
  type FillProgress,
  fill,
  PermanentEncodeError,
  type SaveItem,
  StaleError,
  split,
  VecfillError,
} from '../../src/core/index.js';
import { embed, hashEncoder } from '../support/hash-encoder.js';
import { MemoryStore, storeWith } from '../support/memory-store.js';
import { rejectsWith } from '../support/thrown.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('fill', () => {
  it('embeds every pending document and terminates', async () => {
    const store = storeWith(50);
    const { encode } = hashEncoder(16);
    const result = await fill(store, 'g1', encode, { scanBatch: 7 });
    expect(result).toEqual({
      documents: 50,
      chunks: 50,
      skipped: 0,
      skippedChunks: 0,
      stale: 0,
      missing: 0,
    });
    expect(store.pending('g1', 1000)).toEqual([]);
    // A second fill has nothing to do.
    expect(await fill(store, 'g1', encode)).toEqual({
      documents: 0,
      chunks: 0,
      skipped: 0,
      skippedChunks: 0,
      stale: 0,
      missing: 0,
    });
  });

  it('leaves a document edited between scan and save pending, and does not starve fresh documents', async () => {
    const store = storeWith(30);
    // d0000 sorts first and is edited before every one of its saves: it is
    // always stale, yet every other document must still be embedded.
    store.beforeSave = (doc) => {
      if (doc === 'd0000') store.put('d0000', `edited at ${Date.now()} ${Math.random()}`);
    };
    const { encode } = hashEncoder(16);
    const result = await fill(store, 'g1', encode, { scanBatch: 5 });
    expect(result).toMatchObject({ stale: 1, documents: 29, chunks: 29, skipped: 0 });
    const pending = store.pending('g1', 100).map((p) => p.doc);
    expect(pending).toEqual(['d0000']);
    // Once editing stops, the next run picks it up.
    store.beforeSave = undefined;
    expect((await fill(store, 'g1', encode)).documents).toBe(1);
    expect(store.pending('g1', 100)).toEqual([]);
    // A fill that retried the stale document within the run would loop for
    // ever; the store yields like a real one, so this timeout fails it.
  }, 5_000);

  it('never stamps a stale revision: the edited content is what ends up embedded', async () => {
    const store = storeWith(3);
    let edited = false;
    store.beforeSave = (doc) => {
      if (doc === 'd0001' && !edited) {
        edited = true;
        store.put('d0001', 'completely new words');
      }
    };
    const { encode } = hashEncoder(16);
    await fill(store, 'g1', encode);
    await fill(store, 'g1', encode);
    const stamp = store.stamps.get('g1')!.get('d0001')!;
    expect(Array.from(stamp.vectors[0]!.vector)).toEqual(
      Array.from(embed('completely new words', 16)),
    );
  });

  it('counts a document deleted between scan and save as missing (not stale) and saves nothing for it', async () => {
    const store = storeWith(5);
    store.beforeSave = (doc) => {
      if (doc === 'd0002') store.delete('d0002');
    };
    const result = await fill(store, 'g1', hashEncoder(16).encode);
    expect(result).toMatchObject({ documents: 4, chunks: 4, stale: 0, missing: 1 });
    expect(store.stamps.get('g1')!.has('d0002')).toBe(false);
    expect(store.stamps.get('g1')!.get('d0003')!.vectors).toHaveLength(1);
  });

  it('never runs the store prune sweep unless asked (prune: true), and then once at the end', async () => {
    const store = storeWith(3);
    let sweeps = 0;
    const pruning = Object.assign(store, {
      prune: async () => {
        sweeps++;
        return 2;
      },
    });
    const { encode } = hashEncoder(16);
    const plain = await fill(pruning, 'g1', encode);
    expect(sweeps).toBe(0);
    expect(plain.pruned).toBeUndefined();
    store.put('d0001', 'changed text');
    const asked = await fill(pruning, 'g1', encode, { prune: true });
    expect(sweeps).toBe(1);
    expect(asked).toMatchObject({ documents: 1, pruned: 2 });
    await rejectsWith(
      fill(storeWith(1), 'g1', encode, { prune: true }),
      TypeError,
      /prune needs a store with prune/,
    );
  });

  it('stamp-skips blank documents without calling the encoder', async () => {
    const store = new MemoryStore();
    store.put('a', '   \u200b\n');
    store.put('b', 'real words here');
    const { encode, calls } = hashEncoder(16);
    const result = await fill(store, 'g1', encode);
    expect(result).toEqual({
      documents: 2,
      chunks: 1,
      skipped: 1,
      skippedChunks: 0,
      stale: 0,
      missing: 0,
    });
    expect(calls.flat()).toEqual(['real words here']);
    expect(store.pending('g1', 10)).toEqual([]);
  });

  it('stamp-skips a poison document when onEncodeError returns true', async () => {
    const store = storeWith(10);
    store.put('d0004', 'poison pill');
    const inner = hashEncoder(16).encode;
    const encode: EncodeFn = async (texts, o) => {
      if (texts.includes('poison pill'))
        throw new PermanentEncodeError('model rejects this input', { status: 400 });
      return inner(texts, o);
    };
    const reported: unknown[] = [];
    const result = await fill(store, 'g1', encode, {
      onEncodeError: (doc, err) => {
        reported.push(doc);
        return err instanceof PermanentEncodeError;
      },
    });
    expect(reported).toEqual(['d0004']);
    expect(result).toMatchObject({ documents: 10, skipped: 1, stale: 0 });
    expect(store.stamps.get('g1')!.get('d0004')!.vectors).toEqual([]);
    expect(store.pending('g1', 100)).toEqual([]);
  });

  it('isolates the poison document inside a cross-document batch', async () => {
    const store = storeWith(12);
    store.put('d0005', 'poison pill');
    const inner = hashEncoder(16).encode;
    const encode: EncodeFn = async (texts, o) => {
      if (texts.includes('poison pill'))
        throw new PermanentEncodeError('rejected', { status: 400 });
      return inner(texts, o);
    };
    const reported: unknown[] = [];
    const result = await fill(store, 'g1', encode, {
      batch: { batchSize: 5 },
      onEncodeError: (doc) => {
        reported.push(doc);
        return true;
      },
    });
    expect(reported).toEqual(['d0005']);
    expect(result).toMatchObject({ documents: 12, skipped: 1, chunks: 11 });
  });

  describe('chunks, not documents, are skipped', () => {
    // A long document with one chunk the model rejects (a hex fingerprint, as
    // in Node's tls.md) among chunks it embeds.
    const FINGERPRINT = 'AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89';
    const paragraphs = [
      'The server presents its certificate to every client.',
      FINGERPRINT,
      'Clients verify the chain up to a trusted root authority.',
      'Session tickets let a client resume without a full handshake.',
    ];
    const rejecting = (): EncodeFn => {
      const inner = hashEncoder(16).encode;
      return async (texts, o) => {
        if (texts.some((t) => t.includes('AB:CD')))
          throw new PermanentEncodeError('text has no word the vocabulary knows', { status: 400 });
        return inner(texts, o);
      };
    };

    it.each([
      ['one document per call', undefined],
      ['cross-document batches', { batchSize: 64 }],
    ])('skips only the rejected chunk and embeds the others (%s)', async (_name, batch) => {
      const store = storeWith(3);
      store.put('tls', paragraphs.join('\n\n'));
      const reported: [unknown, unknown][] = [];
      const result = await fill(store, 'g1', rejecting(), {
        split: { maxChars: 70 },
        ...(batch ? { batch } : {}),
        onEncodeError: (doc, err, chunk) => {
          reported.push([doc, chunk]);
          return err instanceof PermanentEncodeError;
        },
      });
      const content = paragraphs.join('\n\n');
      const start = content.indexOf(FINGERPRINT);
      expect(reported).toEqual([['tls', { index: 1, start, end: start + FINGERPRINT.length }]]);
      expect(result).toMatchObject({ documents: 4, skipped: 0, skippedChunks: 1, chunks: 6 });
      const saved = store.stamps.get('g1')!.get('tls')!.vectors;
      expect(saved.map((v) => v.chunkIndex)).toEqual([0, 2, 3]);
      // Stamped: nothing is pending, a rerun does not retry it.
      expect(store.pending('g1', 100)).toEqual([]);
      store.live = ['g1'];
      const { search } = await import('../../src/core/index.js');
      const hits = await search(store, 'session tickets resume handshake', {
        encoderFor: () => hashEncoder(16).encode,
        limit: 1,
      });
      expect(hits[0]).toMatchObject({ doc: 'tls', chunkIndex: 3 });
    });

    it('stamp-skips a document whose every chunk is rejected', async () => {
      const store = storeWith(2);
      store.put('hex', `${FINGERPRINT}\n\n${FINGERPRINT.toLowerCase().toUpperCase()}`);
      const chunks: unknown[] = [];
      const result = await fill(store, 'g1', rejecting(), {
        split: { maxChars: 60 },
        batch: { batchSize: 8 },
        onEncodeError: (_doc, _err, chunk) => {
          chunks.push(chunk);
          return true;
        },
      });
      expect(chunks).toHaveLength(2);
      expect(result).toMatchObject({ documents: 3, skipped: 1, skippedChunks: 0 });
      expect(store.stamps.get('g1')!.get('hex')!.vectors).toEqual([]);
    });

    it('an outage in a batch is asked about once and stops the fill (no retry per chunk)', async () => {
      const store = storeWith(20);
      let calls = 0;
      const down: EncodeFn = async () => {
        calls++;
        throw new Error('503 upstream unavailable');
      };
      let asked = 0;
      await rejectsWith(
        fill(store, 'g1', down, {
          batch: { batchSize: 20 },
          onEncodeError: () => {
            asked++;
            return false;
          },
        }),
        Error,
        '503 upstream unavailable',
      );
      expect(asked).toBe(1);
      expect(calls).toBe(2); // the batch, then its first chunk alone
    });
  });

  it('stops within one batch on abort even with a synchronous encoder', async () => {
    const store = storeWith(2000);
    const inner = hashEncoder(16).encode;
    let calls = 0;
    // Synchronous work inside a promise-returning encoder: no timer, no I/O.
    const busy: EncodeFn = (texts, o) => {
      calls++;
      const until = Date.now() + 2;
      while (Date.now() < until) {}
      return inner(texts, o);
    };
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('interrupted')), 30);
    const started = Date.now();
    await rejectsWith(
      fill(store, 'g1', busy, { batch: { batchSize: 4 }, signal: controller.signal }),
      Error,
      'interrupted',
    );
    expect(Date.now() - started).toBeLessThan(1000);
    expect(calls).toBeLessThan(500); // 500 batches would be the whole table
    // Every document saved before the abort stays saved, and a rerun completes.
    const kept = store.saves.length;
    expect(kept).toBeGreaterThan(0);
    const rest = await fill(store, 'g1', inner, { batch: { batchSize: 64 } });
    expect(rest.documents).toBe(2000 - kept);
  });

  it('stops with the error when onEncodeError is absent or returns false', async () => {
    const store = storeWith(10);
    const failing: EncodeFn = async () => {
      throw new Error('503 upstream unavailable');
    };
    await rejectsWith(fill(store, 'g1', failing), Error, '503 upstream unavailable');
    await rejectsWith(
      fill(store, 'g1', failing, { onEncodeError: () => false }),
      Error,
      '503 upstream unavailable',
    );
    expect(store.saves).toEqual([]);
  });

  it('saves documents finished before a failure: no work is lost beyond the batch in flight', async () => {
    const store = storeWith(10);
    const inner = hashEncoder(16).encode;
    const encode: EncodeFn = async (texts, o) => {
      if (texts.some((t) => t.startsWith('document number 6 '))) throw new Error('boom');
      return inner(texts, o);
    };
    await rejectsWith(fill(store, 'g1', encode, { scanBatch: 100 }), Error, 'boom');
    expect(store.saves.map((s) => s.doc)).toEqual([
      'd0000',
      'd0001',
      'd0002',
      'd0003',
      'd0004',
      'd0005',
    ]);
  });

  it('puts every vector on the right document and chunk with cross-document batching and concurrency', async () => {
    const long = (i: number) =>
      Array.from(
        { length: 1 + (i % 4) },
        (_, p) => `Paragraph ${p} of document ${i} mentions word${i}x${p}.`,
      ).join('\n\n');
    const store = storeWith(40, long);
    const inner = hashEncoder(24).encode;
    const encode: EncodeFn = async (texts, o) => {
      await sleep(Math.random() * 5);
      return inner(texts, o);
    };
    const result = await fill(store, 'g1', encode, {
      scanBatch: 13,
      batch: { batchSize: 7 },
      concurrency: 3,
      split: { maxChars: 60 },
    });
    expect(result.documents).toBe(40);
    expect(store.stamps.get('g1')!.size).toBe(40);
    for (const [doc, stamp] of store.stamps.get('g1')!) {
      const content = store.rows.get(doc)!.content;
      // Every chunk of the document got its vector (none left out, none extra).
      expect(stamp.vectors.map((cv) => content.slice(cv.start, cv.end))).toEqual(
        split(content, { maxChars: 60 }).map((c) => c.text),
      );
      stamp.vectors.forEach((cv, i) => {
        expect(cv.chunkIndex).toBe(i);
        expect(Array.from(cv.vector)).toEqual(
          Array.from(embed(content.slice(cv.start, cv.end), 24)),
        );
      });
    }
    expect(result.chunks).toBe(
      [...store.stamps.get('g1')!.values()].reduce((n, s) => n + s.vectors.length, 0),
    );
    expect(result.chunks).toBeGreaterThan(40);
  });

  it('with concurrency > 1 saves a finished document without waiting for a slower unrelated batch', async () => {
    const store = storeWith(2);
    const inner = hashEncoder(16).encode;
    let slowDone = false;
    let savedBeforeSlowDone = false;
    store.beforeSave = (doc) => {
      if (doc === 'd0001' && !slowDone) savedBeforeSlowDone = true;
    };
    const encode: EncodeFn = async (texts, o) => {
      if (texts[0]!.startsWith('document number 0 ')) {
        await sleep(150);
        slowDone = true;
      }
      return inner(texts, o);
    };
    await fill(store, 'g1', encode, { concurrency: 2 });
    expect(savedBeforeSlowDone).toBe(true);
    expect(store.saves.map((s) => s.doc)).toEqual(['d0001', 'd0000']);
  });

  it('reports progress with documents, pending seen, chunks and a rate', async () => {
    const store = storeWith(20);
    const events: FillProgress[] = [];
    await fill(store, 'g1', hashEncoder(8).encode, {
      scanBatch: 5,
      onProgress: (p) => events.push(p),
    });
    const last = events.at(-1)!;
    expect(last).toMatchObject({
      documents: 20,
      pendingSeen: 20,
      chunks: 20,
      skipped: 0,
      stale: 0,
    });
    expect(last.rate).toBeGreaterThanOrEqual(0);
    expect(events.map((e) => e.documents)).toEqual(
      [...events.map((e) => e.documents)].sort((a, b) => a - b),
    );
  });

  it('stops promptly when aborted and a rerun resumes where it stopped', async () => {
    const store = storeWith(30);
    const controller = new AbortController();
    const inner = hashEncoder(8).encode;
    let calls = 0;
    const encode: EncodeFn = async (texts, o) => {
      calls++;
      if (calls === 10) controller.abort(new Error('interrupted'));
      return inner(texts, o);
    };
    await rejectsWith(
      fill(store, 'g1', encode, { signal: controller.signal, scanBatch: 4 }),
      Error,
      'interrupted',
    );
    const done = store.saves.length;
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(30);
    const rest = await fill(store, 'g1', inner);
    expect(rest.documents).toBe(30 - done);
  });

  it('propagates a store failure instead of looping', async () => {
    const store = storeWith(3);
    store.beforeSave = () => {
      throw new Error('SQLITE_BUSY: database is locked');
    };
    await rejectsWith(
      fill(store, 'g1', hashEncoder(8).encode),
      Error,
      'SQLITE_BUSY: database is locked',
    );
  });

  it('refuses to loop forever on a store whose stamp does not clear pending', async () => {
    const store = storeWith(3);
    store.saveVectors = async () => {};
    const e = await rejectsWith(
      fill(store, 'g1', hashEncoder(8).encode),
      VecfillError,
      /pending at revision .* right after each of/,
    );
    expect(e.code).toBe('STORE_INCONSISTENT');
  });

  it('uses saveMany when the store has it, and still isolates stale items', async () => {
    const store = storeWith(10);
    const batches: number[] = [];
    const withMany = Object.assign(store, {
      saveMany(gen: string, items: readonly SaveItem<string>[]) {
        batches.push(items.length);
        return items.map((it) => {
          if (it.doc === 'd0003') return new StaleError(it.doc, gen);
          try {
            store.save(gen, it.doc, it.revision, it.vectors);
            return null;
          } catch (e) {
            return e as Error;
          }
        });
      },
    });
    const slow: EncodeFn = async (texts) => {
      await sleep(1);
      return texts.map((t) => embed(t, 8));
    };
    const result = await fill(withMany, 'g1', slow, { batch: { batchSize: 10 } });
    expect(result).toMatchObject({ documents: 9, chunks: 9, skipped: 0, stale: 1 });
    expect(batches.some((n) => n > 1)).toBe(true);
  });

  it('refuses invalid options with a RangeError', async () => {
    const store = storeWith(1);
    const { encode } = hashEncoder(8);
    await rejectsWith(
      fill(store, 'g1', encode, { scanBatch: 0 }),
      RangeError,
      /scanBatch must be a positive integer, got 0/,
    );
    await rejectsWith(
      fill(store, 'g1', encode, { concurrency: 0 }),
      RangeError,
      /concurrency must be a positive integer, got 0/,
    );
    await rejectsWith(
      fill(store, 'g1', encode, { batch: { batchSize: -1 } }),
      RangeError,
      /batchSize must be a positive integer, got -1/,
    );
  });
});
