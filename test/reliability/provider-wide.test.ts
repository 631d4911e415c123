import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import {
  EncoderConfigError,
  fill,
  PermanentEncodeError,
  ProviderFailureError,
  TooManySkippedError,
  TransientEncodeError,
} from '../../src/core/index.js';
import {
  openAICompatible,
  type RetryNotice,
  skipPermanentErrors,
} from '../../src/encoders/index.js';
import { openDatabase, SqliteStore } from '../../src/sqlite/index.js';
import { DOCS_DDL, SCHEMA, tempDir } from '../sqlite/helpers.js';
import { type Fault, type FaultServer, startFaultServer } from '../support/fault-server.js';
import { hashEncoder } from '../support/hash-encoder.js';
import { rejectsWith, throwsWith } from '../support/thrown.js';

const DIMS = 16;
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A SQLite table of `n` documents and a store over it, removed after the test. */
function table(n: number, content = (i: number) => `document ${i} about topic ${i % 7}`) {
  const { dir, cleanup } = tempDir();
  const db: Database.Database = openDatabase(join(dir, 'p.db'));
  cleanups.push(cleanup, () => db.close());
  db.exec(DOCS_DDL);
  const ins = db.prepare('INSERT INTO docs (id, content) VALUES (?, ?)');
  for (let i = 1; i <= n; i++) ins.run(i, content(i));
  return { db, store: SqliteStore.open(db, SCHEMA) };
}

async function server(decide: (n: number, texts: string[]) => Fault, retryAfter?: number) {
  const s: FaultServer = await startFaultServer({
    dimensions: DIMS,
    decide,
    ...(retryAfter === undefined ? {} : { retryAfter }),
  });
  cleanups.push(() => s.close());
  return s;
}

