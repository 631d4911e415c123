import { expect } from 'vitest';

/**
 * The error `p` rejects with. Vitest's `rejects.toThrow('text')` also passes
 * when a promise rejects with `undefined`, so code that lost its error would
 * go unnoticed: this insists on an Error. `p` may be a store call typed
 * `Awaitable<T>`; a value that is not a promise counts as resolved.
 */
export async function rejection(p: unknown): Promise<Error> {
  const outcome = await Promise.resolve(p).then(
    () => ({ resolved: true as const }),
    (error: unknown) => ({ resolved: false as const, error }),
  );
  if (outcome.resolved) throw new Error('expected the promise to reject');
  expect(outcome.error).toBeInstanceOf(Error);
  return outcome.error as Error;
}

/** The error `fn` throws, insisting on an Error (see `rejection`). */
export function caught(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(Error);
    return e as Error;
  }
  throw new Error('expected a throw');
}

/** An error class, abstract or not, whatever its constructor takes. */
export type ErrorClass<E extends Error> = abstract new (...args: never[]) => E;

/**
 * What `rejects.toThrow(message)` seems to check and does not: that `p`
 * rejects with an instance of `type` whose message contains `message` (a
 * string) or matches it (a RegExp). Vitest 4's `rejects.toThrow('text')`,
 * `toThrow(/re/)` and `toThrow()` all pass on a rejection with `undefined`,
 * `null` or a bare string (test/support/thrown.test.ts). Returns the error
 * for further checks (its `code`, its `cause`).
 */
export async function rejectsWith<E extends Error>(
  p: unknown,
  type: ErrorClass<E>,
  message: string | RegExp,
): Promise<E> {
  const error = await rejection(p);
  expect(error).toBeInstanceOf(type);
  if (typeof message === 'string') expect(error.message).toContain(message);
  else expect(error.message).toMatch(message);
  return error as E;
}

/**
 * `rejectsWith` for a function that throws: Vitest's `toThrow('text')` and
 * `toThrow(/re/)` also pass when `fn` throws `undefined`, `null` or a string.
 */
export function throwsWith<E extends Error>(
  fn: () => unknown,
  type: ErrorClass<E>,
  message: string | RegExp,
): E {
  const error = caught(fn);
  expect(error).toBeInstanceOf(type);
  if (typeof message === 'string') expect(error.message).toContain(message);
  else expect(error.message).toMatch(message);
  return error as E;
}
