import { describe, expect, it } from 'vitest';
import { canonicalJson, fingerprint, type Generation } from '../../src/core/index.js';
import { throwsWith } from '../support/thrown.js';

const bad = (g: unknown) => () => fingerprint(g as Generation);

describe('generation validation', () => {
  it('refuses what is not a generation, saying what is wrong', () => {
    expect(bad(null)).toThrow(new TypeError('generation must be an object'));
    expect(bad('m')).toThrow(new TypeError('generation must be an object'));
    for (const model of ['', '   ', 7, undefined])
      expect(bad({ model, dimensions: 8 })).toThrow(
        new TypeError('generation.model must be a non-empty string'),
      );
    for (const dimensions of [0, -1, 1.5, Number.NaN, '8', 2 ** 53])
      throwsWith(
        bad({ model: 'm', dimensions }),
        TypeError,
        `generation.dimensions must be a positive integer, got ${String(dimensions)}`,
      );
    for (const params of [null, [], 'x'])
      expect(bad({ model: 'm', dimensions: 8, params })).toThrow(
        new TypeError('generation.params must be a plain object of strings, numbers and booleans'),
      );
    for (const v of [{}, [1], null, undefined, 1n])
      expect(bad({ model: 'm', dimensions: 8, params: { ok: 1, p: v } })).toThrow(
        new TypeError('generation.params.p must be a string, number or boolean'),
      );
    expect(bad({ model: 'm', dimensions: 8, params: { p: Number.POSITIVE_INFINITY } })).toThrow(
      new TypeError('generation field $.params.p is Infinity; only finite numbers are allowed'),
    );
    // A valid generation passes, with params of every allowed type.
    expect(
      fingerprint({ model: 'm', dimensions: 8, params: { s: 'x', n: 1.5, b: false } }),
    ).toMatch(/^[0-9a-f]{16}$/);
  });

  it('encodes any JSON-like value canonically: null and empty parts left out, arrays kept in order', () => {
    expect(canonicalJson(null)).toBe('null');
    expect(canonicalJson(undefined)).toBe('null');
    expect(canonicalJson('')).toBe('null');
    expect(canonicalJson({})).toBe('null');
    expect(canonicalJson([])).toBe('null');
    expect(canonicalJson({ b: [2, null, 'x'], a: { y: '', z: 0 }, c: [] })).toBe(
      '{"a":{"z":0},"b":[2,null,"x"]}',
    );
    expect(canonicalJson([{}, true])).toBe('[null,true]');
    expect(canonicalJson({ k: false })).toBe('{"k":false}');
    expect(() => canonicalJson({ a: [1, Number.NaN] })).toThrow(
      new TypeError('generation field $.a[1] is NaN; only finite numbers are allowed'),
    );
    expect(() => canonicalJson({ f: () => 1 })).toThrow(
      new TypeError('generation field $.f has unsupported type function'),
    );
    expect(() => canonicalJson(Symbol('s'))).toThrow(
      new TypeError('generation field $ has unsupported type symbol'),
    );
  });

  it('treats params: {} and key order as no difference', () => {
    // Pinned twice over (also in generation.test.ts): a changed fingerprint re-embeds every corpus.
    expect(fingerprint({ model: 'text-embedding-3-small', dimensions: 1536 })).toBe(
      fingerprint({ dimensions: 1536, model: 'text-embedding-3-small', params: {} }),
    );
  });
});