describe('a provider failure is never recorded as a document’s fault', () => {
  for (const status of ['401', '403', '404', '405', '407'] as const) {
    it(`HTTP ${status} stops the fill with EncoderConfigError after one request; nothing is skipped`, async () => {
      const s = await server(() => status);
      const { store } = table(40);
      const enc = await openAICompatible({
        baseURL: s.url,
        model: 'm',
        apiKey: 'sk-expired',
        dimensions: DIMS,
        retryBaseMs: 1,
      });
      store.ensureGeneration('g', enc.generation, 'building');
      const asked: unknown[] = [];
      const err = await fill(store, 'g', enc.encode, {
        batch: { batchSize: 16 },
        onEncodeError: (_doc, e) => {
          asked.push(e);
          return true;
        },
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EncoderConfigError);
      expect((err as EncoderConfigError).status).toBe(Number(status));
      expect((err as Error).message).toMatch(new RegExp(`HTTP ${status}.*Nothing was skipped`));
      expect(asked).toEqual([]);
      expect(s.log).toHaveLength(1);
      expect(store.coverage('g')).toEqual({ embedded: 0, skipped: 0, backlog: 40 });
    });
  }

  for (const fault of ['zeros', 'overflow'] as const) {
    it(`HTTP 200 with ${fault} for a whole batch stops the fill with ProviderFailureError; nothing is skipped`, async () => {
      const s = await server(() => fault);
      const { store } = table(40);
      const enc = await openAICompatible({ baseURL: s.url, model: 'm', dimensions: DIMS });
      store.ensureGeneration('g', enc.generation, 'building');
      const err = await fill(store, 'g', enc.encode, {
        batch: { batchSize: 16 },
        onEncodeError: () => true,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProviderFailureError);
      expect((err as Error).message).toMatch(
        fault === 'zeros'
          ? /every one of the 16 inputs.*all zeros/
          : /every one of the 16.*Infinity|overflows float32/,
      );
      expect(s.log).toHaveLength(1);
      expect(store.coverage('g')).toEqual({ embedded: 0, skipped: 0, backlog: 40 });
    });
  }

  it('the same failure for many documents in a row trips the breaker; none of them is stamped', async () => {
    // One document per request: each bad vector alone looks like that document's fault.
    const s = await server(() => 'zeros');
    const { store } = table(30);
    const enc = await openAICompatible({ baseURL: s.url, model: 'm', dimensions: DIMS });
    store.ensureGeneration('g', enc.generation, 'building');
    const reported: string[] = [];
    const err = await fill(store, 'g', enc.encode, {
      maxConsecutiveSkips: 8,
      onEncodeError: skipPermanentErrors((doc) => reported.push(String(doc))),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderFailureError);
    expect((err as ProviderFailureError).consecutive).toBe(8);
    expect((err as Error).message).toMatch(/8 inputs in a row failed the same way .*all zeros/);
    expect(s.log).toHaveLength(8);
    expect(store.coverage('g')).toEqual({ embedded: 0, skipped: 0, backlog: 30 });
  });

  it('the breaker is on by default (20 in a row) and held skips are saved once the provider works', async () => {
    const { store } = table(60, (i) => (i <= 5 || i > 30 ? `good ${i}` : `bad ${i}`));
    const good = hashEncoder(DIMS);
    // Documents 6..30 are rejected one by one, exactly like a dead provider would.
    const encode: typeof good.encode = async (texts, o) => {
      if (texts.some((t) => t.startsWith('bad'))) {
        throw new PermanentEncodeError('provider refused the input (HTTP 400): bad request', {
          status: 400,
        });
      }
      return good.encode(texts, o);
    };
    store.ensureGeneration('g', { model: 'hash', dimensions: DIMS }, 'building');
    const err = await fill(store, 'g', encode, { onEncodeError: () => true }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProviderFailureError);
    expect((err as ProviderFailureError).consecutive).toBe(20);
    // The five good documents before the run were saved; the twenty are still pending.
    expect(store.coverage('g')).toEqual({ embedded: 5, skipped: 0, backlog: 55 });

    // A short run of failures between successes is the documents' own fault: skipped, with why.
    const { store: other } = table(40, (i) => (i % 10 === 3 ? `bad ${i}` : `good ${i}`));
    other.ensureGeneration('g', { model: 'hash', dimensions: DIMS }, 'building');
    const result = await fill(other, 'g', encode, {
      batch: { batchSize: 8 },
      onEncodeError: () => true,
    });
    expect(result).toMatchObject({ documents: 40, skipped: 4 });
    expect(other.skipReasons('g')).toEqual([
      { reason: 'provider refused the input (HTTP 400): bad request', documents: 4 },
    ]);
  });

  it('skips at the end of a fill shorter than the breaker are saved (the held run is released)', async () => {
    const { store } = table(10, (i) => (i > 7 ? `bad ${i}` : `good ${i}`));
    const good = hashEncoder(DIMS);
    const encode: typeof good.encode = async (texts, o) => {
      if (texts.some((t) => t.startsWith('bad'))) throw new PermanentEncodeError('rejected');
      return good.encode(texts, o);
    };
    store.ensureGeneration('g', { model: 'hash', dimensions: DIMS }, 'building');
    const result = await fill(store, 'g', encode, { scanBatch: 4, onEncodeError: () => true });
    expect(result).toMatchObject({ documents: 10, skipped: 3 });
    expect(store.coverage('g')).toEqual({ embedded: 7, skipped: 3, backlog: 0 });
  });
});

describe('activate refuses a generation that lost its documents', () => {
  async function skippedGeneration(bad: (i: number) => boolean, n = 200) {
    const { store } = table(n, (i) => (bad(i) ? `bad ${i}` : `good ${i}`));
    const good = hashEncoder(DIMS);
    let broken = true;
    const encode: typeof good.encode = async (texts, o) => {
      if (broken && texts.some((t) => t.startsWith('bad')))
        throw new PermanentEncodeError('provider refused the input (HTTP 422): nope', {
          status: 422,
        });
      return good.encode(texts, o);
    };
    store.ensureGeneration('old', { model: 'old', dimensions: DIMS }, 'active');
    await fill(store, 'old', good.encode);
    store.ensureGeneration('new', { model: 'hash', dimensions: DIMS }, 'building');
    await fill(store, 'new', encode, { onEncodeError: () => true, maxConsecutiveSkips: Infinity });
    return {
      store,
      encode,
      fix: () => {
        broken = false;
      },
    };
  }

  it('refuses a generation that embedded nothing, says how many and why; force overrides', async () => {
    const { store, encode, fix } = await skippedGeneration(() => true);
    expect(store.coverage('new')).toEqual({ embedded: 0, skipped: 200, backlog: 0 });
    const err = (() => {
      try {
        store.activate('new');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(TooManySkippedError);
    expect(err).toMatchObject({ code: 'TOO_MANY_SKIPPED', embedded: 0, skipped: 200 });
    expect((err as Error).message).toMatch(
      /embedded nothing and 200 of 200 documents \(100%\) were skipped after encoder errors \(200 × provider refused the input \(HTTP 422\): nope\)/,
    );
    expect(store.generations().find((g) => g.key === 'old')?.state).toBe('active');

    // The key is fixed: retrySkipped re-attempts exactly the skipped documents.
    fix();
    const again = await fill(store, 'new', encode, { retrySkipped: true });
    expect(again).toMatchObject({ retried: 200, documents: 200, skipped: 0 });
    expect(store.coverage('new')).toEqual({ embedded: 200, skipped: 0, backlog: 0 });
    store.activate('new');
    expect(store.generations().find((g) => g.key === 'new')?.state).toBe('active');
  });

  it('refuses above 1 % skipped by default, accepts at or below, and takes maxSkippedShare and force', async () => {
    const { store } = await skippedGeneration((i) => i % 50 === 0); // 4 of 200 = 2 %
    expect(() => store.activate('new')).toThrow(TooManySkippedError);
    throwsWith(
      () => store.activate('new', { maxSkippedShare: 0.019 }),
      TooManySkippedError,
      /4 of 200/,
    );
    store.activate('new', { maxSkippedShare: 0.02 });
    expect(store.generations().find((g) => g.key === 'new')?.state).toBe('active');

    const { store: s2 } = await skippedGeneration((i) => i === 7); // 0.5 %
    s2.activate('new');
    const { store: s3 } = await skippedGeneration(() => true);
    s3.activate('new', { force: true });
    expect(s3.generations().find((g) => g.key === 'new')?.state).toBe('active');
  });

  it('blank documents are not skips: a table of blank rows activates', async () => {
    const { store } = table(5, () => '   ');
    store.ensureGeneration('g', { model: 'hash', dimensions: DIMS }, 'building');
    await fill(store, 'g', hashEncoder(DIMS).encode);
    expect(store.skipReasons('g')).toEqual([]);
    store.activate('g');
  });
});

describe('transient failures are retried once, and long waits are announced', () => {
  it('a 429 with a Retry-After beyond maxRetryAfterMs fails at once, saying until when, without one-at-a-time retries', async () => {
    const s = await server(() => '429', 36_000);
    const { store } = table(20);
    const enc = await openAICompatible({ baseURL: s.url, model: 'm', dimensions: DIMS });
    store.ensureGeneration('g', enc.generation, 'building');
    const started = Date.now();
    const err = await fill(store, 'g', enc.encode, {
      batch: { batchSize: 8 },
      onEncodeError: () => true,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientEncodeError);
    expect((err as Error).message).toMatch(
      /asked to wait 10 h \(Retry-After\), longer than maxRetryAfterMs \(2 min\); try again after \d{4}-\d\d-\d\dT/,
    );
    expect(Date.now() - started).toBeLessThan(5000);
    expect(s.log).toHaveLength(1);
    expect(store.coverage('g').backlog).toBe(20);
  });

  it('an outage is retried for the batch only, never again per document', async () => {
    const s = await server(() => '500');
    const { store } = table(20);
    const enc = await openAICompatible({
      baseURL: s.url,
      model: 'm',
      dimensions: DIMS,
      maxRetries: 2,
      retryBaseMs: 1,
    });
    store.ensureGeneration('g', enc.generation, 'building');
    await rejectsWith(
      fill(store, 'g', enc.encode, { batch: { batchSize: 8 }, onEncodeError: () => true }),
      TransientEncodeError,
      /gave up after 3 attempts/,
    );
    expect(s.log).toHaveLength(3);
    expect(store.coverage('g').backlog).toBe(20);
  });

  it('tells onRetry what it waits for and until when, and an abort ends a long wait at once', async () => {
    const s = await server(() => '429', 60);
    const { store } = table(5);
    const notices: RetryNotice[] = [];
    const enc = await openAICompatible({
      baseURL: s.url,
      model: 'm',
      dimensions: DIMS,
      onRetry: (n) => notices.push(n),
    });
    store.ensureGeneration('g', enc.generation, 'building');
    const controller = new AbortController();
    const started = Date.now();
    const filling = fill(store, 'g', enc.encode, { signal: controller.signal });
    while (notices.length === 0) await new Promise((r) => setTimeout(r, 10));
    controller.abort(new Error('stop now'));
    await rejectsWith(filling, Error, 'stop now');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(notices).toHaveLength(1);
    const [n] = notices;
    expect(n).toMatchObject({
      attempt: 1,
      maxRetries: 5,
      waitMs: 60_000,
      retryAfter: true,
      status: 429,
    });
    expect(n!.reason).toMatch(/HTTP 429: rate limited/);
    expect(Math.abs(n!.until.getTime() - (started + 60_000))).toBeLessThan(2000);
    expect(store.coverage('g').backlog).toBe(5);
  });
});
