import { describe, expect, it } from 'vitest';
import {
  EmptyInputError,
  type EncodeFn,
  encodeBatched,
  InvalidVectorError,
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
