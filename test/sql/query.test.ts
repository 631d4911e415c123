import { describe, expect, it } from 'vitest';
import { DimensionMismatchError } from '../../src/core/index.js';
import { checkQuery } from '../../src/sql/index.js';
import { throwsWith } from '../support/thrown.js';

// The checks both backends make before a search reads anything.
describe('checkQuery', () => {
  const base = { gen: 'g', dimensions: 3, limit: 10 };

  it('refuses a query vector of the wrong length, naming the generation', () => {
    expect(() => checkQuery({ ...base, query: [1, 0] })).toThrow(DimensionMismatchError);
    throwsWith(() => checkQuery({ ...base, query: [1, 0] }), DimensionMismatchError, /"g"/);
    expect(() => checkQuery({ ...base, query: [1, 0, 0] })).not.toThrow();
  });

  it('refuses a limit that is not a positive integer; a text-only search gives no vector', () => {
    for (const limit of [0, -1, 1.5, Number.NaN, 2 ** 60])
      expect(() => checkQuery({ ...base, limit }), String(limit)).toThrow(RangeError);
    expect(() => checkQuery({ ...base, limit: 1 })).not.toThrow();
  });

  it('throws the abort reason of a signal already aborted', () => {
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    throwsWith(() => checkQuery({ ...base, signal: ac.signal }), Error, 'stop');
  });
});
