import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  type DocHit,
  EmptyInputError,
  fingerprint,
  isBlank,
  merge,
  split,
} from '../../src/core/index.js';

/** Any UTF-16 string, including lone surrogates and astral characters. */
const anyText = fc.string({ unit: 'binary', maxLength: 400 });
const mixedText = fc
  .array(
    fc.oneof(
      fc.string({ unit: 'binary', maxLength: 30 }),
      fc.constantFrom('\n\n', '. ', '! ', ' ', '\u200b', '😀', '\ud800', '\udc00', '\u2800', '\t'),
      fc.string({ unit: 'grapheme', maxLength: 20 }),
    ),
    { maxLength: 60 },
  )
  .map((parts) => parts.join(''));

function isHigh(c: number) {
  return c >= 0xd800 && c <= 0xdbff;
}
function isLow(c: number) {
  return c >= 0xdc00 && c <= 0xdfff;
}

describe('split properties', () => {
  it('holds every guarantee on random Unicode (lone surrogates included)', () => {
    fc.assert(
      fc.property(
        fc.oneof(anyText, mixedText),
        fc.integer({ min: 2, max: 120 }),
        fc.nat(),
        fc.constantFrom('boundary', 'window') as fc.Arbitrary<'boundary' | 'window'>,
        (content, maxChars, o, mode) => {
          const overlap = o % maxChars;
          const chunks = split(content, { maxChars, overlap, mode });
          const covered = new Uint8Array(content.length);
          chunks.forEach((c, i) => {
            expect(c.index).toBe(i);
            expect(content.slice(c.start, c.end)).toBe(c.text);
            expect(c.text.length).toBeLessThanOrEqual(maxChars);
            expect(isBlank(c.text)).toBe(false);
            // A pair in the source is never cut at a chunk edge.
            if (c.start > 0)
              expect(
                isHigh(content.charCodeAt(c.start - 1)) && isLow(content.charCodeAt(c.start)),
              ).toBe(false);
            if (c.end < content.length)
              expect(
                isHigh(content.charCodeAt(c.end - 1)) && isLow(content.charCodeAt(c.end)),
              ).toBe(false);
            covered.fill(1, c.start, c.end);
          });
          // Checked per code point: an astral blank (U+E0020) is two code units.
          let i = 0;
          for (const ch of content) {
            if (!covered[i]) expect(isBlank(ch)).toBe(true);
            i += ch.length;
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('splits a 10 MB document within maxChars and keeps every character', () => {
    const para =
      'Lorem ipsum dolor sit amet, consectetur adipiscing elit. Sed do eiusmod tempor incididunt. ';
    const content = para.repeat(Math.ceil(10_000_000 / para.length)).slice(0, 10_000_000);
    const chunks = split(content, { maxChars: 2000 });
    expect(chunks.length).toBeGreaterThan(5000);
    let last = 0;
    for (const c of chunks) {
      expect(c.text.length).toBeLessThanOrEqual(2000);
      expect(content.slice(last, c.start).trim()).toBe('');
      last = c.end;
    }
    expect(content.slice(last).trim()).toBe('');
  });

  it('handles a 10 MB document with no boundary at all', () => {
    const content = 'x'.repeat(10_000_000);
    const chunks = split(content, { maxChars: 4096 });
    expect(chunks.reduce((n, c) => n + c.text.length, 0)).toBe(10_000_000);
  });
});

const paramValue = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
);
const generation = fc.record(
  {
    model: fc.string({ unit: 'binary', minLength: 1 }).filter((s) => s.trim() !== ''),
    dimensions: fc.integer({ min: 1, max: 100_000 }),
    params: fc.dictionary(fc.string({ unit: 'binary' }), paramValue, { maxKeys: 6 }),
  },
  { requiredKeys: ['model', 'dimensions'] },
);

describe('fingerprint properties', () => {
  it('is 16 lowercase hex characters and ignores params key order', () => {
    fc.assert(
      fc.property(generation, (g) => {
        const fp = fingerprint(g);
        expect(fp).toMatch(/^[0-9a-f]{16}$/);
        if (g.params) {
          const reversed = Object.fromEntries(Object.entries(g.params).reverse());
          expect(fingerprint({ ...g, params: reversed })).toBe(fp);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('is injective on the canonical encoding: different canonical JSON, different generation', () => {
    fc.assert(
      fc.property(generation, generation, (a, b) => {
        if (canonicalJson(a) !== canonicalJson(b)) expect(fingerprint(a)).not.toBe(fingerprint(b));
        // The canonical JSON is real JSON that round-trips the meaningful content.
        const parsed = JSON.parse(canonicalJson(a)) as { model: string; dimensions: number };
        expect(parsed.dimensions).toBe(a.dimensions);
      }),
      { numRuns: 300 },
    );
  });
});

describe('isBlank properties', () => {
  it('never throws and agrees with a character-by-character definition', () => {
    fc.assert(
      fc.property(fc.oneof(anyText, mixedText), (text) => {
        const expected = [...text].every((ch) => /^[\s\p{Cf}\p{Cc}]$/u.test(ch));
        expect(isBlank(text)).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('any text with a letter or digit is content', () => {
    fc.assert(
      fc.property(
        anyText,
        fc.constantFrom('a', '7', 'ж', '漢', '\u2800', '\u3164'),
        anyText,
        (pre, ch, post) => {
          expect(isBlank(pre + ch + post)).toBe(false);
        },
      ),
    );
  });
});

const docList = fc.uniqueArray(
  fc.record({
    doc: fc.integer({ min: 0, max: 30 }),
    score: fc.double({ min: -1, max: 1, noNaN: true }),
  }),
  { selector: (h) => h.doc, maxLength: 15 },
);

describe('merge properties', () => {
  it('covers the union, lets the earliest list win, keeps one entry per document and respects the limit', () => {
    fc.assert(
      fc.property(
        fc.array(docList, { maxLength: 4 }),
        fc.constantFrom('normalized', 'raw', 'rrf') as fc.Arbitrary<'normalized' | 'raw' | 'rrf'>,
        fc.option(fc.nat({ max: 40 }), { nil: undefined }),
        (raw, strategy, limit) => {
          const lists: DocHit<number>[][] = raw.map((l) =>
            l.map((h) => ({ ...h, chunkIndex: 0, chunks: 1 })),
          );
          const out = merge(lists, limit === undefined ? { strategy } : { strategy, limit });
          const union = new Set(lists.flat().map((h) => h.doc));
          expect(new Set(out.map((h) => h.doc)).size).toBe(out.length);
          expect(out.length).toBe(limit === undefined ? union.size : Math.min(limit, union.size));
          for (const h of out) {
            const first = lists.findIndex((l) => l.some((x) => x.doc === h.doc));
            expect(h.list).toBe(first);
            expect(Number.isFinite(h.score)).toBe(true);
          }
          for (let i = 1; i < out.length; i++)
            expect(out[i - 1]!.score).toBeGreaterThanOrEqual(out[i]!.score);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('query text of any shape', () => {
  it('search refuses blank queries with a typed error and accepts everything else', async () => {
    const { search } = await import('../../src/core/index.js');
    const { MemoryStore } = await import('../support/memory-store.js');
    const { hashEncoder } = await import('../support/hash-encoder.js');
    const store = new MemoryStore();
    store.put('a', 'some text');
    const { encode } = hashEncoder(8);
    const { fill } = await import('../../src/core/index.js');
    await fill(store, 'g', encode);
    store.live = ['g'];
    await fc.assert(
      fc.asyncProperty(fc.oneof(anyText, mixedText), async (q) => {
        try {
          const hits = await search(store, q, { encoderFor: () => encode, limit: 3 });
          expect(isBlank(q)).toBe(false);
          expect(hits.length).toBeLessThanOrEqual(1);
        } catch (e) {
          expect(e).toBeInstanceOf(EmptyInputError);
          expect(isBlank(q)).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });
});
