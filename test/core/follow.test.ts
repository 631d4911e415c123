import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type EncodeFn,
  type FollowEvent,
  follow,
  PermanentEncodeError,
  search,
  VecfillError,
} from '../../src/core/index.js';
import { openDatabase, SqliteStore } from '../../src/sqlite/index.js';
import { DOCS_DDL, SCHEMA, tempDir } from '../sqlite/helpers.js';
import { embed, hashEncoder } from '../support/hash-encoder.js';
import { MemoryStore } from '../support/memory-store.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** Resolves once `pred` holds, polling every 20 ms; fails after `ms`. */
async function until(pred: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function sqliteFile() {
  const { dir, cleanup } = tempDir();
  const path = join(dir, 'docs.db');
  const editor = openDatabase(path);
  editor.exec(DOCS_DDL);
  const db = openDatabase(path);
  const store = SqliteStore.open(db, SCHEMA);
  store.ensureGeneration('g1', { model: 'hash', dimensions: 32 }, 'active');
  cleanups.push(() => {
    db.close();
    editor.close();
    cleanup();
  });
  return { editor, store, db };
}

describe('follow', () => {
  it('embeds what another connection inserts, updates, invalidates and deletes, and stops on abort', async () => {
    const { editor, store } = sqliteFile();
    editor.prepare('INSERT INTO docs (id, content) VALUES (?, ?)').run(1, 'alpha apples');
    const { encode } = hashEncoder(32);
    const stop = new AbortController();
    const events: FollowEvent<unknown, string>[] = [];
    const running = follow(store, {
      encoderFor: () => encode,
      signal: stop.signal,
      pollMs: 50,
      onEvent: (e) => events.push(e),
    });
    const searchable = async (text: string, doc: number) => {
      const hits = await search(store, text, { encoderFor: () => encode, limit: 1 });
      // Wait for follow's own caught-up too: editing before follow has read
      // its backlog would fold two edits into one pass.
      return (
        hits[0]?.doc === doc &&
        store.coverage('g1').backlog === 0 &&
        events.at(-1)?.type === 'caught-up'
      );
    };
    await until(() => searchable('alpha apples', 1));
    editor.prepare('INSERT INTO docs (id, content) VALUES (?, ?)').run(2, 'bravo bananas');
    await until(() => searchable('bravo bananas', 2));
    editor
      .prepare('UPDATE docs SET content = ?, revision = revision + 1 WHERE id = 1')
      .run('cherry');
    await until(() => searchable('cherry', 1));
    editor.prepare('UPDATE docs SET embed_gen = NULL WHERE id = 2').run();
    await until(
      () =>
        store.coverage('g1').backlog === 0 &&
        store.coverage('g1').embedded === 2 &&
        events.at(-1)?.type === 'caught-up',
    );
    editor.prepare('DELETE FROM docs WHERE id = 2').run();
    await until(async () => {
      const hits = await search(store, 'bravo bananas', { encoderFor: () => encode });
      return hits.every((h) => h.doc !== 2);
    });
    const started = Date.now();
    stop.abort();
    const summary = await running;
    expect(Date.now() - started).toBeLessThan(1000);
    expect(summary.documents).toBe(4);
    expect(events.filter((e) => e.type === 'caught-up').length).toBeGreaterThanOrEqual(4);
    expect(events[0]).toEqual({ type: 'generations', generations: ['g1'] });
  });

  it('costs no scan while nothing changes (change detection, not polling scans)', async () => {
    const { editor, store } = sqliteFile();
    editor.prepare('INSERT INTO docs (id, content) VALUES (?, ?)').run(1, 'alpha');
    let scans = 0;
    const scan = store.pendingForGeneration.bind(store);
    store.pendingForGeneration = (gen, limit) => {
      scans++;
      return scan(gen, limit);
    };
    const stop = new AbortController();
    const { encode } = hashEncoder(32);
    const running = follow(store, { encoderFor: () => encode, signal: stop.signal, pollMs: 20 });
    await until(() => store.coverage('g1').backlog === 0);
    await new Promise((r) => setTimeout(r, 100));
    const before = scans;
    await new Promise((r) => setTimeout(r, 400));
    expect(scans).toBe(before);
    editor.prepare('INSERT INTO docs (id, content) VALUES (?, ?)').run(2, 'bravo');
    await until(() => store.coverage('g1').backlog === 0 && store.coverage('g1').embedded === 2);
    stop.abort();
    await running;
  });

  it('without change detection, scans every pollMs', async () => {
    const store = new MemoryStore();
    store.live = ['g'];
    const { encode } = hashEncoder(8);
    const stop = new AbortController();
    const running = follow(store, { encoderFor: () => encode, signal: stop.signal, pollMs: 20 });
    store.put('a', 'one');
    await until(() => store.covered('g', 'a'));
    store.put('a', 'two');
    await until(() => store.covered('g', 'a'));
    stop.abort();
    await running;
    expect(store.saves.filter((s) => s.doc === 'a')).toHaveLength(2);
  });

  it('backs off through a provider outage and resumes without losing or repeating work', async () => {
    const store = new MemoryStore();
    store.live = ['g'];
    for (let i = 0; i < 20; i++) store.put(`d${String(i).padStart(2, '0')}`, `text ${i}`);
    let down = true;
    let calls = 0;
    const encode: EncodeFn = async (texts) => {
      calls++;
      if (down && calls > 1) throw new VecfillError('TRANSIENT_ENCODE', 'HTTP 503');
      return texts.map((t) => embed(t, 8));
    };
    const events: FollowEvent<string, string>[] = [];
    const stop = new AbortController();
    const running = follow(store, {
      encoderFor: () => encode,
      signal: stop.signal,
      pollMs: 20,
      scanBatch: 5,
      batch: { batchSize: 5 },
      backoff: { initialMs: 20, maxMs: 80 },
      onEvent: (e) => events.push(e),
    });
    await until(() => events.filter((e) => e.type === 'retrying').length >= 4);
    const retries = events.filter((e) => e.type === 'retrying') as Extract<
      FollowEvent<string, string>,
      { type: 'retrying' }
    >[];
    expect(retries.map((r) => r.attempt).slice(0, 4)).toEqual([1, 2, 3, 4]);
    for (const r of retries) expect(r.delayMs).toBeLessThanOrEqual(80);
    expect(retries[3]!.delayMs).toBeGreaterThanOrEqual(40);
    down = false;
    await until(() => [...store.rows.keys()].every((d) => store.covered('g', d)));
    stop.abort();
    await running;
    // Each document saved once: the five of the first batch before the outage, the rest after.
    expect(store.saves).toHaveLength(20);
    expect(new Set(store.saves.map((s) => s.doc)).size).toBe(20);
  });

  it('leaves out a generation with a configuration error and keeps filling the others', async () => {
    const store = new MemoryStore();
    store.live = ['bad', 'good'];
    store.put('a', 'alpha');
    const { encode } = hashEncoder(8);
    const broken: EncodeFn = async () => {
      throw new VecfillError('ENCODER_CONFIG', 'returned 64-dimensional vectors');
    };
    const events: FollowEvent<string, string>[] = [];
    const stop = new AbortController();
    const running = follow(store, {
      encoderFor: (gen) => (gen === 'bad' ? broken : encode),
      signal: stop.signal,
      pollMs: 20,
      onEvent: (e) => events.push(e),
    });
    await until(() => events.some((e) => e.type === 'failed'));
    store.put('b', 'bravo');
    await until(() => store.covered('good', 'a') && store.covered('good', 'b'));
    stop.abort();
    const summary = await running;
    expect(summary.failed.map((f) => f.generation)).toEqual(['bad']);
    expect(events.filter((e) => e.type === 'failed')).toHaveLength(1);
    expect(store.saves.every((s) => s.gen === 'good')).toBe(true);
  });

  it('stamp-skips a document the model rejects and reports it', async () => {
    const store = new MemoryStore();
    store.live = ['g'];
    store.put('a', 'alpha');
    store.put('poison', 'poison');
    const encode: EncodeFn = async (texts) => {
      if (texts.some((t) => t.includes('poison')))
        throw new PermanentEncodeError('HTTP 400', { status: 400 });
      return texts.map((t) => embed(t, 8));
    };
    const events: FollowEvent<string, string>[] = [];
    const stop = new AbortController();
    const running = follow(store, {
      encoderFor: () => encode,
      signal: stop.signal,
      onEvent: (e) => events.push(e),
    });
    await until(() => events.some((e) => e.type === 'caught-up'));
    stop.abort();
    await running;
    expect(events.find((e) => e.type === 'skipped')).toMatchObject({ doc: 'poison' });
    expect(events.find((e) => e.type === 'filled')).toMatchObject({ documents: 2, skipped: 1 });
  });

  it('picks up a generation added while it runs, and wakes on subscribe', async () => {
    const store = new MemoryStore();
    store.live = ['g1'];
    store.put('a', 'alpha');
    const { encode } = hashEncoder(8);
    let notify = () => {};
    const stop = new AbortController();
    const running = follow(store, {
      encoderFor: () => encode,
      signal: stop.signal,
      pollMs: 10_000,
      subscribe: (fn) => {
        notify = fn;
        return () => {};
      },
    });
    await until(() => store.covered('g1', 'a'));
    store.live = ['g2', 'g1'];
    store.put('b', 'bravo');
    notify();
    // pollMs is 10 s: within 2 s only the subscription can have woken it.
    await until(() => store.covered('g2', 'a') && store.covered('g2', 'b'), 2000);
    await until(() => store.covered('g1', 'b'), 2000);
    stop.abort();
    const summary = await running;
    expect(summary.failed).toEqual([]);
    const saved = (gen: string) =>
      store.saves
        .filter((s) => s.gen === gen)
        .map((s) => s.doc)
        .sort();
    expect({ g1: saved('g1'), g2: saved('g2') }).toEqual({ g1: ['a', 'b'], g2: ['a', 'b'] });
    expect(summary.documents).toBe(4);
  });
});

describe('follow with chunk settings per generation', () => {
  it('cuts each generation with its own split (splitFor), as fill would', async () => {
    const store = new MemoryStore();
    store.live = ['small', 'whole'];
    const { encode } = hashEncoder(8);
    const stop = new AbortController();
    const asked: string[] = [];
    const running = follow(store, {
      encoderFor: () => encode,
      splitFor: (gen) => {
        asked.push(gen);
        return gen === 'small' ? { maxChars: 100 } : undefined;
      },
      split: { maxChars: 2000 },
      signal: stop.signal,
      pollMs: 20,
    });
    store.put('long', 'word '.repeat(200)); // 1,000 characters
    await until(() => store.covered('small', 'long') && store.covered('whole', 'long'));
    stop.abort();
    await running;
    const chunks = (gen: string) =>
      store.saves.find((s) => s.gen === gen && s.doc === 'long')!.chunks;
    expect(chunks('small')).toBeGreaterThanOrEqual(10);
    // A generation splitFor says nothing about keeps the shared split.
    expect(chunks('whole')).toBe(1);
    // Asked once per generation, not per pass.
    expect(asked.sort()).toEqual(['small', 'whole']);
  });
});
