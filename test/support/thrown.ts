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
