import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { follow, search } from '../../src/core/index.js';
import { PgStore } from '../../src/postgres/index.js';
import { hashEncoder } from '../support/hash-encoder.js';
import { ENGINE, startEngine, type TestEngine } from './helpers.js';

let engine: TestEngine;
beforeAll(async () => {
  engine = await startEngine();
});
afterAll(async () => {
  await engine?.close();
});

async function until(pred: () => Promise<boolean>, ms: number): Promise<number> {
  const started = Date.now();
  while (!(await pred())) {
    if (Date.now() - started > ms) throw new Error(`condition not reached in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - started;
}

describe(`follow on Postgres (${ENGINE})`, () => {
  it('wakes on the change trigger (LISTEN) long before the next poll, and falls back to scanning without it', async () => {
    const db = engine.client;
    await db.query(
      'CREATE TABLE follow_docs (id integer PRIMARY KEY, body text NOT NULL, rev integer NOT NULL DEFAULT 1)',
    );
    await db.query(`INSERT INTO follow_docs (id, body) VALUES (1, 'alpha apples')`);
    const store = await PgStore.open(db, {
      docsTable: 'follow_docs',
      idColumn: 'id',
      contentColumn: 'body',
      revisionColumn: 'rev',
      vectorsPrefix: 'follow_vec',
    });
    await store.ensureGeneration('g', { model: 'hash', dimensions: 32 }, 'active');
    expect((await store.installTrigger()).channel).toBe('follow_vec_changes');
    await store.installTrigger(); // idempotent
    const { encode } = hashEncoder(32);
    const found = async (text: string, id: number) => {
      const hits = await search(store, text, { encoderFor: () => encode, limit: 1 });
      return hits[0]?.doc === id && (await store.coverage('g')).backlog === 0;
    };
    const stop = new AbortController();
    // Polls of the trigger's sequence every 3 s: only the notification can be faster.
    const running = follow(store, { encoderFor: () => encode, signal: stop.signal, pollMs: 3000 });
    await until(() => found('alpha apples', 1), 5000);
    await new Promise((r) => setTimeout(r, 300));
    await db.query(`INSERT INTO follow_docs (id, body) VALUES (2, 'bravo bananas')`);
    expect(await until(() => found('bravo bananas', 2), 5000)).toBeLessThan(2000);
    await db.query(`UPDATE follow_docs SET body = 'cherry', rev = rev + 1 WHERE id = 1`);
    expect(await until(() => found('cherry', 1), 5000)).toBeLessThan(2000);
    stop.abort();
    await running;

    await store.uninstallTrigger();
    const { rows } = await db.query(`SELECT to_regclass('follow_vec_changes') IS NULL AS gone`);
    expect(rows[0]!.gone).toBe(true);
    const again = new AbortController();
    const fallback = follow(store, { encoderFor: () => encode, signal: again.signal, pollMs: 50 });
    await db.query(`UPDATE follow_docs SET body = 'delta dates', rev = rev + 1 WHERE id = 2`);
    await until(() => found('delta dates', 2), 5000);
    again.abort();
    await fallback;
  });
});
