import { describe, expect, it } from 'vitest';
import {
  EmptyInputError,
  type EncodeFn,
  fill,
  type Hit,
  PermanentEncodeError,
  type QueryOptions,
  SearchUnavailableError,
  search,
} from '../../src/core/index.js';
import { hashEncoder } from '../support/hash-encoder.js';
import { MemoryStore, tick } from '../support/memory-store.js';
import { rejectsWith } from '../support/thrown.js';

/**
 * A MemoryStore that records what search asks of it, and answers full-text
 * queries by word: enough to see each search option reach the store.
 */
class RecordingStore extends MemoryStore {
  readonly asked: { gen: string; limit: number; opts: QueryOptions<string> | undefined }[] = [];
  readonly textAsked: { gen: string; text: string; limit: number; opts: unknown }[] = [];
  textFails = false;

  override async queryGeneration(
    gen: string,
    query: Float32Array,
    limit: number,
    opts?: QueryOptions<string>,
  ): Promise<Hit<string>[]> {
    this.asked.push({ gen, limit, opts });
    return super.queryGeneration(gen, query, limit, opts as QueryOptions<never>);
  }

  async queryFullText(
    gen: string,
    text: string,
    limit: number,
    opts?: Omit<QueryOptions<string>, 'text' | 'hybrid'>,
  ): Promise<Hit<string>[]> {
    await tick();
    this.textAsked.push({ gen, text, limit, opts });
    if (this.textFails) throw new Error('full-text index is corrupt');
    const words = text.toLowerCase().split(/\s+/);
    return [...this.rows]
      .filter(([doc, row]) => this.covered(gen, doc) && words.some((w) => row.content.includes(w)))
      .slice(0, limit)
      .map(([doc]) => ({ doc, chunkIndex: 0, score: 1 }));
  }
}

async function filled(n = 6): Promise<{ store: RecordingStore; encode: EncodeFn }> {
  const store = new RecordingStore();
  for (let i = 0; i < n; i++) store.put(`d${i}`, `note ${i} about topic${i}`);
  const { encode } = hashEncoder(16);
  await fill(store, 'g', encode);
  store.live = ['g'];
  return { store, encode };
}

const refusing: EncodeFn = async () => {
  throw new PermanentEncodeError('text 0 has no word the vocabulary knows');
};

