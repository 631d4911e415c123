import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fill } from '../../src/core/index.js';
import { cleanupsAfterEach, SCHEMA, sqliteHarness } from '../sqlite/helpers.js';
import { finished } from '../support/child.js';
import { assertDistFresh } from '../support/dist.js';
import { hashEncoder } from '../support/hash-encoder.js';

const cleanupAfter = cleanupsAfterEach();

// The reader runs dist/ in another process.
beforeAll(assertDistFresh);

async function harness() {
  const h = await sqliteHarness();
  cleanupAfter(h.close);
  return h;
}

describe('a second process (WAL)', () => {
  it('serves a second process reading while a fill writes (WAL)', async () => {
    const h = await harness();
    for (let i = 1; i <= 300; i++) await h.insert(i, `shared words document ${i}`);
    h.store.ensureGeneration('a', { model: 'm', dimensions: 16 }, 'active');
    await fill(h.store, 'a', hashEncoder(16).encode, { scanBatch: 50 });
    for (let i = 301; i <= 2300; i++) await h.insert(i, `more shared words ${i}`);
    const path = h.db.name;
    const reader = `
      const { openDatabase, SqliteStore } = await import(${JSON.stringify(join(import.meta.dirname, '../../dist/sqlite/index.js'))});
      const db = openDatabase(${JSON.stringify(path)}, { readonly: true });
      const store = SqliteStore.open(db, ${JSON.stringify(SCHEMA)});
      const q = new Float32Array(16); q[0] = 1;
      let reads = 0, min = Infinity;
      const until = Date.now() + 1500;
      while (Date.now() < until) { const hits = store.queryGeneration('a', q, 5); min = Math.min(min, hits.length); reads++; await new Promise(r => setTimeout(r, 5)); }
      console.log(JSON.stringify({ reads, min }));`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', reader], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const done = finished(child);
    await fill(h.store, 'a', hashEncoder(16).encode, { scanBatch: 10 });
    const { code, stdout, stderr } = await done;
    expect(code, stderr).toBe(0);
    const result = JSON.parse(stdout) as { reads: number; min: number };
    expect(result.reads).toBeGreaterThan(10);
    expect(result.min).toBe(5);
  });
});
