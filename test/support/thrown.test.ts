import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { caught, rejection, rejectsWith, throwsWith } from './thrown.js';

// Vitest 4's `await expect(p).rejects.toThrow('text')` passes when `p`
// rejects with `undefined`, `null`, a string containing 'text' or any object
// with such a `message`; so do `toThrow(/re/)`, `toThrowError(…)` and
// `toThrow()` (which passes on any rejection at all). A test written that way
// cannot see code that lost its error. The same holds without `rejects`:
// `expect(fn).toThrow('text')` passes when `fn` throws `undefined`.
// `toThrow(SomeClass)` does insist on an instance of the class, and
// `toThrow(new SomeError('message'))` on an error with that message. So the
// tests say what they expect with `rejectsWith(p, Class, message)` or
// `throwsWith(fn, Class, message)` (test/support/thrown.ts), and this file
// keeps new unsafe forms out.

const USE_INSTEAD =
  "use `await rejectsWith(p, ErrorClass, 'message' | /re/)` or " +
  "`throwsWith(fn, ErrorClass, 'message' | /re/)` from test/support/thrown.ts (or " +
  '`rejection(p)` / `caught(fn)` and checks of its class and message): `toThrow` with a ' +
  'string, a RegExp, a variable or no argument also passes when the promise rejects with ' +
  '(or the function throws) undefined, null or a bare string';

/** Index just past the `)` that closes the `(` before `from`. */
function closing(source: string, from: number): number {
  let depth = 1;
  let i = from;
  while (depth > 0 && i < source.length) {
    if (source[i] === '(') depth++;
    else if (source[i] === ')') depth--;
    i++;
  }
  return i;
}

/**
 * The `toThrow(…)` / `toThrowError(…)` calls of `source`, after `rejects` or
 * not (across line breaks, comments left out; `.not.toThrow()` is fine),
 * whose argument is neither a bare class name nor `new SomeError(…)`: the
 * forms that pass on a lost error. Returns `line: call` strings.
 */
function unsafeToThrow(source: string): string[] {
  // Comments name the trap in prose; blank them out, keeping line numbers.
  const code = source
    .replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' '))
    .replace(/^\s*\/\/.*$/gm, '');
  const found: string[] = [];
  for (const m of code.matchAll(/(\.\s*not)?\.\s*(?:rejects\s*\.\s*)?toThrow(?:Error)?\s*\(/g)) {
    if (m[1]) continue; // .not.toThrow(): asserts that nothing is thrown
    const start = m.index + m[0].length;
    const end = closing(code, start);
    const arg = code
      .slice(start, end - 1)
      .trim()
      .replace(/,$/, '')
      .trim();
    if (/^[A-Z][A-Za-z0-9_]*$/.test(arg)) continue; // a class: insists on an instance
    if (/^new [A-Z][A-Za-z0-9_]*\(/.test(arg)) continue; // an error: insists on its message
    const line = code.slice(0, m.index).split('\n').length;
    found.push(`${line}: ${m[0].replace(/\s+/g, '')}${arg.replace(/\s+/g, ' ')})`);
  }
  return found;
}

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return testFiles(path);
    return /\.(ts|mts|js|mjs)$/.test(e.name) ? [path] : [];
  });
}

