import { afterEach, describe, expect, it } from 'vitest';
import {
  type EncodeFn,
  type FollowEvent,
  type FollowOptions,
  type FollowSummary,
  follow,
  VecfillError,
  type WaitForChangeOptions,
} from '../../src/core/index.js';
import { embed, hashEncoder } from '../support/hash-encoder.js';
import { MemoryStore, tick } from '../support/memory-store.js';

type Event = FollowEvent<string, string>;

/** Resolves once `pred` holds, polling every 10 ms; fails after `ms`. */
async function until(pred: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A MemoryStore that counts scans and generation reads, can fail them, and can prune. */
class CountingStore extends MemoryStore {
  scans = 0;
  limits: number[] = [];
  reads = 0;
  /** Thrown (then removed) by the next liveGenerations calls, in order. */
  readFailures: unknown[] = [];
  override async pendingForGeneration(gen: string, limit: number) {
    this.scans++;
    this.limits.push(limit);
    return super.pendingForGeneration(gen, limit);
  }
  override async liveGenerations(): Promise<string[]> {
    this.reads++;
    await tick();
    if (this.readFailures.length > 0) throw this.readFailures.shift();
    return [...this.live];
  }
}

class PruningStore extends CountingStore {
  prunes = 0;
  /** Documents `prune` reports as dropped on its next call. */
  toPrune = 0;
  async prune(): Promise<number> {
    await tick();
    this.prunes++;
    const n = this.toPrune;
    this.toPrune = 0;
    return n;
  }
}

const running: { stop: AbortController; done: Promise<unknown> }[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) {
    r.stop.abort();
    await r.done.catch(() => {});
  }
});

function start(
  store: MemoryStore,
  opts: Partial<FollowOptions<string, string>> = {},
): {
  events: Event[];
  stop: AbortController;
  done: Promise<FollowSummary<string>>;
  notify: () => void;
} {
  const events: Event[] = [];
  const stop = new AbortController();
  let notify = () => {};
  const { encode } = hashEncoder(8);
  const done = follow(store, {
    encoderFor: () => encode,
    signal: stop.signal,
    pollMs: 10_000,
    subscribe: (fn) => {
      notify = fn;
      return () => {};
    },
    onEvent: (e) => events.push(e),
    ...opts,
  });
  running.push({ stop, done });
  return { events, stop, done, notify: () => notify() };
}

const of = <T extends Event['type']>(events: Event[], type: T) =>
  events.filter((e) => e.type === type) as Extract<Event, { type: T }>[];

describe('follow: options', () => {
  const store = new MemoryStore();
  const encoderFor = () => hashEncoder(8).encode;
  it.each([
    [{ pollMs: 0 }, 'follow: pollMs must be a positive number, got 0'],
    [{ pollMs: -1 }, 'follow: pollMs must be a positive number, got -1'],
    [
      { rescanMs: Number.POSITIVE_INFINITY },
      'follow: rescanMs must be a positive number, got Infinity',
    ],
    [{ rescanMs: Number.NaN }, 'follow: rescanMs must be a positive number, got NaN'],
    [{ backoff: { initialMs: 0 } }, 'follow: backoff.initialMs must be a positive number, got 0'],
    [{ pruneEveryMs: -1 }, 'follow: pruneEveryMs must be >= 0, got -1'],
    [{ pruneEveryMs: Number.NaN }, 'follow: pruneEveryMs must be >= 0, got NaN'],
  ])('refuses %j with a RangeError that names the option', async (bad, message) => {
    const err = await follow(store, { encoderFor, ...bad }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RangeError);
    expect((err as Error).message).toBe(message);
  });

  it('accepts pruneEveryMs 0 and returns at once, touching nothing, when the signal is already aborted', async () => {
    const store = new CountingStore();
    store.live = ['g'];
    const stop = new AbortController();
    stop.abort();
    let asked = 0;
    const summary = await follow(store, {
      encoderFor: () => {
        asked++;
        return hashEncoder(8).encode;
      },
      signal: stop.signal,
      pruneEveryMs: 0,
    });
    expect(summary).toEqual({
      documents: 0,
      chunks: 0,
      skipped: 0,
      stale: 0,
      missing: 0,
      failed: [],
    });
    expect({ asked, reads: store.reads, scans: store.scans }).toEqual({
      asked: 0,
      reads: 0,
      scans: 0,
    });
  });

  it('passes scanBatch, split, batch and concurrency to every pass', async () => {
    const store = new CountingStore();
    store.live = ['g'];
    for (let i = 0; i < 6; i++) store.put(`d${i}`, `text ${i}`);
    store.put('long', 'word '.repeat(200)); // 1,000 characters
    const sizes: number[] = [];
    let inFlight = 0;
    let most = 0;
    const encode: EncodeFn = async (texts) => {
      inFlight++;
      most = Math.max(most, inFlight);
      sizes.push(texts.length);
      await pause(15);
      inFlight--;
      return texts.map((t) => embed(t, 8));
    };
    const { events } = start(store, {
      encoderFor: () => encode,
      scanBatch: 3,
      split: { maxChars: 100 },
      batch: { batchSize: 2 },
      concurrency: 2,
    });
    await until(() => of(events, 'caught-up').length > 0);
    expect(store.limits[0]).toBe(3);
    expect(Math.max(...sizes)).toBe(2);
    expect(most).toBe(2);
    expect(store.saves.find((s) => s.doc === 'long')!.chunks).toBeGreaterThanOrEqual(10);
  });

  it('asks encoderFor once per generation, not once per pass', async () => {
    const store = new CountingStore();
    store.live = ['g'];
    let asked = 0;
    const { encode } = hashEncoder(8);
    const { events, notify } = start(store, {
      encoderFor: () => {
        asked++;
        return encode;
      },
    });
    await until(() => of(events, 'caught-up').length === 1);
    store.put('a', 'alpha');
    notify();
    await until(() => store.covered('g', 'a') && store.scans >= 3);
    expect(asked).toBe(1);
  });

  it('calls onProgress with the generation', async () => {
    const store = new MemoryStore();
    store.live = ['g'];
    store.put('a', 'alpha');
    const seen: [string, number][] = [];
    const { events } = start(store, { onProgress: (gen, p) => seen.push([gen, p.documents]) });
    await until(() => of(events, 'caught-up').length > 0);
    expect(seen.at(-1)).toEqual(['g', 1]);
  });
});

