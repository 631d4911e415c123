import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  type DocHit,
  EmptyInputError,
  fingerprint,
  type Generation,
  isBlank,
  merge,
  split,
} from '../../src/core/index.js';
import { blankByTable, blankCodePoint } from '../support/blank-oracle.js';

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

/** Texts made mostly of blank characters, with now and then one that is not. */
const blankText = fc
  .array(
    fc.oneof(
      {
        weight: 9,
        arbitrary: fc.constantFrom(
          ' ',
          '\t',
          '\n',
          '\u00a0',
          '\u00ad',
          '\u200b',
          '\u200d',
          '\u2028',
          '\u2066',
          '\u3000',
          '\ufeff',
          '\u0000',
          '\u0085',
          '\u{e0041}',
          '\u{1d173}',
          '\u180e',
        ),
      },
      {
        weight: 1,
        arbitrary: fc.constantFrom('a', '\u2800', '\u3164', '\ud800', '\u034f', '\u115f', '\ufffc'),
      },
    ),
    { maxLength: 12 },
  )
  .map((parts) => parts.join(''));

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
            // Boundary mode trims every chunk, overlapping ones included.
            if (mode === 'boundary') expect(c.text).not.toMatch(/^\s|\s$/);
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

  it('hashes a canonical JSON: sorted keys, empty values left out, everything else kept exactly', () => {
    fc.assert(
      fc.property(generation, (g) => {
        const canonical = canonicalJson(g);
        // An oracle of its own: JSON.stringify of the normalized object, keys
        // inserted in sorted order (JSON.stringify keeps insertion order).
        expect(canonical).toBe(JSON.stringify(sortedNormal(g)));
        // Real JSON that decodes to exactly the meaningful content: so two
        // generations with the same encoding are the same generation.
        expect(JSON.parse(canonical)).toEqual(sortedNormal(g));
        expect(fingerprint(g)).toBe(
          createHash('sha256').update(canonical, 'utf8').digest('hex').slice(0, 16),
        );
        // An empty field added later does not move the fingerprint.
        expect(fingerprint({ ...g, params: { ...g.params, unused: '' } })).toBe(fingerprint(g));
      }),
      { numRuns: 300 },
    );
  });

  it('is injective: generations that differ in any meaningful way never share a fingerprint', () => {
    fc.assert(
      fc.property(generation, generation, (a, b) => {
        if (JSON.stringify(sortedNormal(a)) !== JSON.stringify(sortedNormal(b)))
          expect(fingerprint(a)).not.toBe(fingerprint(b));
        else expect(fingerprint(a)).toBe(fingerprint(b));
      }),
      { numRuns: 300 },
    );
    // Near misses a careless encoding would merge.
    const near: Generation[] = [
      { model: 'm', dimensions: 8, params: { a: '1\nb=2' } },
      { model: 'm', dimensions: 8, params: { a: '1', b: '2' } },
      { model: 'm', dimensions: 8, params: { a: 1 } },
      { model: 'm', dimensions: 8, params: { a: '1' } },
      { model: 'm', dimensions: 8, params: { a: true } },
      { model: 'm', dimensions: 8, params: { a: 'true' } },
      { model: 'm', dimensions: 8, params: { 'a":"b': 'c' } },
      { model: 'm', dimensions: 8, params: { a: 'b","c' } },
      { model: 'm', dimensions: 80 },
      { model: 'm8', dimensions: 8 },
      { model: 'm', dimensions: 8, params: { dimensions: 8 } },
    ];
    expect(new Set(near.map(fingerprint)).size).toBe(near.length);
  });
});

/** The meaningful content of a generation, keys in sorted order at every level, empty values dropped. */
function sortedNormal(g: Generation): Record<string, unknown> {
  // Object.fromEntries makes own properties even of keys such as "__proto__".
  const params = Object.fromEntries(
    Object.keys(g.params ?? {})
      .sort()
      // JSON has one zero: -0 and 0 are the same setting.
      .map((key) => [key, Object.is(g.params![key], -0) ? 0 : g.params![key]] as const)
      .filter(([, v]) => v !== '' && v !== undefined),
  );
  const fields: [string, unknown][] = [
    ['dimensions', g.dimensions],
    ['model', g.model],
  ];
  if (Object.keys(params).length > 0) fields.push(['params', params]);
  return Object.fromEntries(fields);
}

describe('isBlank properties', () => {
  it('agrees with the Unicode table on every code point', () => {
    const wrong: string[] = [];
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      const expected = cp >= 0xd800 && cp <= 0xdfff ? false : blankCodePoint(cp);
      if (isBlank(String.fromCodePoint(cp)) !== expected)
        wrong.push(`U+${cp.toString(16).toUpperCase().padStart(4, '0')}`);
    }
    expect(wrong).toEqual([]);
  });

  it('never throws and agrees with the Unicode table on whole texts', () => {
    fc.assert(
      fc.property(fc.oneof(anyText, mixedText, blankText), (text) => {
        expect(isBlank(text)).toBe(blankByTable(text));
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
          const lists: DocHit<number, number>[][] = raw.map((l, li) =>
            l.map((h) => ({ ...h, chunkIndex: 0, chunks: 1, generation: li })),
          );
          const out = merge(lists, limit === undefined ? { strategy } : { strategy, limit });
          const union = new Set(lists.flat().map((h) => h.doc));
          expect(new Set(out.map((h) => h.doc)).size).toBe(out.length);
          expect(out.length).toBe(limit === undefined ? union.size : Math.min(limit, union.size));
          for (const h of out) {
            const first = lists.findIndex((l) => l.some((x) => x.doc === h.doc));
            expect(h.generation).toBe(first);
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
      fc.asyncProperty(fc.oneof(anyText, mixedText, blankText), async (q) => {
        const outcome = await search(store, q, { encoderFor: () => encode, limit: 3 }).then(
          (hits) => ({ hits, error: undefined }),
          (error: unknown) => ({ hits: undefined, error }),
        );
        if (blankByTable(q)) {
          expect(outcome.error).toBeInstanceOf(EmptyInputError);
        } else {
          // Any other query is answered: the one document, whatever its score.
          expect(outcome.error).toBeUndefined();
          expect(outcome.hits!.map((h) => h.doc)).toEqual(['a']);
        }
      }),
      { numRuns: 200 },
    );
  });
});