describe('rejectsWith', () => {
  class CodedError extends Error {
    readonly code = 'CODED';
  }

  it('returns the error when the promise rejects with the class and the message', async () => {
    const e = await rejectsWith(
      Promise.reject(new CodedError('the boom text')),
      CodedError,
      'boom',
    );
    expect(e.code).toBe('CODED');
    expect((await rejectsWith(Promise.reject(new RangeError('n = 0')), Error, /n = \d/)).name).toBe(
      'RangeError',
    );
  });

  it('fails on every rejection rejects.toThrow lets through, and on a resolved promise', async () => {
    const lost = [undefined, null, 'boom text', { message: 'boom text' }];
    for (const value of lost) {
      const failure = await rejection(rejectsWith(Promise.reject(value), Error, 'boom'));
      expect(failure.message).toMatch(/expected .* to be an instance of Error/);
    }
    const resolved = await rejection(rejectsWith(Promise.resolve('boom'), Error, 'boom'));
    expect(resolved.message).toBe('expected the promise to reject');
  });

  it('fails on another class or another message', async () => {
    const otherClass = await rejection(
      rejectsWith(Promise.reject(new Error('boom')), CodedError, 'boom'),
    );
    expect(otherClass.message).toMatch(/instance of CodedError/);
    const otherText = await rejection(rejectsWith(Promise.reject(new Error('zzz')), Error, 'boom'));
    expect(otherText.message).toMatch(/expected 'zzz' to contain 'boom'/);
    const otherMatch = await rejection(rejectsWith(Promise.reject(new Error('zzz')), Error, /b/));
    expect(otherMatch.message).toMatch(/expected 'zzz' to match/);
  });

  it('caught insists on a thrown Error', () => {
    expect(caught(() => JSON.parse('{')).name).toBe('SyntaxError');
    const thrownUndefined = caught(() =>
      caught(() => {
        throw undefined;
      }),
    );
    expect(thrownUndefined.message).toMatch(/to be an instance of Error/);
    expect(caught(() => caught(() => 1)).message).toBe('expected a throw');
  });

  it('throwsWith insists on the class and the message of what a function throws', () => {
    const e = throwsWith(() => JSON.parse('{'), SyntaxError, /JSON/);
    expect(e.name).toBe('SyntaxError');
    const lost = caught(() =>
      throwsWith(
        () => {
          throw 'a JSON string';
        },
        Error,
        'JSON',
      ),
    );
    expect(lost.message).toMatch(/to be an instance of Error/);
    const other = caught(() => throwsWith(() => JSON.parse('{'), RangeError, /JSON/));
    expect(other.message).toMatch(/instance of RangeError/);
  });
});

describe('no toThrow that passes on a lost error', () => {
  it('the scanner finds the unsafe forms, across lines, and lets a class through', () => {
    const source = [
      "await expect(p).rejects.toThrow('text');",
      'await expect(p).rejects.toThrow(/re/);',
      'await expect(p).rejects.toThrow();',
      'await expect(p)',
      '  .rejects.toThrowError(message);',
      'await expect(',
      '  fill(store, "g", encode),',
      ').rejects.toThrow(',
      "  'spread over lines',",
      ');',
      'await expect(p).rejects.toThrow(RangeError);',
      'await expect(p).rejects.toThrow(',
      '  UnknownGenerationError,',
      ');',
      "// a comment may say rejects.toThrow('text')",
      "/* and so may a block: rejects.toThrow('text') */",
      "expect(() => f()).toThrow('sync text');",
      'expect(() => f()).toThrow(TypeError);',
      "expect(() => f()).toThrow(new TypeError('exactly this'));",
      'expect(() => f()).not.toThrow();',
      'expect(() => f())',
      '  .not.toThrow();',
    ].join('\n');
    expect(unsafeToThrow(source)).toEqual([
      "1: .rejects.toThrow('text')",
      '2: .rejects.toThrow(/re/)',
      '3: .rejects.toThrow()',
      '5: .rejects.toThrowError(message)',
      "8: .rejects.toThrow('spread over lines')",
      "17: .toThrow('sync text')",
    ]);
  });

  it('no test under test/ uses one', () => {
    const root = join(import.meta.dirname, '..');
    // This file is left out: its scanner test spells the unsafe forms on purpose.
    const files = testFiles(root).filter((f) => f !== import.meta.filename);
    expect(files.length).toBeGreaterThan(50); // the walk really reached the tests
    const found = files.flatMap((f) =>
      unsafeToThrow(readFileSync(f, 'utf8')).map((hit) => `test/${relative(root, f)}:${hit}`),
    );
    expect(found, USE_INSTEAD).toEqual([]);
  });
});
