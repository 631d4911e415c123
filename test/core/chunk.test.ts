import { describe, expect, it } from 'vitest';
import { type Chunk, isBlank, split } from '../../src/core/index.js';
import { throwsWith } from '../support/thrown.js';

/** Checks every guarantee `split` makes for one input. */
function checkInvariants(content: string, chunks: Chunk[], maxChars: number): void {
  chunks.forEach((c, i) => {
    expect(c.index).toBe(i);
    expect(content.slice(c.start, c.end)).toBe(c.text);
    expect(isBlank(c.text)).toBe(false);
    expect(c.text.length).toBeLessThanOrEqual(maxChars);
    const first = c.text.charCodeAt(0);
    const last = c.text.charCodeAt(c.text.length - 1);
    expect(
      first >= 0xdc00 && first <= 0xdfff && c.start > 0 && isHighAt(content, c.start - 1),
    ).toBe(false);
    expect(
      last >= 0xd800 && last <= 0xdbff && c.end < content.length && isLowAt(content, c.end),
    ).toBe(false);
  });
  // Every non-blank character lies in some chunk.
  const covered = new Uint8Array(content.length);
  for (const c of chunks) covered.fill(1, c.start, c.end);
  for (let i = 0; i < content.length; i++) {
    if (!covered[i])
      expect(isBlank(content[i]!), `char ${i} ${JSON.stringify(content[i])} not in any chunk`).toBe(
        true,
      );
  }
}
function isHighAt(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c >= 0xd800 && c <= 0xdbff;
}
function isLowAt(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c >= 0xdc00 && c <= 0xdfff;
}

const prose = [
  'The committee met on Tuesday. It reviewed the budget! Then it adjourned?',
  'A second paragraph follows here, with several clauses; it keeps going for a while, and then stops.',
  'Short one.',
  'Finally a longer closing paragraph that repeats words words words words words words words words words words words words words.',
].join('\n\n');

describe('split', () => {
  it('returns no chunk for blank content', () => {
    expect(split('')).toEqual([]);
    expect(split('   \n\n\t \u200b\ufeff ')).toEqual([]);
  });

  it('returns one chunk, trimmed, when the content fits', () => {
    const chunks = split('  hello world \n', { maxChars: 100 });
    expect(chunks).toEqual([{ index: 0, text: 'hello world', start: 2, end: 13 }]);
  });

  it('keeps offsets exact, never exceeds maxChars and covers every non-blank character', () => {
    for (const maxChars of [8, 20, 50, 80, 150, 1000]) {
      for (const overlap of [0, 3, 7]) {
        if (overlap >= maxChars) continue;
        const chunks = split(prose, { maxChars, overlap });
        checkInvariants(prose, chunks, maxChars);
        const windows = split(prose, { mode: 'window', maxChars, overlap });
        checkInvariants(prose, windows, maxChars);
      }
    }
  });

  it('prefers paragraph boundaries when they fit', () => {
    const a = 'Alpha paragraph one has some words in it.';
    const b = 'Beta paragraph two is also here with words.';
    const content = `${a}\n\n${b}`;
    const chunks = split(content, { maxChars: 60 });
    expect(chunks.map((c) => c.text)).toEqual([a, b]);
  });

  it('prefers sentence boundaries over word boundaries when no paragraph fits', () => {
    const content =
      'One short sentence here. Another sentence that goes on for a bit longer than the first.';
    const chunks = split(content, { maxChars: 60 });
    expect(chunks[0]!.text).toBe('One short sentence here.');
    checkInvariants(content, chunks, 60);
  });

  it('falls back to word boundaries, then to a hard cut for one long word', () => {
    const words = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod';
    const chunks = split(words, { maxChars: 20 });
    for (const c of chunks) expect(c.text).not.toMatch(/^\s|\s$/);
    expect(
      chunks.every(
        (c) => words.includes(` ${c.text} `) || words.startsWith(c.text) || words.endsWith(c.text),
      ),
    ).toBe(true);
    const long = 'x'.repeat(45);
    expect(split(long, { maxChars: 20 }).map((c) => c.text.length)).toEqual([20, 20, 5]);
  });

  it('never splits a surrogate pair', () => {
    const emoji = '😀'.repeat(30); // 60 code units, pairs everywhere
    for (const maxChars of [2, 3, 5, 7, 11]) {
      for (const mode of ['boundary', 'window'] as const) {
        const chunks = split(emoji, { maxChars, mode });
        checkInvariants(emoji, chunks, maxChars);
        for (const c of chunks) expect(c.text).toBe([...c.text].join(''));
        expect(chunks.map((c) => c.text).join('')).toBe(emoji);
      }
    }
  });

  it('repeats about `overlap` characters between consecutive chunks', () => {
    const content = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');
    const chunks = split(content, { maxChars: 50, overlap: 15 });
    expect(chunks.length).toBeGreaterThan(3);
    for (let i = 1; i < chunks.length; i++) {
      const prev = chunks[i - 1]!;
      const cur = chunks[i]!;
      expect(cur.start).toBeGreaterThan(prev.start);
      expect(cur.start).toBeLessThan(prev.end);
      expect(prev.end - cur.start).toBeLessThanOrEqual(15);
    }
  });

  it('window mode cuts fixed windows with a fixed step', () => {
    const content = 'abcdefghijklmnopqrstuvwxyz';
    const chunks = split(content, { mode: 'window', maxChars: 10, overlap: 2 });
    expect(chunks.map((c) => [c.start, c.end])).toEqual([
      [0, 10],
      [8, 18],
      [16, 26],
    ]);
  });

  it('refuses nonsense options with a RangeError', () => {
    expect(() => split('abc', { maxChars: 1 })).toThrow(RangeError);
    expect(() => split('abc', { maxChars: 10, overlap: 10 })).toThrow(RangeError);
    expect(() => split('abc', { maxChars: 10, overlap: -1 })).toThrow(RangeError);
  });
});

