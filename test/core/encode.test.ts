import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import {
  EmptyInputError,
  type EncodeFn,
  EncoderConfigError,
  encodeBatched,
  InvalidVectorError,
  isProviderFailure,
  PermanentEncodeError,
  ProviderFailureError,
  TransientEncodeError,
  VecfillError,
} from '../../src/core/index.js';
import { rejection, rejectsWith } from '../support/thrown.js';

const vec = (x: number) => [x, 1, 0];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('encodeBatched', () => {
  it('returns one Float32Array per input in input order under out-of-order completion', async () => {
    const texts = Array.from({ length: 20 }, (_, i) => `t${i}`);
    // Earlier batches finish later than later ones.
    const encode: EncodeFn = async (batch) => {
      const first = Number(batch[0]!.slice(1));
      await sleep(40 - first * 2);
      return batch.map((t) => vec(Number(t.slice(1))));
    };
    const out = await encodeBatched(encode, texts, { batchSize: 3, concurrency: 4 });
    expect(out).toHaveLength(20);
    // No holes: `forEach` below would skip them.
    expect(Array.from(out, (v) => v instanceof Float32Array)).toEqual(Array(20).fill(true));
    out.forEach((v, i) => {
      expect(v).toBeInstanceOf(Float32Array);
      expect(v[0]).toBe(i);
    });
  });

  it('keeps at most `concurrency` calls in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    const encode: EncodeFn = async (batch) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await sleep(5);
      inFlight--;
      return batch.map(() => vec(1));
    };
    await encodeBatched(
      encode,
      Array.from({ length: 30 }, (_, i) => `t${i}`),
      { batchSize: 2, concurrency: 3 },
    );
    expect(peak).toBe(3);
  });

  it('stops launching batches after the first failure (counting the calls)', async () => {
    let calls = 0;
    const encode: EncodeFn = async (batch) => {
      calls++;
      if (batch[0] === 't2') {
        await sleep(1);
        throw new Error('provider down');
      }
      await sleep(20);
      return batch.map(() => vec(1));
    };
    const texts = Array.from({ length: 40 }, (_, i) => `t${i}`);
    await rejectsWith(
      encodeBatched(encode, texts, { batchSize: 2, concurrency: 2 }),
      Error,
      'provider down',
    );
    // Batches t0 and t2 were in flight; the failure of t2 must stop the loop
    // that was waiting for a free slot, so no third call is made.
    expect(calls).toBe(2);
    await sleep(30);
    expect(calls).toBe(2);
  });

  it('refuses NaN, Infinity and zero-norm vectors with InvalidVectorError naming the input', async () => {
    const texts = ['a', 'b', 'c', 'd'];
    const bad =
      (v: number[], at: number): EncodeFn =>
      async (batch) =>
        batch.map((t) => (t === texts[at] ? v : vec(1)));
    const nan = await encodeBatched(bad([1, Number.NaN, 0], 2), texts).catch((e: unknown) => e);
    expect(nan).toBeInstanceOf(InvalidVectorError);
    expect(nan).toMatchObject({ index: 2, component: 1, reason: 'non-finite' });
    const inf = await encodeBatched(bad([Number.POSITIVE_INFINITY, 0, 0], 1), texts, {
      batchSize: 3,
    }).catch((e: unknown) => e);
    expect(inf).toMatchObject({ index: 1, component: 0, reason: 'non-finite' });
    const overflow = await encodeBatched(bad([1e39, 0, 0], 3), texts, { batchSize: 2 }).catch(
      (e: unknown) => e,
    );
    expect(overflow).toMatchObject({ index: 3, reason: 'non-finite' });
    const zero = await encodeBatched(bad([0, 0, 0], 0), texts).catch((e: unknown) => e);
    expect(zero).toMatchObject({ index: 0, reason: 'zero-norm' });
  });

  it('refuses a wrong vector count and wrong dimensions', async () => {
    const short: EncodeFn = async (batch) => batch.slice(1).map(() => vec(1));
    const err = await encodeBatched(short, ['a', 'b', 'c', 'd'], { batchSize: 2 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InvalidVectorError);
    expect(err).toMatchObject({ reason: 'count' });
    const ragged: EncodeFn = async (batch) => batch.map((_, i) => (i === 1 ? [1, 2] : vec(1)));
    expect(await encodeBatched(ragged, ['a', 'b']).catch((e: unknown) => e)).toMatchObject({
      index: 1,
      reason: 'dimensions',
    });
    const ok: EncodeFn = async (batch) => batch.map(() => vec(1));
    expect(
      await encodeBatched(ok, ['a'], { dimensions: 4 }).catch((e: unknown) => e),
    ).toMatchObject({ reason: 'dimensions' });
    const notArray: EncodeFn = async () => 'nope' as unknown as number[][];
    expect(await encodeBatched(notArray, ['a']).catch((e: unknown) => e)).toMatchObject({
      reason: 'count',
    });
  });

  it('refuses blank input with EmptyInputError before any call', async () => {
    let calls = 0;
    const encode: EncodeFn = async (batch) => {
      calls++;
      return batch.map(() => vec(1));
    };
    const err = await encodeBatched(encode, ['fine', 'also fine', ' \u200b '], {
      batchSize: 1,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EmptyInputError);
    expect(err).toMatchObject({ index: 2 });
    expect(calls).toBe(0);
  });

  it('stops when the signal aborts and passes the signal to the encoder', async () => {
    const controller = new AbortController();
    let calls = 0;
    let sawAbort = false;
    const encode: EncodeFn = (batch, { signal }) =>
      new Promise((resolve) => {
        calls++;
        const t = setTimeout(() => resolve(batch.map(() => vec(1))), 1000);
        signal?.addEventListener('abort', () => {
          sawAbort = true;
          clearTimeout(t);
          resolve(batch.map(() => vec(1)));
        });
      });
    const started = encodeBatched(
      encode,
      Array.from({ length: 10 }, (_, i) => `t${i}`),
      {
        batchSize: 1,
        concurrency: 2,
        signal: controller.signal,
      },
    );
    await sleep(10);
    controller.abort(new Error('user cancelled'));
    await rejectsWith(started, Error, 'user cancelled');
    expect(calls).toBe(2);
    expect(sawAbort).toBe(true);
    const pre = new AbortController();
    pre.abort();
    // Aborted without a reason: the signal's own AbortError, not a lost error.
    const aborted = await rejection(encodeBatched(encode, ['x'], { signal: pre.signal }));
    expect(aborted.name).toBe('AbortError');
    expect(calls).toBe(2);
  });

  it('returns an empty array for no input without calling the encoder', async () => {
    let calls = 0;
    const out = await encodeBatched(async () => {
      calls++;
      return [];
    }, []);
    expect(out).toEqual([]);
    expect(calls).toBe(0);
  });
});

