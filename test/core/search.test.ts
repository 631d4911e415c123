import { describe, expect, it } from 'vitest';
import {
  EmptyInputError,
  type EncodeFn,
  fill,
  PermanentEncodeError,
  QueryTimeoutError,
  SearchUnavailableError,
  search,
} from '../../src/core/index.js';
import { openAICompatible } from '../../src/encoders/index.js';
import { startFaultServer } from '../support/fault-server.js';
import { embed, hashEncoder } from '../support/hash-encoder.js';
import { MemoryStore } from '../support/memory-store.js';
import { rejectsWith } from '../support/thrown.js';

/** Two generations with different encoders (different seeds = different vector spaces). */
async function migratingStore() {
  const store = new MemoryStore();
  const topics = [
    'apple orchard harvest',
    'rocket launch orbit',
    'violin concerto music',
    'tax return deadline',
  ];
  topics.forEach((t, i) => {
    store.put(`doc${i}`, `${t} notes number ${i}`);
  });
  const oldEnc = hashEncoder(32, 'old').encode;
  const newEnc = hashEncoder(32, 'new').encode;
  await fill(store, 'old', oldEnc);
  // The new generation covers only some documents so far.
  store.put('doc4', 'apple pie baking recipe');
  await fill(store, 'old', oldEnc);
  const partial = new MemoryStore();
  for (const [doc, row] of store.rows) if (doc !== 'doc0') partial.rows.set(doc, row);
  await fill(partial, 'new', newEnc);
  store.stamps.set('new', partial.stamps.get('new')!);
  store.live = ['new', 'old'];
  const encoders: Record<string, EncodeFn> = { old: oldEnc, new: newEnc };
  return { store, encoderFor: (g: string) => encoders[g]! };
}