describe('follow: backoff', () => {
  it('retries a failing read of the generations with exponential, jittered, capped delays', async () => {
    const store = new CountingStore();
    store.live = ['g'];
    store.readFailures = [1, 2, 3, 4, 5].map((i) => new Error(`down ${i}`));
    const { events } = start(store, { backoff: { initialMs: 8, maxMs: 40 } });
    await until(() => of(events, 'generations').length > 0);
    const retries = of(events, 'retrying');
    expect(retries.map((r) => [r.attempt, r.error.message, r.generation])).toEqual([
      [1, 'down 1', undefined],
      [2, 'down 2', undefined],
      [3, 'down 3', undefined],
      [4, 'down 4', undefined],
      [5, 'down 5', undefined],
    ]);
    // attempt n waits between half and all of min(40, 8 * 2^(n-1)).
    const caps = [8, 16, 32, 40, 40];
    retries.forEach((r, i) => {
      expect(r.delayMs).toBeGreaterThanOrEqual(caps[i]! / 2);
      expect(r.delayMs).toBeLessThanOrEqual(caps[i]!);
    });
    expect(events.at(-1)?.type === 'generations' || of(events, 'generations').length === 1).toBe(
      true,
    );
  });

  it('jitters: the delays are not all the lower bound', async () => {
    const store = new CountingStore();
    store.live = ['g'];
    store.readFailures = Array.from({ length: 8 }, () => new Error('down'));
    const { events } = start(store, { backoff: { initialMs: 40, maxMs: 40 } });
    await until(() => of(events, 'generations').length > 0);
    const delays = of(events, 'retrying').map((r) => r.delayMs);
    expect(delays).toHaveLength(8);
    expect(delays.some((d) => d > 21)).toBe(true);
  });

  it('waits as long as a Retry-After asks, capped at maxMs, and ignores one shorter than the backoff or not a number', async () => {
    const store = new CountingStore();
    store.live = ['g'];
    const asking = (retryAfterMs: unknown) => Object.assign(new Error('429'), { retryAfterMs });
    store.readFailures = [asking(150), asking(5_000), asking(1), asking('150'), undefined];
    const { events } = start(store, { backoff: { initialMs: 10, maxMs: 200 } });
    await until(() => of(events, 'generations').length > 0);
    const retries = of(events, 'retrying');
    expect(retries.map((r) => r.attempt)).toEqual([1, 2, 3, 4, 5]);
    expect(retries[0]!.delayMs).toBe(150);
    expect(retries[1]!.delayMs).toBe(200);
    expect(retries[2]!.delayMs).toBeGreaterThanOrEqual(20);
    expect(retries[2]!.delayMs).toBeLessThanOrEqual(40);
    expect(retries[3]!.delayMs).toBeGreaterThanOrEqual(40);
    expect(retries[3]!.delayMs).toBeLessThanOrEqual(80);
    // A rejection with no error at all is still reported as an Error.
    expect(retries[4]!.error).toBeInstanceOf(Error);
    expect(retries[4]!.error.message).toBe('undefined');
  });

  it('waits the backoff before a failed pass runs again, and an abort cuts the wait short', async () => {
    const store = new MemoryStore();
    store.live = ['g'];
    store.put('a', 'alpha');
    const calls: number[] = [];
    const encode: EncodeFn = async () => {
      calls.push(Date.now());
      throw new VecfillError('TRANSIENT_ENCODE', 'HTTP 503');
    };
    const { events, stop, done } = start(store, {
      encoderFor: () => encode,
      backoff: { initialMs: 120, maxMs: 120 },
    });
    await until(() => calls.length >= 2);
    const first = of(events, 'retrying')[0]!;
    expect(first.generation).toBe('g');
    expect(calls[1]! - calls[0]!).toBeGreaterThanOrEqual(first.delayMs - 5);
    // Now a long wait: the abort ends it.
    await until(() => of(events, 'retrying').length >= 2);
    const slow = new MemoryStore();
    slow.live = ['g'];
    slow.put('a', 'alpha');
    let failed = 0;
    const s = start(slow, {
      encoderFor: () => async () => {
        failed++;
        throw new VecfillError('TRANSIENT_ENCODE', 'HTTP 503');
      },
      backoff: { initialMs: 8_000, maxMs: 8_000 },
    });
    await until(() => of(s.events, 'retrying').length === 1);
    const t = Date.now();
    s.stop.abort();
    await s.done;
    expect(Date.now() - t).toBeLessThan(2000);
    expect(failed).toBe(1);
    stop.abort();
    await done;
  });

  it('retries a failing wait for a change, and passes it pollMs and rescanMs', async () => {
    const store = new CountingStore() as CountingStore & {
      waitForChange: (o: WaitForChangeOptions) => Promise<boolean>;
    };
    store.live = ['g'];
    const asked: WaitForChangeOptions[] = [];
    let failures = 1;
    store.waitForChange = async (o) => {
      asked.push(o);
      await tick();
      if (failures-- > 0) throw 'gone';
      await pause(5_000);
      return false;
    };
    const { events } = start(store, { pollMs: 35, rescanMs: 4_000, backoff: { initialMs: 30 } });
    await until(() => asked.length >= 2);
    expect(asked[0]).toMatchObject({ pollMs: 35, timeoutMs: 4_000 });
    expect(asked[0]!.signal).toBeInstanceOf(AbortSignal);
    const retries = of(events, 'retrying');
    expect(retries).toHaveLength(1);
    expect(retries[0]!.attempt).toBe(1);
    expect(retries[0]!.generation).toBeUndefined();
    expect(retries[0]!.error.message).toBe('gone');
    expect(retries[0]!.delayMs).toBeGreaterThanOrEqual(15);
    expect(retries[0]!.delayMs).toBeLessThanOrEqual(30);
  });
});

