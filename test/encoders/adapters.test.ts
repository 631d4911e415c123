import { SyntheticEmbeddings } from '@langchain/core/utils/testing';
import { MockEmbeddingModelV3 } from 'ai/test';
import { describe, expect, it } from 'vitest';
import { encodeBatched, fill, search } from '../../src/core/index.js';
import { fromAiSdk, fromLangChain } from '../../src/encoders/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { rejectsWith } from '../support/thrown.js';

describe('fromAiSdk', () => {
  it("encodes through the AI SDK's embedMany with its own mock model, in order, with the abort signal", async () => {
    const model = new MockEmbeddingModelV3({
      provider: 'mock-provider',
      modelId: 'mock-embed',
      maxEmbeddingsPerCall: 2,
      doEmbed: async ({ values }) => ({
        embeddings: values.map((v) => [v.length, 1, 0]),
        warnings: [],
      }),
    });
    const enc = await fromAiSdk(model, { dimensions: 3 });
    expect(enc.generation).toEqual({ model: 'mock-provider/mock-embed', dimensions: 3 });
    const controller = new AbortController();
    const out = await encodeBatched(enc.encode, ['a', 'bb', 'ccc', 'dddd', 'eeeee'], {
      signal: controller.signal,
    });
    expect(out.map((v) => v[0])).toEqual([1, 2, 3, 4, 5]);
    // maxEmbeddingsPerCall 2: the SDK split 5 values into 3 calls.
    expect(model.doEmbedCalls.map((c) => c.values.length)).toEqual([2, 2, 1]);
    expect(model.doEmbedCalls[0]!.abortSignal).toBeDefined();
  });

  it('probes the dimensions when not given', async () => {
    const model = new MockEmbeddingModelV3({
      doEmbed: async ({ values }) => ({
        embeddings: values.map(() => [1, 2, 3, 4, 5]),
        warnings: [],
      }),
    });
    expect((await fromAiSdk(model)).generation.dimensions).toBe(5);
  });
});

describe('fromLangChain', () => {
  it("encodes through LangChain's SyntheticEmbeddings and drives a fill and a search", async () => {
    const enc = await fromLangChain(new SyntheticEmbeddings({ vectorSize: 12 }), {
      model: 'langchain/synthetic',
    });
    expect(enc.generation).toEqual({ model: 'langchain/synthetic', dimensions: 12 });
    const store = new MemoryStore();
    store.put('a', 'alpha text');
    store.put('b', 'bravo words');
    expect((await fill(store, 'g', enc.encode)).documents).toBe(2);
    store.live = ['g'];
    const hits = await search(store, 'alpha text', { encoderFor: () => enc.encode, limit: 1 });
    expect(hits[0]!.doc).toBe('a');
  });

  it('requires the model name', async () => {
    await rejectsWith(
      fromLangChain(new SyntheticEmbeddings({ vectorSize: 4 }), { model: '' }),
      TypeError,
      /needs opts\.model/,
    );
  });
});