describe('search', () => {
  it('finds a document covered only by the active generation while another is building (union coverage)', async () => {
    const { store, encoderFor } = await migratingStore();
    const hits = await search(store, 'apple orchard harvest', { encoderFor, limit: 3 });
    const doc0 = hits.find((h) => h.doc === 'doc0');
    expect(doc0).toBeDefined();
    expect(doc0!.generation).toBe('old');
    // Under the raw strategy (one scale: cosine) the exact match ranks first.
    const raw = await search(store, 'apple orchard harvest', {
      encoderFor,
      limit: 3,
      merge: 'raw',
    });
    expect(raw[0]!.doc).toBe('doc0');
  });

  it('lets the earlier (building) generation win a document both cover', async () => {
    const { store, encoderFor } = await migratingStore();
    const hits = await search(store, 'rocket launch orbit', { encoderFor, limit: 5 });
    expect(hits[0]!.doc).toBe('doc1');
    expect(hits[0]!.generation).toBe('new');
    expect(new Set(hits.map((h) => h.doc)).size).toBe(hits.length);
  });

  it("encodes the query once per live generation with that generation's encoder", async () => {
    const { store } = await migratingStore();
    const seen: string[] = [];
    const encoderFor =
      (g: string): EncodeFn =>
      async (texts) => {
        seen.push(g);
        return texts.map((t) => embed(t, 32, g));
      };
    await search(store, 'music', { encoderFor });
    expect(seen.sort()).toEqual(['new', 'old']);
  });

  it("returns `limit` documents even when one document's chunks crowd the first window", async () => {
    const store = new MemoryStore();
    store.put('big', Array.from({ length: 40 }, () => 'zebra stripes savanna').join('\n\n'));
    for (let i = 0; i < 5; i++) store.put(`small${i}`, `zebra facts ${i}`);
    const { encode } = hashEncoder(16);
    await fill(store, 'g', encode, { split: { maxChars: 25 } });
    store.live = ['g'];
    const hits = await search(store, 'zebra stripes savanna', {
      encoderFor: () => encode,
      limit: 4,
      perGeneration: 4,
    });
    expect(hits).toHaveLength(4);
    expect(hits[0]!.doc).toBe('big');
  });

  it('never returns a deleted or edited document', async () => {
    const store = new MemoryStore();
    store.put('a', 'lighthouse keeper');
    store.put('b', 'lighthouse lamp');
    const { encode } = hashEncoder(16);
    await fill(store, 'g', encode);
    store.live = ['g'];
    store.delete('a');
    store.put('b', 'something else entirely');
    expect(await search(store, 'lighthouse', { encoderFor: () => encode })).toEqual([]);
  });

  it('refuses blank query text with EmptyInputError and bad limits with RangeError', async () => {
    const store = new MemoryStore();
    const encoderFor = () => hashEncoder(8).encode;
    await expect(search(store, ' \u200b ', { encoderFor })).rejects.toBeInstanceOf(EmptyInputError);
    await rejectsWith(
      search(store, 'ok', { encoderFor, limit: 0 }),
      RangeError,
      'search: limit must be a positive integer, got 0',
    );
  });

  it('returns nothing when no generation is live', async () => {
    const store = new MemoryStore();
    expect(await search(store, 'anything', { encoderFor: () => hashEncoder(8).encode })).toEqual(
      [],
    );
  });

  it('stops when the signal is aborted', async () => {
    const { store, encoderFor } = await migratingStore();
    const c = new AbortController();
    c.abort(new Error('cancelled'));
    await rejectsWith(search(store, 'x', { encoderFor, signal: c.signal }), Error, 'cancelled');
  });

  describe('a failing generation never takes search down', () => {
    it('leaves out a generation whose encoder fails and reports it; the other answers', async () => {
      const { store, encoderFor } = await migratingStore();
      const boom = new Error('HTTP 500 after 5 retries');
      const left: [string, unknown][] = [];
      const hits = await search(store, 'apple orchard harvest', {
        encoderFor: (g) =>
          g === 'new'
            ? async () => {
                throw boom;
              }
            : encoderFor(g),
        onGenerationError: (g, e) => left.push([g, e]),
      });
      expect(hits[0]).toMatchObject({ doc: 'doc0', generation: 'old' });
      expect(left).toEqual([['new', boom]]);
    });

    it('leaves out a generation whose query fails in the store', async () => {
      const { store, encoderFor } = await migratingStore();
      const query = store.queryGeneration.bind(store);
      store.queryGeneration = (gen, q, limit, opts) => {
        if (gen === 'new') throw new Error('vec table is corrupt');
        return query(gen, q, limit, opts);
      };
      const left: string[] = [];
      const hits = await search(store, 'rocket launch orbit', {
        encoderFor,
        onGenerationError: (g) => left.push(g),
      });
      expect(hits[0]!.doc).toBe('doc1');
      expect(left).toEqual(['new']);
    });

    it('an encoder that never answers costs the search at most queryTimeoutMs, and its signal is aborted', async () => {
      const { store, encoderFor } = await migratingStore();
      let seen: AbortSignal | undefined;
      const hang: EncodeFn = (_texts, o) => {
        seen = o.signal;
        return new Promise(() => {}); // ignores its signal on purpose
      };
      const left: unknown[] = [];
      const started = Date.now();
      const hits = await search(store, 'violin concerto music', {
        encoderFor: (g) => (g === 'new' ? hang : encoderFor(g)),
        queryTimeoutMs: 200,
        onGenerationError: (_g, e) => left.push(e),
      });
      const took = Date.now() - started;
      expect(took).toBeLessThan(2000);
      expect(hits[0]!.doc).toBe('doc2');
      expect(left[0]).toBeInstanceOf(QueryTimeoutError);
      expect((left[0] as QueryTimeoutError).code).toBe('QUERY_TIMEOUT');
      expect(seen?.aborted).toBe(true);
    });

    it("stops an HTTP encoder's retries at the deadline (a 500ing endpoint no longer costs 13 s)", async () => {
      const server = await startFaultServer({ dimensions: 32, decide: () => '500' });
      try {
        const { store, encoderFor } = await migratingStore();
        const remote = await openAICompatible({
          baseURL: server.url,
          model: 'm',
          dimensions: 32,
          maxRetries: 8,
        });
        const left: unknown[] = [];
        const started = Date.now();
        const hits = await search(store, 'tax return deadline', {
          encoderFor: (g) => (g === 'new' ? remote.encode : encoderFor(g)),
          queryTimeoutMs: 300,
          onGenerationError: (_g, e) => left.push(e),
        });
        expect(Date.now() - started).toBeLessThan(2000);
        expect(hits[0]!.doc).toBe('doc3');
        expect(left[0]).toBeInstanceOf(QueryTimeoutError);
        const calls = server.log.length;
        await new Promise((r) => setTimeout(r, 600));
        expect(server.log.length).toBe(calls); // no retry ran after the deadline
      } finally {
        await server.close();
      }
    });

    it('throws SearchUnavailableError with every cause when no generation can answer', async () => {
      const { store } = await migratingStore();
      const reject: EncodeFn = async () => {
        throw new PermanentEncodeError('text 0 has no word the vocabulary knows');
      };
      const err = await search(store, 'ECONNREFUSED', { encoderFor: () => reject }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(SearchUnavailableError);
      const causes = (err as SearchUnavailableError).causes;
      expect(causes.map((c) => c.generation)).toEqual(['new', 'old']);
      for (const c of causes) expect(c.error).toBeInstanceOf(PermanentEncodeError);
      expect((err as Error).message).toMatch(/hybrid/);
    });

    it("the caller's abort is not a generation failure: it rejects the search", async () => {
      const { store, encoderFor } = await migratingStore();
      const c = new AbortController();
      const slow: EncodeFn = (_t, o) =>
        new Promise((_, reject) =>
          o.signal?.addEventListener('abort', () => reject(o.signal!.reason)),
        );
      setTimeout(() => c.abort(new Error('user cancelled')), 50);
      await rejectsWith(
        search(store, 'x', {
          encoderFor: (g) => (g === 'new' ? slow : encoderFor(g)),
          signal: c.signal,
        }),
        Error,
        'user cancelled',
      );
    });
  });
});
