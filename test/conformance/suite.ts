import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type ChunkVector,
  DimensionMismatchError,
  EmptyInputError,
  fill,
  GenerationConflictError,
  LifecycleError,
  type LifecycleStore,
  MissingDocumentError,
  PermanentEncodeError,
  SearchUnavailableError,
  StaleError,
  search,
  TooManySkippedError,
  UncoveredError,
  UnknownGenerationError,
} from '../../src/core/index.js';
import { embed, hashEncoder } from '../support/hash-encoder.js';
import { rejectsWith } from '../support/thrown.js';

/**
 * What a backend gives the conformance suite: a store over a fresh documents
 * table `docs(id INTEGER PRIMARY KEY, content TEXT, revision INTEGER,
 * embed_gen TEXT, category TEXT)` configured with `revisionColumn: 'revision'`
 * and `embedGenColumn: 'embed_gen'`, plus ways to change that table behind
 * the store's back, as the application that owns it would.
 */
export interface Harness<K, F> {
  store: LifecycleStore<K, string, F>;
  /** Inserts a row with revision 1. */
  insert(id: number, content: string, category?: string): Promise<void>;
  /** Replaces the content and bumps the revision. */
  update(id: number, content: string): Promise<void>;
  remove(id: number): Promise<void>;
  /** Sets embed_gen to NULL: the caller's way to invalidate a document. */
  invalidate(id: number): Promise<void>;
  /** A filter keeping rows whose category equals `category`. */
  filterCategory(category: string): F;
  /** The store's key for row `id`, as hits report it. */
  key(id: number): K;
  /** Chunk rows the store holds for a generation (vectors included), to prove nothing is orphaned. */
  vectorRows(gen: string): Promise<number>;
  close(): Promise<void>;
}

const DIMS = 16;
const GEN = { model: 'hash-bow', dimensions: DIMS };
const GEN_B = { model: 'hash-bow', dimensions: DIMS, params: { seed: 'b' } };

const words = [
  'apple orchard harvest',
  'rocket launch orbit',
  'violin concerto symphony',
  'tax return deadline',
  'mountain hiking trail',
  'sourdough bread baking',
  'python programming language',
  'ocean tide currents',
  'chess opening gambit',
  'garden tomato seedlings',
];

/** Runs `fn` so that a synchronous throw becomes a rejection (stores may be sync or async). */
function attempt<T>(fn: () => T | Promise<T>): Promise<T> {
  return Promise.resolve().then(fn);
}

function vectorsFor(content: string, seed = ''): ChunkVector[] {
  return [{ chunkIndex: 0, start: 0, end: content.length, vector: embed(content, DIMS, seed) }];
}

/**
 * The behavioural contract every backend must meet: the invariants of
 * DESIGN.md and each review finding of the origin PR. A new backend passes by
 * running this with its own harness.
 */