// Exact cuts, so a change to where `split` cuts shows up here (chunk
// boundaries decide what is embedded: moving one re-embeds a corpus). The
// first inputs were found by differential fuzzing of the mutants Stryker
// left alive (docs/invariants.md); each is one `[start, end]` list.
describe('split: exact cuts', () => {
  const cuts = (content: string, opts: Parameters<typeof split>[1]) => {
    const chunks = split(content, opts);
    checkInvariants(content, chunks, opts?.maxChars ?? 1000);
    return chunks.map((c) => [c.start, c.end]);
  };

  it('an overlapping chunk never starts with whitespace, even where the overlap begins in a run of spaces', () => {
    const content = ' mat, cat\n\n。a \n\n.   sat? on😀,  on';
    const chunks = split(content, { maxChars: 5, overlap: 2 });
    expect(chunks.length).toBeGreaterThan(3);
    for (const c of chunks) expect(c.text).not.toMatch(/^\s|\s$/);
  });

  it('with a large overlap, each next chunk starts at a word start within the last one', () => {
    expect(cuts(' ? "catcat \n\n caton😀 a! 😀', { maxChars: 11, overlap: 8 })).toEqual([
      [1, 10],
      [3, 10],
      [4, 10],
      [5, 10],
      [6, 10],
      [7, 10],
      [8, 10],
      [9, 10],
      [14, 24],
      [22, 27],
    ]);
    expect(
      cuts('a? ! on ! a . 😀! \n\n? a the    matmat\n\non。', { maxChars: 18, overlap: 10 }),
    ).toEqual([
      [0, 17],
      [8, 17],
      [10, 17],
      [12, 17],
      [14, 17],
      [16, 21],
      [20, 37],
      [31, 42],
    ]);
    expect(
      cuts('? a。。, 。. satmat. ", cat\n\n 。theasat! ! 😀the"', { maxChars: 14, overlap: 7 }),
    ).toEqual([
      [0, 9],
      [2, 9],
      [7, 17],
      [10, 17],
      [11, 17],
      [12, 24],
      [18, 24],
      [21, 24],
      [22, 24],
      [23, 36],
      [29, 38],
      [37, 45],
    ]);
    expect(cuts(' ",   ', { maxChars: 5, overlap: 4 })).toEqual([[1, 3]]);
  });

  it('cuts after CJK punctuation and keeps emoji whole', () => {
    expect(cuts('  \n\n。 😀the😀onthe😀', { maxChars: 12, overlap: 0 })).toEqual([
      [4, 5],
      [6, 18],
      [18, 20],
    ]);
  });

  it('takes the first kind of boundary when every boundary leaves the chunk under a quarter full', () => {
    // The paragraph break (after "a") beats the later space (after "b").
    expect(cuts(`a\n\nb c${'x'.repeat(40)}`, { maxChars: 40 })).toEqual([
      [0, 1],
      [3, 4],
      [5, 45],
      [45, 46],
    ]);
  });

  it('a document exactly maxChars long is one chunk', () => {
    expect(cuts('hello world', { maxChars: 11 })).toEqual([[0, 11]]);
  });

  it('window mode ignores word and sentence boundaries', () => {
    expect(cuts('hello world, again', { maxChars: 10, mode: 'window' })).toEqual([
      [0, 10],
      [10, 18],
    ]);
    expect(cuts('thesat? mat', { maxChars: 9, overlap: 0, mode: 'window' })).toEqual([
      [0, 9],
      [9, 11],
    ]);
  });

  it('keeps the pairs at the ends of the surrogate ranges whole, and cuts beside a lone surrogate', () => {
    for (const mode of ['window', 'boundary'] as const) {
      // U+10000 (D800 DC00) and U+10FFFF (DBFF DFFF).
      for (const pair of ['\ud800\udc00', '\udbff\udfff']) {
        expect(cuts(pair.repeat(4), { maxChars: 3, mode })).toEqual([
          [0, 2],
          [2, 4],
          [4, 6],
          [6, 8],
        ]);
      }
    }
    // A lone low surrogate after a letter, a lone high one before a private-use character: no pair.
    expect(cuts('abc\udc00def', { maxChars: 3, mode: 'window' })).toEqual([
      [0, 3],
      [3, 6],
      [6, 7],
    ]);
    expect(cuts('ab\ud800\ue000cd', { maxChars: 3, mode: 'window' })).toEqual([
      [0, 3],
      [3, 6],
    ]);
  });

  it('says which option is wrong, and refuses content that is not a string', () => {
    throwsWith(
      () => split('abc', { maxChars: 1 }),
      RangeError,
      'split: maxChars must be an integer >= 2, got 1',
    );
    throwsWith(
      () => split('abc', { maxChars: 10, overlap: 10 }),
      RangeError,
      'split: overlap must be an integer in [0, maxChars), got 10',
    );
    expect(() => split(42 as unknown as string)).toThrow(
      new TypeError('split: content must be a string'),
    );
  });
});
