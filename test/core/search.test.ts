import { describe, expect, it } from 'vitest';
import { EmptyInputError, type EncodeFn, fill, search } from '../../src/core/index.js';
import { embed, hashEncoder } from '../support/hash-encoder.js';
import { MemoryStore } from '../support/memory-store.js';

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
    expect(doc0!.list).toBe(1);
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
    expect(hits[0]!.list).toBe(0);
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
    await expect(search(store, 'ok', { encoderFor, limit: 0 })).rejects.toThrow(RangeError);
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
    await expect(search(store, 'x', { encoderFor, signal: c.signal })).rejects.toThrow('cancelled');
  });
});