export function runConformance<K, F>(
  name: string,
  makeHarness: () => Promise<Harness<K, F>>,
): void {
  describe(`${name}: Store conformance`, () => {
    let h: Harness<K, F>;
    let store: LifecycleStore<K, string, F>;
    const enc = hashEncoder(DIMS);
    const encB = hashEncoder(DIMS, 'b');
    const encoderFor = (g: string) => (g === 'b' ? encB.encode : enc.encode);

    beforeEach(async () => {
      h = await makeHarness();
      store = h.store;
    });
    afterEach(async () => {
      await h.close();
    });

    async function seed(n = words.length): Promise<void> {
      for (let i = 0; i < n; i++)
        await h.insert(i + 1, `${words[i % words.length]} note ${i + 1}`, i % 2 ? 'odd' : 'even');
    }

    async function searchDocs(query: string, limit = 10, gen?: string): Promise<K[]> {
      const q = embed(query, DIMS, gen === 'b' ? 'b' : '');
      const hits = await store.queryGeneration(gen ?? 'a', q, limit);
      return hits.map((x) => x.doc);
    }

    it('fills every document, then nothing is pending and coverage is full', async () => {
      await seed();
      await store.ensureGeneration('a', GEN, 'active');
      const result = await fill(store, 'a', enc.encode, { scanBatch: 3 });
      expect(result).toMatchObject({ documents: 10, chunks: 10, skipped: 0, stale: 0 });
      expect(await store.pendingForGeneration('a', 100)).toEqual([]);
      expect(await store.coverage('a')).toEqual({ embedded: 10, skipped: 0, backlog: 0 });
      const hits = await search(store, 'rocket launch orbit', { encoderFor, limit: 3 });
      expect(hits[0]!.doc).toEqual(h.key(2));
    });

    it('never returns a deleted document (review: deleted documents must not be returned)', async () => {
      await seed();
      await store.ensureGeneration('a', GEN, 'active');
      await fill(store, 'a', enc.encode);
      await h.remove(2);
      expect(await searchDocs('rocket launch orbit note 2', 10)).not.toContainEqual(h.key(2));
      const hits = await search(store, 'rocket launch orbit', { encoderFor, limit: 10 });
      expect(hits.map((x) => x.doc)).not.toContainEqual(h.key(2));
      expect(hits).toHaveLength(9);
    });

    it('persists nothing for a document deleted between scan and save (review: orphan vectors)', async () => {
      await seed(3);
      await store.ensureGeneration('a', GEN, 'active');
      const [first] = await store.pendingForGeneration('a', 1);
      const before = await h.vectorRows('a');
      await h.remove(1);
      await expect(
        attempt(() =>
          store.saveVectors('a', first!.doc, first!.revision, vectorsFor(first!.content)),
        ),
      ).rejects.toBeInstanceOf(MissingDocumentError);
      expect(await h.vectorRows('a')).toBe(before);
      // A row inserted later under the same id is pending, not served with the orphan's vectors.
      await h.insert(1, 'completely different text');
      expect((await store.pendingForGeneration('a', 10)).map((p) => p.doc)).toContainEqual(
        h.key(1),
      );
      expect(await searchDocs(first!.content)).not.toContainEqual(h.key(1));
    });

    it('refuses to stamp a key that never existed, persisting nothing', async () => {
      await store.ensureGeneration('a', GEN, 'active');
      await expect(
        attempt(() => store.saveVectors('a', h.key(999), 1, vectorsFor('ghost'))),
      ).rejects.toBeInstanceOf(MissingDocumentError);
      expect(await h.vectorRows('a')).toBe(0);
    });

    it('refuses a stale revision and persists nothing (review: conditional stamp)', async () => {
      await seed(3);
      await store.ensureGeneration('a', GEN, 'active');
      const pending = await store.pendingForGeneration('a', 10);
      const doc2 = pending.find((p) => p.doc === h.key(2))!;
      await h.update(2, 'edited after the scan');
      const err = await attempt(() =>
        store.saveVectors('a', doc2.doc, doc2.revision, vectorsFor(doc2.content)),
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StaleError);
      expect(await h.vectorRows('a')).toBe(0);
      expect((await store.pendingForGeneration('a', 10)).map((p) => p.doc)).toContainEqual(
        h.key(2),
      );
      expect(await searchDocs(doc2.content)).toEqual([]);
    });

    it("never returns an edited document's old vectors, and re-embeds it (review: re-stamped documents)", async () => {
      await seed();
      await store.ensureGeneration('a', GEN, 'active');
      await fill(store, 'a', enc.encode);
      await h.update(3, 'quantum physics lecture');
      expect(await searchDocs('violin concerto symphony note 3')).not.toContainEqual(h.key(3));
      expect((await store.pendingForGeneration('a', 10)).map((p) => p.doc)).toEqual([h.key(3)]);
      await fill(store, 'a', enc.encode);
      const top = await searchDocs('quantum physics lecture', 1);
      expect(top).toEqual([h.key(3)]);
      // The old chunk rows were replaced, not added to.
      expect(await h.vectorRows('a')).toBe(10);
    });

    it('treats a NULL embed_gen as invalidation for every generation', async () => {
      await seed(4);
      await store.ensureGeneration('a', GEN, 'active');
      await store.ensureGeneration('b', GEN_B, 'building');
      await fill(store, 'a', enc.encode);
      await fill(store, 'b', encB.encode);
      await h.invalidate(2);
      expect((await store.pendingForGeneration('a', 10)).map((p) => p.doc)).toEqual([h.key(2)]);
      expect((await store.pendingForGeneration('b', 10)).map((p) => p.doc)).toEqual([h.key(2)]);
      expect(await searchDocs('rocket launch orbit note 2')).not.toContainEqual(h.key(2));
      // Re-embedding for one generation must not revive the other's stale stamp.
      await fill(store, 'a', enc.encode);
      expect((await store.pendingForGeneration('b', 10)).map((p) => p.doc)).toEqual([h.key(2)]);
    });

    it('refuses a known generation key with another dimension or fingerprint (review: dimension conflict)', async () => {
      const info = await store.ensureGeneration('a', GEN, 'active');
      expect(info).toMatchObject({ key: 'a', dimensions: DIMS, state: 'active', reclaimed: false });
      expect(info.fingerprint).toMatch(/^[0-9a-f]{16}$/);
      await expect(
        attempt(() => store.ensureGeneration('a', { ...GEN, dimensions: 32 })),
      ).rejects.toBeInstanceOf(GenerationConflictError);
      await expect(
        attempt(() => store.ensureGeneration('a', { ...GEN, params: { prefix: 'query: ' } })),
      ).rejects.toBeInstanceOf(GenerationConflictError);
      // The same generation again is fine and keeps its state.
      expect(await store.ensureGeneration('a', GEN, 'building')).toMatchObject({ state: 'active' });
    });

    it('enforces at most one active and one building generation', async () => {
      await store.ensureGeneration('a', GEN, 'active');
      await store.ensureGeneration('b', GEN_B, 'building');
      await expect(
        attempt(() => store.ensureGeneration('c', { ...GEN, params: { seed: 'c' } }, 'building')),
      ).rejects.toBeInstanceOf(LifecycleError);
      await expect(
        attempt(() => store.ensureGeneration('d', { ...GEN, params: { seed: 'd' } }, 'active')),
      ).rejects.toBeInstanceOf(LifecycleError);
      expect((await store.generations()).map((g) => g.key)).toEqual(['a', 'b']);
    });

    it('searches the union during a migration: a document covered only by the active generation is still found', async () => {
      await seed();
      await store.ensureGeneration('a', GEN, 'active');
      await fill(store, 'a', enc.encode);
      await store.ensureGeneration('b', GEN_B, 'building');
      // The building generation covers only the first three documents so far.
      for (const p of await store.pendingForGeneration('b', 3)) {
        await store.saveVectors('b', p.doc, p.revision, vectorsFor(p.content, 'b'));
      }
      expect(await store.liveGenerations()).toEqual(['b', 'a']);
      const hits = await search(store, 'garden tomato seedlings', { encoderFor, limit: 3 });
      expect(hits.map((x) => x.doc)).toContainEqual(h.key(10));
      const both = await search(store, 'apple orchard harvest', {
        encoderFor,
        limit: 10,
        merge: 'raw',
      });
      expect(both[0]).toMatchObject({ doc: h.key(1), generation: 'b' });
      expect(new Set(both.map((x) => x.doc)).size).toBe(10);
    });

    it('refuses to activate while a backlog remains, then activates at full coverage and retires the others', async () => {
      await seed(6);
      await store.ensureGeneration('a', GEN, 'active');
      await fill(store, 'a', enc.encode);
      await store.ensureGeneration('b', GEN_B, 'building');
      for (const p of await store.pendingForGeneration('b', 2)) {
        await store.saveVectors('b', p.doc, p.revision, vectorsFor(p.content, 'b'));
      }
      const err = await attempt(() => store.activate('b')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UncoveredError);
      expect((err as UncoveredError).backlog).toBe(4);
      expect(await store.liveGenerations()).toEqual(['b', 'a']);
      await fill(store, 'b', encB.encode);
      await store.activate('b');
      expect(await store.liveGenerations()).toEqual(['b']);
      const states = Object.fromEntries((await store.generations()).map((g) => [g.key, g.state]));
      expect(states).toEqual({ a: 'retired', b: 'active' });
    });

    it('reclaims a retired generation: its vectors are dropped, live ones cannot be reclaimed', async () => {
      await seed(5);
      await store.ensureGeneration('a', GEN, 'active');
      await fill(store, 'a', enc.encode);
      await expect(attempt(() => store.reclaim('a'))).rejects.toBeInstanceOf(LifecycleError);
      expect(await h.vectorRows('a')).toBe(5);
      await store.retire('a', { force: true });
      expect(await store.liveGenerations()).toEqual([]);
      await store.reclaim('a');
      expect(await h.vectorRows('a')).toBe(0);
      expect((await store.generations())[0]).toMatchObject({
        key: 'a',
        state: 'retired',
        reclaimed: true,
      });
      await expect(
        attempt(() => store.queryGeneration('a', embed('x', DIMS), 5)),
      ).rejects.toBeInstanceOf(LifecycleError);
    });

    it('refuses to retire the active generation unless forced; a building one retires freely', async () => {
      await seed(3);
      await store.ensureGeneration('a', GEN, 'active');
      await fill(store, 'a', enc.encode);
      await store.ensureGeneration('b', GEN_B, 'building');
      const err = await attempt(() => store.retire('a')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LifecycleError);
      expect((err as Error).message).toMatch(/force/);
      expect(await store.liveGenerations()).toEqual(['b', 'a']);
      await store.retire('b');
      expect(await store.liveGenerations()).toEqual(['a']);
      await store.retire('a', { force: true });
      expect(await store.liveGenerations()).toEqual([]);
    });

    it('reopens a retired generation as building, keeping its vectors: fill re-embeds only what changed (rollback)', async () => {
      await seed();
      await store.ensureGeneration('a', GEN, 'active');
      await fill(store, 'a', enc.encode);
      await store.ensureGeneration('b', GEN_B, 'building');
      await fill(store, 'b', encB.encode);
      await store.activate('b'); // retires a
      await h.update(3, 'violin concerto rewritten as a lullaby');
      await h.update(7, 'python snake care guide');
      // activate of a retired generation with changes says how to get there.
      const refused = await attempt(() => store.activate('a')).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(UncoveredError);
      expect((refused as Error).message).toMatch(/reopen/);
      await store.reopen('a');
      const info = (await store.generations()).find((g) => g.key === 'a')!;
      expect(info.state).toBe('building');
      expect(await h.vectorRows('a')).toBe(10); // kept: nothing is re-embedded from scratch
      expect(await store.liveGenerations()).toEqual(['a', 'b']);
      const result = await fill(store, 'a', enc.encode);
      expect(result.documents).toBe(2);
      await store.activate('a');
      expect(await store.liveGenerations()).toEqual(['a']);
      const hits = await search(store, 'python snake care guide', { encoderFor, limit: 1 });
      expect(hits[0]!.doc).toEqual(h.key(7));
      // Only a retired generation can be reopened; a reclaimed one cannot.
      await expect(attempt(() => store.reopen('a'))).rejects.toBeInstanceOf(LifecycleError);
      await store.reclaim('b');
      const gone = await attempt(() => store.reopen('b')).catch((e: unknown) => e);
      expect(gone).toBeInstanceOf(LifecycleError);
      expect((gone as Error).message).toMatch(/reclaimed/);
    });

    it('widens the window: with the 20 nearest documents deleted, limit 10 still returns 10 live hits', async () => {
      for (let i = 1; i <= 40; i++)
        await h.insert(i, i <= 20 ? `lighthouse beacon coast ${i}` : `unrelated filler text ${i}`);
      await store.ensureGeneration('a', GEN, 'active');
      await fill(store, 'a', enc.encode);
      for (let i = 1; i <= 20; i++) await h.remove(i);
      const hits = await store.queryGeneration('a', embed('lighthouse beacon coast', DIMS), 10);
      expect(hits).toHaveLength(10);
      for (const hit of hits) expect(Number(hit.doc)).toBeGreaterThan(20);
    });

    it('stamp-skips blank documents; they are not pending afterwards and count as skipped', async () => {
      await h.insert(1, 'real content here');
      await h.insert(2, '   \u200b\n\t');
      await h.insert(3, '');
      await store.ensureGeneration('a', GEN, 'active');
      const result = await fill(store, 'a', enc.encode);
      expect(result).toMatchObject({ documents: 3, skipped: 2, chunks: 1 });
      expect(await store.pendingForGeneration('a', 10)).toEqual([]);
      expect(await store.coverage('a')).toEqual({ embedded: 1, skipped: 2, backlog: 0 });
      expect(enc.calls.flat()).not.toContain('');
    });

    it('keeps pending and searchable exact complements under edits, deletes and invalidations', async () => {
      await seed(10);
      await store.ensureGeneration('a', GEN, 'active');
      await fill(store, 'a', enc.encode);
      await h.update(1, 'changed one');
      await h.remove(2);
      await h.invalidate(3);
      await h.insert(11, 'brand new row');
      const pending = new Set(
        (await store.pendingForGeneration('a', 100)).map((p) => String(p.doc)),
      );
      const hits = await store.queryGeneration('a', embed('note', DIMS), 100);
      const searchable = new Set(hits.map((x) => String(x.doc)));
      expect([...pending].sort()).toEqual(['1', '11', '3']);
      for (const d of pending) expect(searchable.has(d)).toBe(false);
      const cov = await store.coverage('a');
      expect(cov.backlog).toBe(pending.size);
      expect(cov.embedded + cov.skipped + cov.backlog).toBe(10);
      expect(searchable.size).toBe(cov.embedded);
    });

    it('applies a metadata filter before the limit, so filtered-out rows never use up results', async () => {
      for (let i = 1; i <= 30; i++)
        await h.insert(
          i,
          i <= 20 ? `harbor ships sailing ${i}` : `harbor ${i}`,
          i <= 20 ? 'near' : 'far',
        );
      await store.ensureGeneration('a', GEN, 'active');
      await fill(store, 'a', enc.encode);
      const hits = await store.queryGeneration('a', embed('harbor ships sailing', DIMS), 5, {
        filter: h.filterCategory('far'),
      });
      expect(hits).toHaveLength(5);
      for (const hit of hits) expect(Number(hit.doc)).toBeGreaterThan(20);
      const viaSearch = await search(store, 'harbor ships sailing', {
        encoderFor,
        limit: 3,
        filter: h.filterCategory('far'),
      });
      expect(viaSearch.map((x) => Number(x.doc)).every((d) => d > 20)).toBe(true);
    });

    /**
     * 100 filler documents plus five that contain the rare word "zygomorphic"
     * (rare: in at most 5 % of the documents, so every backend's text side
     * searches it): one fresh, one edited after the fill to say it (its new
     * text matches, its vectors are stale), one edited after the fill to no
     * longer say it (its old indexed text matches), one invalidated, one
     * deleted.
     */
    async function seedRareWord(): Promise<void> {
      await seed(100);
      await h.insert(101, 'zygomorphic flowers attract bees');
      await h.insert(102, 'plain meadow grass');
      await h.insert(103, 'zygomorphic petals in spring');
      await h.insert(104, 'zygomorphic symmetry of petals');
      await h.insert(105, 'zygomorphic blooms in the valley');
      await store.ensureGeneration('a', GEN, 'active');
      await fill(store, 'a', enc.encode);
      await h.update(102, 'zygomorphic orchids, edited after the fill');
      await h.update(103, 'edited: nothing botanical');
      await h.invalidate(104);
      await h.remove(105);
    }

    it('fuses full-text hits in hybrid search and still never returns deleted or stale rows', async () => {
      await seedRareWord();
      // The query vector points at the "rocket" documents, far from document
      // 101: it can only come from the text side, which proves the text side
      // matches — and the stale, invalidated and deleted documents that say
      // "zygomorphic" must not come from it.
      const hits = await store.queryGeneration('a', embed('rocket launch orbit', DIMS), 10, {
        text: 'zygomorphic',
        hybrid: true,
      });
      const docs = hits.map((x) => x.doc);
      const vectorOnly = await store.queryGeneration('a', embed('rocket launch orbit', DIMS), 10);
      expect(vectorOnly.map((x) => x.doc)).not.toContainEqual(h.key(101));
      expect(docs).toContainEqual(h.key(101));
      for (const id of [102, 103, 104, 105]) expect(docs).not.toContainEqual(h.key(id));
      // Through search(), with the word itself as the query.
      const viaSearch = await search(store, 'zygomorphic', { encoderFor, limit: 10, hybrid: true });
      expect(viaSearch[0]!.doc).toEqual(h.key(101));
      for (const id of [102, 103, 104, 105])
        expect(viaSearch.map((x) => x.doc)).not.toContainEqual(h.key(id));
      // Any query text is safe for the full-text engine.
      for (const q of [
        '"unbalanced',
        'AND OR NOT',
        'a:b*',
        '((',
        'NEAR(a b)',
        '😀 -- ; DROP TABLE docs',
      ]) {
        const res = await search(store, q, { encoderFor, limit: 3, hybrid: true });
        expect(res.length).toBeLessThanOrEqual(3);
      }
      await expect(search(store, '\u0000', { encoderFor, hybrid: true })).rejects.toBeInstanceOf(
        EmptyInputError,
      );
    });

    it('applies the filter to full-text hits in hybrid search', async () => {
      await seed(100);
      await h.insert(101, 'quokka habitat survey', 'near');
      await h.insert(102, 'quokka diet survey', 'far');
      await h.insert(103, 'rocket launch orbit, near edition', 'near');
      await store.ensureGeneration('a', GEN, 'active');
      await fill(store, 'a', enc.encode);
      const q = embed('rocket launch orbit', DIMS);
      // Unfiltered, the text side finds both quokka documents.
      const all = (await store.queryGeneration('a', q, 20, { text: 'quokka', hybrid: true })).map(
        (x) => x.doc,
      );
      expect(all).toContainEqual(h.key(101));
      expect(all).toContainEqual(h.key(102));
      const hits = await store.queryGeneration('a', q, 10, {
        text: 'quokka',
        hybrid: true,
        filter: h.filterCategory('near'),
      });
      expect(hits.map((x) => x.doc).sort()).toEqual([h.key(101), h.key(103)].sort());
    });

    it('a selective filter never returns a stale, invalidated or deleted row (exact scan of the matching rows)', async () => {
      for (let i = 1; i <= 100; i++)
        await h.insert(i, `lighthouse beacon coast ${i}`, i <= 6 ? 'rare' : 'common');
      await store.ensureGeneration('a', GEN, 'active');
      await fill(store, 'a', enc.encode);
      await h.update(1, 'lighthouse beacon coast, edited after the fill');
      await h.invalidate(2);
      await h.remove(3);
      const hits = await store.queryGeneration('a', embed('lighthouse beacon coast', DIMS), 10, {
        filter: h.filterCategory('rare'),
      });
      expect(hits.map((x) => x.doc).sort()).toEqual([h.key(4), h.key(5), h.key(6)].sort());
    });

    it('refuses a vector of the wrong length with DimensionMismatchError and persists nothing', async () => {
      await seed(3);
      await store.ensureGeneration('a', GEN, 'active');
      const [p] = await store.pendingForGeneration('a', 1);
      for (const length of [DIMS - 1, DIMS + 1]) {
        const vectors: ChunkVector[] = [
          { chunkIndex: 0, start: 0, end: 3, vector: embed(p!.content, DIMS) },
          { chunkIndex: 1, start: 3, end: 6, vector: embed(p!.content, length) },
        ];
        await expect(
          attempt(() => store.saveVectors('a', p!.doc, p!.revision, vectors)),
        ).rejects.toBeInstanceOf(DimensionMismatchError);
        if (store.saveMany) {
          await expect(
            attempt(() => store.saveMany!('a', [{ doc: p!.doc, revision: p!.revision, vectors }])),
          ).rejects.toBeInstanceOf(DimensionMismatchError);
        }
      }
      expect(await h.vectorRows('a')).toBe(0);
      expect((await store.pendingForGeneration('a', 10)).map((x) => x.doc)).toContainEqual(p!.doc);
      await expect(
        attempt(() => store.queryGeneration('a', embed('x', DIMS + 1), 5)),
      ).rejects.toBeInstanceOf(DimensionMismatchError);
    });

    it('rebuilds a reclaimed generation when it is ensured again', async () => {
      await seed(5);
      await store.ensureGeneration('a', GEN, 'active');
      await fill(store, 'a', enc.encode);
      await store.ensureGeneration('b', GEN_B, 'building');
      await fill(store, 'b', encB.encode);
      await store.activate('b');
      await store.reclaim('a');
      const info = await store.ensureGeneration('a', GEN, 'building');
      expect(info).toMatchObject({ key: 'a', state: 'building', reclaimed: false });
      expect(await store.coverage('a')).toEqual({ embedded: 0, skipped: 0, backlog: 5 });
      expect(await store.liveGenerations()).toEqual(['a', 'b']);
      expect((await fill(store, 'a', enc.encode)).documents).toBe(5);
      expect(await h.vectorRows('a')).toBe(5);
      expect(await searchDocs('rocket launch orbit note 2', 1)).toEqual([h.key(2)]);
    });

    it('fill does not sweep rows deleted outside vecfill (search never returns them); prune: true drops their vectors', async () => {
      await seed(6);
      await store.ensureGeneration('a', GEN, 'active');
      await fill(store, 'a', enc.encode);
      await h.remove(2);
      await h.remove(5);
      // A fill with nothing to do runs no sweep: the vectors stay, search skips them.
      const plain = await fill(store, 'a', enc.encode);
      expect(plain.pruned).toBeUndefined();
      expect(await h.vectorRows('a')).toBe(6);
      expect((await store.stats('a')).chunks).toBe(6);
      expect(await searchDocs('rocket launch orbit note 2', 10)).not.toContainEqual(h.key(2));
      expect(await searchDocs('mountain hiking trail note 5', 10)).not.toContainEqual(h.key(5));
      // Asked for, the sweep drops them.
      const result = await fill(store, 'a', enc.encode, { prune: true });
      expect(result).toMatchObject({ documents: 0, pruned: 2 });
      expect(await h.vectorRows('a')).toBe(4);
      expect((await store.stats('a')).chunks).toBe(4);
      // A second sweep has nothing left to prune.
      expect(await store.prune!()).toBe(0);
    });

    it('answers a query the encoder cannot embed from full text alone (queryFullText), only from live current rows', async () => {
      await seed();
      await h.insert(11, 'the client got ECONNREFUSED from the proxy');
      await h.insert(12, 'ECONNREFUSED again, on another port');
      await store.ensureGeneration('a', GEN, 'active');
      await fill(store, 'a', enc.encode);
      expect(store.queryFullText).toBeTypeOf('function');
      const text = await store.queryFullText!('a', 'ECONNREFUSED', 5);
      expect(new Set(text.map((x) => x.doc))).toEqual(new Set([h.key(11), h.key(12)]));
      for (const hit of text) expect(hit.chunkIndex).toBe(0);
      // The freshness rule holds: no deleted row, no edited row's old text.
      await h.remove(11);
      await h.update(12, 'fixed: the proxy answers now');
      expect(await store.queryFullText!('a', 'ECONNREFUSED', 5)).toEqual([]);
      await h.insert(13, 'ECONNREFUSED in the new note');
      expect(await store.queryFullText!('a', 'ECONNREFUSED', 5)).toEqual([]); // not stamped yet
      await fill(store, 'a', enc.encode);
      expect((await store.queryFullText!('a', 'ECONNREFUSED', 5)).map((x) => x.doc)).toEqual([
        h.key(13),
      ]);
      // The filter applies, as it does to vector hits.
      await h.insert(14, 'ECONNREFUSED elsewhere', 'far');
      await fill(store, 'a', enc.encode);
      const filtered = await store.queryFullText!('a', 'ECONNREFUSED', 5, {
        filter: h.filterCategory('far'),
      });
      expect(filtered.map((x) => x.doc)).toEqual([h.key(14)]);
    });

    it('search with hybrid answers from full text when the encoder rejects the query; without hybrid it throws SearchUnavailableError', async () => {
      await seed();
      await h.insert(11, 'call randomUUID for a fresh key');
      await store.ensureGeneration('a', GEN, 'active');
      await fill(store, 'a', enc.encode);
      // An encoder that embeds documents but knows no identifier in a query.
      const picky = async (texts: string[]) => {
        if (texts.some((t) => /[A-Z]{2}|[a-z][A-Z]/.test(t)))
          throw new PermanentEncodeError('text 0 has no word the vocabulary knows');
        return enc.encode(texts, {});
      };
      const reported: unknown[] = [];
      const hits = await search(store, 'randomUUID', {
        encoderFor: () => picky,
        hybrid: true,
        onGenerationError: (_g, e) => reported.push(e),
      });
      expect(hits[0]!.doc).toEqual(h.key(11));
      expect(reported).toEqual([]); // answered, so not left out
      const err = await search(store, 'randomUUID', { encoderFor: () => picky }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(SearchUnavailableError);
      expect((err as SearchUnavailableError).code).toBe('SEARCH_UNAVAILABLE');
      expect((err as SearchUnavailableError).causes).toHaveLength(1);
      expect((err as SearchUnavailableError).causes[0]!.generation).toBe('a');
      expect((err as SearchUnavailableError).causes[0]!.error).toBeInstanceOf(PermanentEncodeError);
    });

    it('leaves a failing generation out of search; the others answer', async () => {
      await seed();
      await store.ensureGeneration('a', GEN, 'active');
      await fill(store, 'a', enc.encode);
      await store.ensureGeneration('b', GEN_B, 'building');
      await fill(store, 'b', encB.encode);
      const down = new Error('HTTP 500: upstream down');
      const left: [string, unknown][] = [];
      const hits = await search(store, 'rocket launch orbit', {
        encoderFor: (g) =>
          g === 'b'
            ? async () => {
                throw down;
              }
            : enc.encode,
        limit: 3,
        onGenerationError: (g, e) => left.push([g, e]),
      });
      expect(hits[0]).toMatchObject({ doc: h.key(2), generation: 'a' });
      expect(left).toEqual([['b', down]]);
    });

    it('keeps the count of skipped chunks with the stamp, for current stamps only', async () => {
      await seed(3);
      await store.ensureGeneration('a', GEN, 'active');
      const stats = () =>
        (store as unknown as { stats(g: string): Promise<{ skippedChunks: number }> }).stats('a');
      const [p1, p2, p3] = await store.pendingForGeneration('a', 10);
      await store.saveVectors('a', p1!.doc, p1!.revision, vectorsFor(p1!.content), {
        skippedChunks: 2,
      });
      await store.saveMany!('a', [
        {
          doc: p2!.doc,
          revision: p2!.revision,
          vectors: vectorsFor(p2!.content),
          skippedChunks: 1,
        },
        { doc: p3!.doc, revision: p3!.revision, vectors: vectorsFor(p3!.content) },
      ]);
      expect((await stats()).skippedChunks).toBe(3);
      // An edit makes the stamp stale: its skipped chunks no longer count.
      await h.update(1, 'rewritten without the bad part');
      expect((await stats()).skippedChunks).toBe(1);
      await fill(store, 'a', enc.encode);
      expect((await stats()).skippedChunks).toBe(1);
      expect(await store.coverage('a')).toEqual({ embedded: 3, skipped: 0, backlog: 0 });
    });

    it('deleteVectors removes a document from every generation; it is pending again while its row exists', async () => {
      await seed(4);
      await store.ensureGeneration('a', GEN, 'active');
      await fill(store, 'a', enc.encode);
      await store.deleteVectors(h.key(2));
      expect(await searchDocs('rocket launch orbit note 2')).not.toContainEqual(h.key(2));
      expect(await h.vectorRows('a')).toBe(3);
      expect((await store.pendingForGeneration('a', 10)).map((p) => p.doc)).toEqual([h.key(2)]);
    });

    it('returns chunk offsets with hits and replaces all chunks of a document on save', async () => {
      const content =
        'First paragraph about comets.\n\nSecond paragraph about teapots and kettles.';
      await h.insert(1, content);
      await store.ensureGeneration('a', GEN, 'active');
      await fill(store, 'a', enc.encode, { split: { maxChars: 50 } });
      expect(await h.vectorRows('a')).toBe(2);
      const [hit] = await store.queryGeneration(
        'a',
        embed('Second paragraph about teapots and kettles.', DIMS),
        1,
      );
      expect(hit).toMatchObject({ chunkIndex: 1 });
      expect(content.slice(hit!.start, hit!.end)).toBe(
        'Second paragraph about teapots and kettles.',
      );
      expect(hit!.score).toBeCloseTo(1, 5);
    });

    it('saves many documents at once with each item atomic on its own', async () => {
      await seed(4);
      await store.ensureGeneration('a', GEN, 'active');
      if (!store.saveMany) return expect(store.saveMany).toBeUndefined();
      const pending = await store.pendingForGeneration('a', 10);
      await h.update(2, 'edited');
      await h.remove(3);
      const results = await store.saveMany(
        'a',
        pending.map((p) => ({ doc: p.doc, revision: p.revision, vectors: vectorsFor(p.content) })),
      );
      expect(results.map((r) => (r === null ? 'ok' : r.constructor.name))).toEqual([
        'ok',
        'StaleError',
        'MissingDocumentError',
        'ok',
      ]);
      expect(await h.vectorRows('a')).toBe(2);
    });

    it('names an unknown generation in a typed error', async () => {
      await expect(attempt(() => store.pendingForGeneration('nope', 1))).rejects.toBeInstanceOf(
        UnknownGenerationError,
      );
      await rejectsWith(
        attempt(() => store.coverage('nope')),
        UnknownGenerationError,
        /nope/,
      );
    });

    it('keeps why a document was skipped; activate refuses too many skips; resetSkipped makes them pending', async () => {
      await seed(10);
      await h.insert(11, '   ');
      await store.ensureGeneration('a', GEN, 'active');
      await store.ensureGeneration('b', GEN_B, 'building');
      for (let id = 1; id <= 11; id++) {
        const [p] = (await store.pendingForGeneration('b', 20)).filter((x) => x.doc === h.key(id));
        const reason = id === 11 ? undefined : id <= 3 ? 'HTTP 422: too long' : 'HTTP 400: refused';
        await store.saveVectors(
          'b',
          p!.doc,
          p!.revision,
          [],
          ...(reason === undefined ? [] : [{ skipReason: reason }]),
        );
      }
      expect(await store.coverage('b')).toEqual({ embedded: 0, skipped: 11, backlog: 0 });
      expect(await store.skipReasons('b')).toEqual([
        { reason: 'HTTP 400: refused', documents: 7 },
        { reason: 'HTTP 422: too long', documents: 3 },
      ]);
      const refused = await attempt(() => store.activate('b')).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(TooManySkippedError);
      expect(refused).toMatchObject({ embedded: 0, skipped: 10 });
      expect((await store.generations()).find((g) => g.key === 'a')?.state).toBe('active');
      // An edited document's old skip no longer counts.
      await h.update(1, 'apple orchard harvest again');
      expect((await store.skipReasons('b'))[1]).toEqual({
        reason: 'HTTP 422: too long',
        documents: 2,
      });
      // Every skip stamp goes, the blank document's too (a fill re-stamps it without the encoder).
      expect(await store.resetSkipped!('b')).toBe(11);
      expect(await store.coverage('b')).toEqual({ embedded: 0, skipped: 0, backlog: 11 });
      expect(await store.skipReasons('b')).toEqual([]);
      await fill(store, 'b', hashEncoder(DIMS, 'b').encode);
      await store.activate('b');
      expect((await store.generations()).find((g) => g.key === 'b')?.state).toBe('active');
    });

    it('fill survives a document edited during the fill and converges on the next run', async () => {
      await seed(10);
      await store.ensureGeneration('a', GEN, 'active');
      let edited = false;
      const slow = async (texts: string[]) => {
        if (!edited) {
          edited = true;
          await h.update(5, 'edited mid fill');
        }
        return texts.map((t) => embed(t, DIMS));
      };
      const first = await fill(store, 'a', slow, { scanBatch: 100 });
      expect(first.stale).toBe(1);
      const second = await fill(store, 'a', enc.encode);
      expect(second.documents).toBe(1);
      expect(await searchDocs('edited mid fill', 1)).toEqual([h.key(5)]);
    });
  });
}
