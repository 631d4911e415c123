import { describe, expect, it } from 'vitest';
import { isBlank } from '../../src/core/index.js';

describe('isBlank', () => {
  it('treats empty and whitespace-only text as blank', () => {
    expect(isBlank('')).toBe(true);
    expect(isBlank(' \t\r\n\u00a0\u2003\u3000')).toBe(true);
  });

  it('treats invisible format characters as blank: zero-width space, joiners, BOM, soft hyphen', () => {
    expect(isBlank('\u200b')).toBe(true);
    expect(isBlank('\u200c\u200d')).toBe(true);
    expect(isBlank('\ufeff')).toBe(true);
    expect(isBlank('\u00ad')).toBe(true);
    expect(isBlank('\u2060\u200e\u200f')).toBe(true);
    expect(isBlank(' \u200b \ufeff\n')).toBe(true);
  });

  it('treats control characters as blank', () => {
    expect(isBlank('\u0000\u0001\u0007\u001b\u007f\u0085')).toBe(true);
  });

  it('treats visible blank-looking characters U+2800 and U+3164 as content', () => {
    expect(isBlank('\u2800')).toBe(false);
    expect(isBlank('\u3164')).toBe(false);
    expect(isBlank(' \u2800 ')).toBe(false);
  });

  it('treats any letter, digit, symbol or emoji as content', () => {
    expect(isBlank('a')).toBe(false);
    expect(isBlank('\u200b7\u200b')).toBe(false);
    expect(isBlank('🙂')).toBe(false);
    expect(isBlank('-')).toBe(false);
  });
});
