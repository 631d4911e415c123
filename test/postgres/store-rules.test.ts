import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LifecycleError } from '../../src/core/index.js';
import { rejection } from '../support/thrown.js';
import { ENGINE, pgHarness, startEngine, type TestEngine } from './helpers.js';

// The shared SQL layer's rules that only the Postgres store reaches
// (docs/invariants.md, the src/sql mutation run): the refusal of a second
// building generation found by the unique index, and a reclaimed
// generation's vectors.

let engine: TestEngine;
beforeAll(async () => {
  engine = await startEngine();
});
afterAll(async () => {
  await engine?.close();
});

const G8 = { model: 'm', dimensions: 8 };

describe(`PgStore rules on ${ENGINE}`, () => {
  it('a second building generation is refused with what to do', async () => {
    const { store } = await pgHarness(engine.client);
    await store.ensureGeneration('a', G8, 'building');
    const e = await rejection(store.ensureGeneration('b', G8, 'building'));
    expect(e).toBeInstanceOf(LifecycleError);
    expect(e.message).toMatch(/^generation "b" cannot be building: another generation already is/);
    expect(e.message).toContain('activate or retire it first');
  });

  it('a reclaimed generation refuses its scan and says to ensure it again', async () => {
    const { store, insert } = await pgHarness(engine.client);
    await insert(1, 'one');
    await store.ensureGeneration('a', G8, 'active');
    await store.retire('a', { force: true });
    await store.reclaim('a');
    const e = await rejection(store.pendingForGeneration('a', 10));
    expect(e).toBeInstanceOf(LifecycleError);
    expect(e.message).toBe(
      'generation "a" was reclaimed: its vectors are gone; ensure it again to rebuild it',
    );
    expect(await store.coverage('a')).toEqual({ embedded: 0, skipped: 0, backlog: 1 });
  });
});