describe('encodeBatched: what it refuses and says', () => {
  const returning =
    (make: (batch: string[]) => unknown): EncodeFn =>
    async (batch) =>
      make(batch) as ArrayLike<number>[];

  it('names the option it refuses', async () => {
    const ok: EncodeFn = async (batch) => batch.map(() => vec(1));
    expect((await rejection(encodeBatched(ok, ['a'], { batchSize: 0 }))).message).toBe(
      'encodeBatched: batchSize must be a positive integer, got 0',
    );
    expect((await rejection(encodeBatched(ok, ['a'], { concurrency: 1.5 }))).message).toBe(
      'encodeBatched: concurrency must be a positive integer, got 1.5',
    );
  });

  it('refuses an input that is not a string before any call', async () => {
    let calls = 0;
    const encode: EncodeFn = async (batch) => {
      calls++;
      return batch.map(() => vec(1));
    };
    const err = await rejection(encodeBatched(encode, ['a', 42 as unknown as string]));
    expect(err).toBeInstanceOf(EmptyInputError);
    expect(err).toMatchObject({ code: 'EMPTY_INPUT', index: 1 });
    expect(err.message).toBe(
      'text at index 1 is blank (empty, whitespace or invisible characters only); blank text is never encoded',
    );
    expect(calls).toBe(0);
  });

  it("tells the encoder the texts are documents unless it says 'query'", async () => {
    const kinds: unknown[] = [];
    const encode: EncodeFn = async (batch, opts) => {
      kinds.push(opts.kind);
      return batch.map(() => vec(1));
    };
    await encodeBatched(encode, ['a']);
    await encodeBatched(encode, ['a'], { kind: 'query' });
    expect(kinds).toEqual(['document', 'query']);
  });

  it('makes one call per full batch, never an empty one', async () => {
    const sizes: number[] = [];
    const encode: EncodeFn = async (batch) => {
      sizes.push(batch.length);
      return batch.map(() => vec(1));
    };
    await encodeBatched(encode, ['a', 'b', 'c', 'd'], { batchSize: 2 });
    expect(sizes).toEqual([2, 2]);
  });

  it('leaves no listener on the caller’s signal once it returns or fails', async () => {
    const controller = new AbortController();
    const ok: EncodeFn = async (batch) => batch.map(() => vec(1));
    await encodeBatched(ok, ['a', 'b'], { signal: controller.signal });
    await rejection(
      encodeBatched(
        returning(() => 'nope'),
        ['a'],
        { signal: controller.signal },
      ),
    );
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('an abort without a reason rejects with an AbortError', async () => {
    const controller = new AbortController();
    const hanging: EncodeFn = (_batch, { signal }) =>
      new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason)));
    const started = encodeBatched(hanging, ['a'], { signal: controller.signal });
    await sleep(5);
    controller.abort(null);
    const err = await started.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DOMException);
    expect(err).toMatchObject({ name: 'AbortError', message: 'aborted' });
  });

  it('says what came back when the count is wrong', async () => {
    const err = await rejection(
      encodeBatched(
        returning((b) => b.slice(1).map(() => vec(1))),
        ['a', 'b', 'c', 'd'],
        {
          batchSize: 2,
        },
      ),
    );
    expect(err.message).toBe(
      'encoder returned an invalid vector for input 0: expected 2 vectors for the batch starting at 0, got 1 vectors',
    );
    expect(isProviderFailure(err)).toBe(true);
  });

  it('refuses null, strings, objects without a length and empty vectors, naming the input', async () => {
    const at1 = (v: unknown) => returning((b) => b.map((_, i) => (i === 1 ? v : vec(1))));
    for (const [v, got] of [
      [null, 'null'],
      ['abc', 'string'],
      [{}, 'object'],
      [7, 'number'],
    ] as const) {
      const err = await rejection(encodeBatched(at1(v), ['a', 'b', 'c']));
      expect(err).toBeInstanceOf(InvalidVectorError);
      expect(err).toMatchObject({ index: 1, reason: 'not-a-vector' });
      expect(err.message).toBe(
        `encoder returned an invalid vector for input 1: expected an array of numbers, got ${got}`,
      );
    }
    const empty = await rejection(
      encodeBatched(
        returning(() => [[]]),
        ['a'],
      ),
    );
    expect(empty).toMatchObject({ index: 0, reason: 'dimensions' });
    expect(empty.message).toBe(
      'encoder returned an invalid vector for input 0: expected 0 dimensions, got 0',
    );
    const ragged = await rejection(encodeBatched(at1([1, 2]), ['a', 'b']));
    expect(ragged.message).toBe(
      'encoder returned an invalid vector for input 1: expected 3 dimensions, got 2',
    );
  });

  it('refuses a component that is not a number, even one a number can be read from', async () => {
    const err = await rejection(
      encodeBatched(
        returning(() => [[1, '2', 3]]),
        ['a'],
      ),
    );
    expect(err).toBeInstanceOf(InvalidVectorError);
    expect(err).toMatchObject({ index: 0, component: 1, reason: 'not-a-vector' });
    expect(err.message).toBe(
      'encoder returned an invalid vector for input 0: component 1 is string, not a number',
    );
  });

  it('says when a finite component overflows float32', async () => {
    const over = await rejection(
      encodeBatched(
        returning(() => [[1e39, 1]]),
        ['a'],
      ),
    );
    expect(over.message).toBe(
      'encoder returned an invalid vector for input 0: component 0 is 1e+39 (overflows float32)',
    );
    const nan = await rejection(
      encodeBatched(
        returning(() => [[1, Number.NaN]]),
        ['a'],
      ),
    );
    expect(nan.message).toBe('encoder returned an invalid vector for input 0: component 1 is NaN');
  });

  it('a batch of two unusable vectors is the provider failing, one of two is the input’s', async () => {
    const both = await rejection(
      encodeBatched(
        returning(() => [
          [0, 0],
          [0, 0],
        ]),
        ['a', 'b'],
      ),
    );
    expect(both).toBeInstanceOf(ProviderFailureError);
    expect(both).toMatchObject({ code: 'PROVIDER_FAILURE', consecutive: 2 });
    expect(both.cause).toBeInstanceOf(InvalidVectorError);
    expect(both.message).toBe(
      'the encoder returned an unusable vector for every one of the 2 inputs of a batch (first: encoder returned an invalid vector for input 0: the vector is all zeros, so it has no direction to compare); this is the provider failing, not the documents, so nothing was skipped',
    );
    const one = await rejection(
      encodeBatched(
        returning(() => [
          [1, 0],
          [0, 0],
        ]),
        ['a', 'b'],
      ),
    );
    expect(one).toMatchObject({ index: 1, reason: 'zero-norm' });
  });
});