describe('follow: events and summary', () => {
  it('reports a pass refused as stale or missing, fills the stale document again at once, and sums it all', async () => {
    const store = new MemoryStore();
    store.live = ['g'];
    store.put('a', 'alpha');
    store.put('b', 'bravo');
    store.put('c', 'charlie');
    let edited = false;
    store.beforeSave = (doc) => {
      if (doc === 'a' && !edited) {
        edited = true;
        store.put('a', 'alpha two'); // stale
        store.delete('b'); // missing
      }
    };
    const encode: EncodeFn = async (texts) => {
      await pause(25);
      return texts.map((t) => embed(t, 8));
    };
    // pollMs is 10 s: only the stale rule can start the second pass.
    const { events, stop, done } = start(store, { encoderFor: () => encode });
    await until(() => of(events, 'caught-up').length > 0, 3000);
    stop.abort();
    const summary = await done;
    const filled = of(events, 'filled');
    expect(filled.map(({ seconds: _, ...f }) => f)).toEqual([
      {
        type: 'filled',
        generation: 'g',
        documents: 1,
        chunks: 1,
        skipped: 0,
        skippedChunks: 0,
        stale: 1,
        missing: 1,
        pruned: 0,
      },
      {
        type: 'filled',
        generation: 'g',
        documents: 1,
        chunks: 1,
        skipped: 0,
        skippedChunks: 0,
        stale: 0,
        missing: 0,
        pruned: 0,
      },
    ]);
    for (const f of filled) {
      expect(f.seconds).toBeGreaterThanOrEqual(0.02);
      expect(f.seconds).toBeLessThan(5);
    }
    // caught-up only after the stale document was filled.
    expect(events.map((e) => e.type)).toEqual(['generations', 'filled', 'filled', 'caught-up']);
    expect(summary).toEqual({
      documents: 2,
      chunks: 2,
      skipped: 0,
      stale: 1,
      missing: 1,
      failed: [],
    });
  });

  it('reports a pass that only met a stale document, or only a deleted one', async () => {
    for (const kind of ['stale', 'missing'] as const) {
      const store = new MemoryStore();
      store.live = ['g'];
      store.put('a', 'alpha');
      let once = false;
      store.beforeSave = () => {
        if (once) return;
        once = true;
        if (kind === 'stale') store.put('a', 'alpha two');
        else store.delete('a');
      };
      const { events, stop, done } = start(store);
      await until(() => of(events, 'caught-up').length > 0, 3000);
      stop.abort();
      const summary = await done;
      expect(of(events, 'filled')[0]).toMatchObject({ documents: 0, [kind]: 1 });
      expect(summary[kind]).toBe(1);
    }
  });

  it('counts skipped documents and chunks, and says caught-up once per catch-up, not on every empty pass', async () => {
    const store = new CountingStore();
    store.live = ['g'];
    const { events, notify } = start(store);
    await until(() => of(events, 'caught-up').length === 1);
    store.put('blank', '   ');
    notify();
    await until(() => of(events, 'caught-up').length === 2);
    notify();
    await until(() => store.scans >= 3);
    notify();
    await until(() => store.scans >= 4);
    await pause(50);
    expect(of(events, 'caught-up')).toHaveLength(2);
    expect(of(events, 'filled')).toHaveLength(1);
    expect(of(events, 'filled')[0]).toMatchObject({ documents: 1, skipped: 1 });
  });

  it('sums what a pass saved before an outage, and skips only what the model rejects', async () => {
    const store = new MemoryStore();
    store.live = ['g'];
    for (let i = 0; i < 6; i++) store.put(`d${i}`, `text ${i}`);
    store.put('nan', 'bad vector');
    store.put('oops', 'plain error');
    let calls = 0;
    let down = true;
    const encode: EncodeFn = async (texts) => {
      calls++;
      if (down && calls === 2) throw new VecfillError('TRANSIENT_ENCODE', 'HTTP 503');
      if (texts.some((t) => t === 'plain error') && down) throw new Error('plain failure');
      return texts.map((t) =>
        t === 'bad vector' ? new Float32Array(8).fill(Number.NaN) : embed(t, 8),
      );
    };
    const { events, stop, done } = start(store, {
      encoderFor: () => encode,
      scanBatch: 3,
      batch: { batchSize: 3 },
      backoff: { initialMs: 10, maxMs: 20 },
    });
    await until(() => of(events, 'retrying').length >= 3);
    down = false;
    await until(() => [...store.rows.keys()].every((d) => d === 'nan' || store.covered('g', d)));
    await until(() => of(events, 'caught-up').length > 0);
    stop.abort();
    const summary = await done;
    // The NaN vector is the model's rejection: skipped. The plain error and the 503 are retried.
    expect(new Set(of(events, 'skipped').map((e) => e.doc))).toEqual(new Set(['nan']));
    expect(summary.documents).toBe(8);
    expect(summary.skipped).toBe(1);
    expect(summary.chunks).toBe(7);
    expect(store.saves).toHaveLength(8);
  });

  it('stops without a retrying event when aborted mid-pass or while waiting', async () => {
    const store = new MemoryStore();
    store.live = ['g'];
    store.put('a', 'alpha');
    let entered = false;
    const encode: EncodeFn = async (texts) => {
      entered = true;
      await pause(100);
      return texts.map((t) => embed(t, 8));
    };
    let unsubscribed = 0;
    const { events, stop, done } = start(store, {
      encoderFor: () => encode,
      pollMs: 20,
      subscribe: () => () => {
        unsubscribed++;
      },
    });
    await until(() => entered);
    stop.abort();
    await done;
    expect(unsubscribed).toBe(1);
    expect(of(events, 'retrying')).toEqual([]);
    const idle = start(new MemoryStore(), { pollMs: 20 });
    await pause(60);
    idle.stop.abort();
    await idle.done;
    expect(of(idle.events, 'retrying')).toEqual([]);
  });
});