describe('search options reach the store', () => {
  it('passes the filter, the text, hybrid and the signal to every query of a generation', async () => {
    const { store, encode } = await filled();
    const signal = new AbortController().signal;
    await search(store, 'topic3', {
      encoderFor: () => encode,
      limit: 2,
      perGeneration: 5,
      filter: 'category = 1',
      hybrid: true,
      signal,
    });
    expect(store.asked).toEqual([
      {
        gen: 'g',
        limit: 5,
        opts: { text: 'topic3', filter: 'category = 1', hybrid: true, signal },
      },
    ]);
  });

  it('asks for no filter, no hybrid and no signal when none is given', async () => {
    const { store, encode } = await filled();
    await search(store, 'topic3', { encoderFor: () => encode, limit: 2 });
    expect(store.asked).toEqual([{ gen: 'g', limit: 6, opts: { text: 'topic3' } }]);
  });

  it('searches only the generations it is given, not every live one', async () => {
    const { store, encode } = await filled();
    await fill(store, 'h', encode);
    store.live = ['g', 'h'];
    const hits = await search(store, 'topic3', {
      encoderFor: () => encode,
      limit: 2,
      generations: ['h'],
    });
    expect(store.asked.map((a) => a.gen)).toEqual(['h']);
    expect(hits.length).toBeGreaterThan(0);
    expect(hits.every((h) => h.generation === 'h')).toBe(true);
    store.asked.length = 0;
    await search(store, 'topic3', { encoderFor: () => encode, limit: 2 });
    expect(store.asked.map((a) => a.gen).sort()).toEqual(['g', 'h']);
  });

  it('widens by doubling while a full window yields too few documents, and stops when the store has no more', async () => {
    const { store, encode } = await filled(6);
    // One document with many chunks crowds every window.
    store.put('big', Array.from({ length: 30 }, (_, i) => `topic3 part ${i}`).join('\n\n'));
    await fill(store, 'g', encode, { split: { maxChars: 20 } });
    const hits = await search(store, 'topic3', { encoderFor: () => encode, limit: 3 });
    expect(hits).toHaveLength(3);
    const limits = store.asked.map((a) => a.limit);
    expect(limits[0]).toBe(9);
    for (let i = 1; i < limits.length; i++) expect(limits[i]).toBe(limits[i - 1]! * 2);
    // Asked for more documents than exist: one query, fewer hits than asked, no widening.
    store.asked.length = 0;
    const all = await search(store, 'note', { encoderFor: () => encode, limit: 50 });
    expect(all).toHaveLength(7);
    expect(store.asked).toHaveLength(1);
  });

  it("forwards the caller's abort to a query encoder that is still running", async () => {
    const { store } = await filled();
    const controller = new AbortController();
    let seen: AbortSignal | undefined;
    const hanging: EncodeFn = (_texts, o) => {
      seen = o.signal;
      return new Promise((_, reject) =>
        o.signal?.addEventListener('abort', () => reject(o.signal!.reason)),
      );
    };
    setTimeout(() => controller.abort(new Error('user left')), 20);
    const started = Date.now();
    await rejectsWith(
      search(store, 'topic1', {
        encoderFor: () => hanging,
        signal: controller.signal,
        queryTimeoutMs: 30_000,
      }),
      Error,
      'user left',
    );
    expect(seen?.aborted).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('leaves no timer behind: the process can exit as soon as a search returns', async () => {
    const { store, encode } = await filled();
    await fill(store, 'h', encode);
    store.live = ['g', 'h'];
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const hits = await search(store, 'topic1', { encoderFor: () => encode, limit: 2 });
    expect(hits.length).toBeGreaterThan(0);
    expect(timers()).toBe(before);
  });

  it('a first window holding limit documents is not widened: one query per generation', async () => {
    const { store, encode } = await filled(6);
    const hits = await search(store, 'note', {
      encoderFor: () => encode,
      limit: 2,
      perGeneration: 2,
    });
    expect(hits).toHaveLength(2);
    expect(store.asked.map((a) => a.limit)).toEqual([2]);
  });

  it('tells the encoder it encodes a query (models that prefix queries and documents differently)', async () => {
    const { store, encode } = await filled();
    const kinds: unknown[] = [];
    await search(store, 'topic1', {
      encoderFor: () => (texts, o) => {
        kinds.push(o.kind);
        return encode(texts, o);
      },
    });
    expect(kinds).toEqual(['query']);
  });

  it('accepts perGeneration 1 and a query timeout just above 0', async () => {
    const { store, encode } = await filled();
    const hits = await search(store, 'topic1', {
      encoderFor: () => encode,
      limit: 1,
      perGeneration: 1,
      queryTimeoutMs: 5_000,
    });
    expect(hits.map((h) => h.doc)).toEqual(['d1']);
    expect(store.asked.map((a) => a.limit)).toEqual([1]);
  });

  it('uses rankConstant with the rrf strategy', async () => {
    const { store, encode } = await filled();
    const score = async (rankConstant?: number) =>
      (
        await search(store, 'topic3', {
          encoderFor: () => encode,
          merge: 'rrf',
          limit: 1,
          ...(rankConstant === undefined ? {} : { rankConstant }),
        })
      )[0]!.score;
    expect(await score()).toBeCloseTo(1 / 61, 10);
    expect(await score(10)).toBeCloseTo(1 / 11, 10);
  });

  it('refuses a bad perGeneration or queryTimeoutMs with a RangeError', async () => {
    const { store, encode } = await filled(1);
    for (const perGeneration of [0, -1, 1.5])
      await rejectsWith(
        search(store, 'x', { encoderFor: () => encode, perGeneration }),
        RangeError,
        /perGeneration must be a positive integer/,
      );
    for (const queryTimeoutMs of [0, -5, Number.NaN])
      await rejectsWith(
        search(store, 'x', { encoderFor: () => encode, queryTimeoutMs }),
        RangeError,
        /queryTimeoutMs must be a positive number/,
      );
    for (const limit of [0, 2.5])
      await rejectsWith(
        search(store, 'x', { encoderFor: () => encode, limit }),
        RangeError,
        /limit must be a positive integer/,
      );
    await expect(
      search(store, 42 as unknown as string, { encoderFor: () => encode }),
    ).rejects.toBeInstanceOf(EmptyInputError);
    const blank = await search(store, ' \n ', { encoderFor: () => encode }).then(
      () => new Error('answered'),
      (e: unknown) => e as Error,
    );
    expect(blank).toBeInstanceOf(EmptyInputError);
    expect(blank.message).toMatch(/^query text at index 0 is blank/);
  });
});

describe('hybrid search when the encoder cannot embed the query', () => {
  it('answers from full text with the filter and signal, and does not report a permanent refusal', async () => {
    const { store } = await filled();
    const reported: unknown[] = [];
    const signal = new AbortController().signal;
    const hits = await search(store, 'topic4', {
      encoderFor: () => refusing,
      hybrid: true,
      limit: 3,
      filter: 'f',
      signal,
      onGenerationError: (_g, e) => reported.push(e),
    });
    expect(hits.map((h) => h.doc)).toEqual(['d4']);
    expect(store.textAsked).toEqual([
      { gen: 'g', text: 'topic4', limit: 3, opts: { filter: 'f', signal } },
    ]);
    expect(store.asked).toEqual([]);
    expect(reported).toEqual([]);
  });

  it('reports an outage it answered around (the encoder is down, not the query)', async () => {
    const { store } = await filled();
    const down = new Error('HTTP 503');
    const reported: unknown[] = [];
    const hits = await search(store, 'topic2', {
      encoderFor: () => async () => {
        throw down;
      },
      hybrid: true,
      onGenerationError: (_g, e) => reported.push(e),
    });
    expect(hits.map((h) => h.doc)).toEqual(['d2']);
    expect(reported).toEqual([down]);
  });

  it('leaves the generation out when full text fails too, with the encoder refusal as the cause', async () => {
    const { store } = await filled();
    store.textFails = true;
    const err = await search(store, 'topic2', { encoderFor: () => refusing, hybrid: true }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SearchUnavailableError);
    const causes = (err as SearchUnavailableError).causes;
    expect(causes).toHaveLength(1);
    expect(causes[0]!.error).toBeInstanceOf(PermanentEncodeError);
    expect(store.textAsked).toHaveLength(1);
    expect((err as Error).message).not.toMatch(/hybrid: true/);
  });

  it('without hybrid, a permanent refusal says to search with hybrid; an outage does not', async () => {
    const { store } = await filled();
    const refused = await search(store, 'topic2', { encoderFor: () => refusing }).then(
      () => new Error('answered'),
      (e: unknown) => e as Error,
    );
    expect(refused.message).toMatch(
      /search with hybrid: true to find words the encoder does not know/,
    );
    expect(store.textAsked).toEqual([]);
    const down = await search(store, 'topic2', {
      encoderFor: () => async () => {
        throw new Error('HTTP 503');
      },
    }).then(
      () => new Error('answered'),
      (e: unknown) => e as Error,
    );
    expect(down).toBeInstanceOf(SearchUnavailableError);
    // The message ends with the cause: no hint for an outage.
    expect(down.message).toMatch(/: HTTP 503$/);
    // An empty query vector (EmptyInputError from the encoder) counts as a refusal too.
    const empty = await search(store, 'topic2', {
      encoderFor: () => async () => {
        throw new EmptyInputError(0, 'encoder input');
      },
    }).then(
      () => new Error('answered'),
      (e: unknown) => e as Error,
    );
    expect(empty.message).toMatch(/hybrid: true/);
  });

  it('the hint to search with hybrid appears when any generation refused the query, even if another is down', async () => {
    const { store, encode } = await filled();
    await fill(store, 'h', encode);
    store.live = ['g', 'h'];
    const err = await search(store, 'topic2', {
      encoderFor: (gen) =>
        gen === 'g'
          ? refusing
          : async () => {
              throw new Error('HTTP 503');
            },
    }).then(
      () => new Error('answered'),
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(SearchUnavailableError);
    expect((err as SearchUnavailableError).causes).toHaveLength(2);
    expect(err.message).toMatch(/search with hybrid: true/);
  });

  it('an encoder that throws null leaves its generation out with null as the cause', async () => {
    const { store } = await filled();
    const reported: unknown[] = [];
    const err = await search(store, 'topic2', {
      encoderFor: () => async () => {
        throw null;
      },
      onGenerationError: (_g, e) => reported.push(e),
    }).then(
      () => new Error('answered'),
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(SearchUnavailableError);
    expect((err as SearchUnavailableError).causes).toEqual([{ generation: 'g', error: null }]);
    expect(reported).toEqual([null]);
    expect(err.message).not.toMatch(/hybrid: true/);
  });

  it('answers an outage from full text without an onGenerationError to tell', async () => {
    const { store } = await filled();
    const hits = await search(store, 'topic2', {
      encoderFor: () => async () => {
        throw new Error('HTTP 503');
      },
      hybrid: true,
    });
    expect(hits.map((h) => h.doc)).toEqual(['d2']);
  });

  it("rejects with the caller's reason when the caller aborts while full text is answering", async () => {
    const { store } = await filled();
    const controller = new AbortController();
    store.queryFullText = async (_gen, _text, _limit, opts) => {
      setImmediate(() => controller.abort(new Error('user left')));
      await new Promise((resolve) => opts?.signal?.addEventListener('abort', resolve));
      throw new Error('full-text query interrupted');
    };
    const error = await search(store, 'topic2', {
      encoderFor: () => refusing,
      hybrid: true,
      signal: controller.signal,
    }).then(
      () => new Error('answered'),
      (e: unknown) => e as Error,
    );
    expect(error.message).toBe('user left');
  });

  it('a store without queryFullText leaves the generation out even with hybrid', async () => {
    const { store, encode } = await filled();
    const plain = new MemoryStore();
    for (const [doc, row] of store.rows) plain.rows.set(doc, row);
    await fill(plain, 'g', encode);
    plain.live = ['g'];
    await expect(
      search(plain, 'topic2', { encoderFor: () => refusing, hybrid: true }),
    ).rejects.toBeInstanceOf(SearchUnavailableError);
  });
});