describe('encoder errors', () => {
  it('carry their code, their fields and a cause only when given one', () => {
    const cause = new Error('socket hang up');
    const permanent = new PermanentEncodeError('no known word', { status: 400, cause });
    expect(permanent).toMatchObject({ code: 'PERMANENT_ENCODE', status: 400, cause });
    expect(permanent).toBeInstanceOf(VecfillError);
    const bare = new PermanentEncodeError('no known word');
    expect(bare.status).toBeUndefined();
    expect(Object.hasOwn(bare, 'cause')).toBe(false);

    const transient = new TransientEncodeError('rate limited', 429, cause, 1500);
    expect(transient).toMatchObject({
      code: 'TRANSIENT_ENCODE',
      message: 'rate limited',
      status: 429,
      cause,
      retryAfterMs: 1500,
    });
    expect(Object.hasOwn(new TransientEncodeError('down'), 'cause')).toBe(false);

    const config = new EncoderConfigError('bad key', { status: 401 });
    expect(config).toMatchObject({
      code: 'ENCODER_CONFIG',
      status: 401,
      name: 'EncoderConfigError',
    });
    expect(new EncoderConfigError('bad model').status).toBeUndefined();

    const provider = new ProviderFailureError('20 in a row', 20, cause);
    expect(provider).toMatchObject({ code: 'PROVIDER_FAILURE', consecutive: 20, cause });
    expect(Object.hasOwn(new ProviderFailureError('x', 2), 'cause')).toBe(false);

    expect(new InvalidVectorError(3, 'zero-norm', 'all zeros')).toMatchObject({
      code: 'INVALID_VECTOR',
      index: 3,
      reason: 'zero-norm',
      component: undefined,
    });
    expect(new EmptyInputError(2, 'query').message).toMatch(/^query at index 2 is blank/);
  });

  it('isProviderFailure: the provider’s failures, and a wrong count, but not one input’s', () => {
    expect(isProviderFailure(new TransientEncodeError('down'))).toBe(true);
    expect(isProviderFailure(new EncoderConfigError('bad key'))).toBe(true);
    expect(isProviderFailure(new ProviderFailureError('all bad', 4))).toBe(true);
    expect(isProviderFailure(new InvalidVectorError(0, 'count', 'short'))).toBe(true);
    expect(isProviderFailure(new InvalidVectorError(0, 'dimensions', 'ragged'))).toBe(false);
    expect(isProviderFailure(new PermanentEncodeError('no known word'))).toBe(false);
    expect(isProviderFailure(new Error('other'))).toBe(false);
  });
});