describe('follow: generations', () => {
  it('reports the set of generations each time it changes, and only then', async () => {
    const store = new CountingStore();
    store.live = [];
    const { events, notify } = start(store);
    const step = async (live: string[]) => {
      store.live = live;
      const reads = store.reads;
      notify();
      await until(() => store.reads > reads);
      await pause(20);
    };
    await until(() => store.reads >= 1);
    await pause(20);
    await step(['g1']);
    await step(['g1']);
    await step(['g1', 'g2']);
    await step(['g1', 'g3']);
    await step(['g1', 'g3']);
    await step(['g3', 'g1']);
    await step(['g3']);
    expect(of(events, 'generations').map((e) => e.generations)).toEqual([
      ['g1'],
      ['g1', 'g2'],
      ['g1', 'g3'],
      ['g3', 'g1'],
      ['g3'],
    ]);
  });

  it('fills only opts.generations, and stops filling a generation that was retired', async () => {
    const fixed = new MemoryStore();
    fixed.live = ['g1', 'g2'];
    fixed.put('a', 'alpha');
    const f = start(fixed, { generations: ['g2'] });
    await until(() => of(f.events, 'caught-up').length > 0);
    expect(of(f.events, 'generations').map((e) => e.generations)).toEqual([['g2']]);
    expect(fixed.saves.map((s) => s.gen)).toEqual(['g2']);

    const store = new CountingStore();
    store.live = ['g1', 'g2'];
    const { events, notify } = start(store);
    await until(() => of(events, 'caught-up').length === 2);
    store.live = ['g1'];
    store.put('a', 'alpha');
    notify();
    await until(() => store.covered('g1', 'a'));
    await pause(50);
    expect(store.covered('g2', 'a')).toBe(false);
  });

  it('runs one pass per change: no extra pass at start, none after a wake-up', async () => {
    const store = new CountingStore();
    store.live = ['g'];
    const { events, notify } = start(store);
    await until(() => of(events, 'caught-up').length === 1).catch((e) => {
      throw new Error(`${e} ${JSON.stringify(events)} ${store.scans} ${store.reads}`);
    });
    await pause(100);
    expect({ scans: store.scans, reads: store.reads }).toEqual({ scans: 1, reads: 1 });
    notify();
    await until(() => store.scans >= 2);
    await pause(100);
    // The wake-up marks every worker twice (subscribe, then the main loop): at most two passes.
    expect(store.scans).toBeLessThanOrEqual(3);
    expect(store.reads).toBe(2);
  });

  it('leaves no abort listeners behind, pass after pass', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const store = new CountingStore();
      store.live = ['g'];
      const { notify } = start(store, { pollMs: 5 });
      for (let i = 1; i <= 15; i++) {
        notify();
        await until(() => store.scans > i);
      }
      await pause(150); // 30 polls
      await new Promise((r) => setImmediate(r));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('follow: prune cadence', () => {
  it('runs the prune sweep after every pass with pruneEveryMs 0, and reports a pass that only pruned', async () => {
    const store = new PruningStore();
    store.live = ['g'];
    store.toPrune = 2;
    const { events, notify } = start(store, { pruneEveryMs: 0 });
    await until(() => of(events, 'caught-up').length === 1);
    for (let i = 2; i <= 4; i++) {
      notify();
      await until(() => store.scans >= i && store.prunes >= i);
    }
    await pause(50);
    expect(store.prunes).toBe(store.scans);
    const filled = of(events, 'filled');
    expect(filled).toHaveLength(1);
    expect(filled[0]).toMatchObject({ documents: 0, stale: 0, missing: 0, pruned: 2 });
  });

  it('sweeps at most once per pruneEveryMs', async () => {
    const store = new PruningStore();
    store.live = ['g'];
    const { events, notify } = start(store, { pruneEveryMs: 1000 });
    await until(() => of(events, 'caught-up').length === 1);
    expect(store.prunes).toBe(1);
    notify();
    await until(() => store.scans >= 2);
    await pause(30);
    expect(store.prunes).toBe(1);
    await pause(1050);
    const scans = store.scans;
    notify();
    await until(() => store.scans > scans);
    await pause(30);
    expect(store.prunes).toBe(2);
  });
});
