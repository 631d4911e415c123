/**
 * The small machinery of `follow`: each generation's worker with its wake-up
 * latch, and the waits and conversions its loop needs.
 */

/** A worker's wake-up flag: `set` marks work, `wait` resolves once work is marked (and clears it). */
export class Latch {
  #set = false;
  #waiter: (() => void) | undefined;

  set(): void {
    this.#set = true;
    this.#waiter?.();
  }

  wait(signal: AbortSignal): Promise<void> {
    if (this.#set) {
      this.#set = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.#waiter = undefined;
        reject(signal.reason);
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiter = () => {
        this.#waiter = undefined;
        this.#set = false;
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
    });
  }
}

/** One generation's loop: a latch (starts set: the first pass runs at once) and its own stop. */
export class Worker {
  readonly latch = new Latch();
  readonly #controller = new AbortController();
  readonly signal: AbortSignal;

  constructor(parent: AbortSignal) {
    this.latch.set();
    this.signal = this.#controller.signal;
    parent.addEventListener('abort', () => this.abort(), { once: true });
  }

  abort(): void {
    this.#controller.abort();
  }
}

export function positive(n: number, name: string): number {
  if (!(n > 0) || !Number.isFinite(n))
    throw new RangeError(`follow: ${name} must be a positive number, got ${n}`);
  return n;
}

/** A promise that never rejects: its value or its error. */
export function settle<T>(p: Promise<T>): Promise<{ value: T } | { error: unknown }> {
  return p.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

export function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
