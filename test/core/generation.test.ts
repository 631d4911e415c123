import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson, fingerprint } from '../../src/core/index.js';
import { throwsWith } from '../support/thrown.js';

describe('fingerprint', () => {
  it('is pinned for a fixed generation (a change would silently re-embed every corpus)', () => {
    // Pinned values computed independently: sha256 of the canonical JSON, first 16 hex chars.
    expect(fingerprint({ model: 'text-embedding-3-small', dimensions: 1536 })).toBe(
      '91a019f7509a21c4',
    );
    expect(
      fingerprint({
        model: 'nomic-embed-text',
        dimensions: 768,
        params: { prefix: 'search_document: ', pooling: 'mean' },
      }),
    ).toBe('f4cebe8ec2c45a55');
  });

  it('hashes the canonical JSON encoding with sorted keys', () => {
    const g = { model: 'm', dimensions: 3, params: { b: 2, a: 'x' } };
    expect(canonicalJson(g)).toBe('{"dimensions":3,"model":"m","params":{"a":"x","b":2}}');
    const expected = createHash('sha256').update(canonicalJson(g)).digest('hex').slice(0, 16);
    expect(fingerprint(g)).toBe(expected);
    expect(fingerprint(g)).toMatch(/^[0-9a-f]{16}$/);
  });

  it('does not depend on key order in params', () => {
    const a = fingerprint({ model: 'm', dimensions: 8, params: { x: 1, y: 'two', z: true } });
    const b = fingerprint({ model: 'm', dimensions: 8, params: { z: true, y: 'two', x: 1 } });
    expect(a).toBe(b);
  });

  it('keeps {a: "1\\nb=2"} and {a: "1", b: "2"} apart', () => {
    const joined = fingerprint({ model: 'm', dimensions: 8, params: { a: '1\nb=2' } });
    const separate = fingerprint({ model: 'm', dimensions: 8, params: { a: '1', b: '2' } });
    expect(joined).not.toBe(separate);
  });

  it('treats an absent params and {} the same', () => {
    expect(fingerprint({ model: 'm', dimensions: 8 })).toBe(
      fingerprint({ model: 'm', dimensions: 8, params: {} }),
    );
  });

  it('distinguishes value types and every field', () => {
    const base = { model: 'm', dimensions: 8 };
    const fps = new Set([
      fingerprint(base),
      fingerprint({ ...base, dimensions: 9 }),
      fingerprint({ ...base, model: 'n' }),
      fingerprint({ ...base, params: { a: '1' } }),
      fingerprint({ ...base, params: { a: 1 } }),
      fingerprint({ ...base, params: { a: true } }),
      fingerprint({ ...base, params: { a: 'true' } }),
    ]);
    expect(fps.size).toBe(7);
  });

  it('refuses malformed generations with a message that says what is wrong', () => {
    throwsWith(() => fingerprint({ model: '', dimensions: 8 }), TypeError, /model/);
    throwsWith(() => fingerprint({ model: 'm', dimensions: 0 }), TypeError, /dimensions/);
    throwsWith(() => fingerprint({ model: 'm', dimensions: 1.5 }), TypeError, /dimensions/);
    throwsWith(
      () => fingerprint({ model: 'm', dimensions: 8, params: { a: Number.NaN } }),
      TypeError,
      /finite/,
    );
  });
});
