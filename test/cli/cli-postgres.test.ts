import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINE, startEngine, type TestEngine } from '../postgres/helpers.js';
import { tableFlags } from './helpers.js';
import { runCli, runJson } from './run-cli.js';

let engine: TestEngine;
let url: string;

beforeAll(async () => {
  // A fresh database on the test server (VECFILL_TEST_PG_URL), or PGlite behind its socket server.
  engine = await startEngine({ password: 'secret-password' });
  url = engine.url;
  await engine.client.query(
    'CREATE TABLE notes (id integer PRIMARY KEY, body text NOT NULL, rev integer NOT NULL DEFAULT 1, lang text)',
  );
  await engine.client.query(`INSERT INTO notes (id, body, lang) VALUES
      (1, 'The orchestra tuned before the symphony began.', 'en'),
      (2, 'Tides rise and fall twice a day with the moon.', 'en'),
      (3, 'Compound interest grows savings over decades.', 'en')`);
});

afterAll(async () => {
  await engine?.close();
});

describe(`vecfill on a postgres:// URL (${ENGINE})`, () => {
  it('fills, searches, reports status and migrates a PostgreSQL table', async () => {
    const first = await runJson<{ generations: { documents: number }[] }>([
      'fill',
      '--db',
      url,
      ...tableFlags(),
      '--revision',
      'rev',
    ]);
    expect(first.generations[0]!.documents).toBe(3);
    const hits = await runJson<{ results: { id: number; passage: string }[] }>([
      'search',
      'symphony orchestra',
      '--db',
      url,
      '--limit',
      '1',
    ]);
    expect(hits.results[0]!.id).toBe(1);
    expect(hits.results[0]!.passage).toContain('orchestra');
    const filtered = await runJson<{ results: { id: number }[] }>([
      'search',
      'moon tides',
      '--db',
      url,
      '--where',
      'd.id <> 2',
    ]);
    expect(filtered.results.map((r) => r.id)).not.toContain(2);
    const quantized = await runCli(['migrate', '--db', url, '--quantization', 'binary']);
    expect(quantized.code).toBe(2);
    expect(quantized.stderr).toMatch(/work on SQLite databases/);
    await runJson([
      'migrate',
      '--db',
      url,
      '--weighting',
      'mean',
      '--generation',
      'mean',
      '--activate',
    ]);
    const status = await runJson<{
      database: string;
      generations: { generation: string; state: string; embedded: number }[];
    }>(['status', '--db', url]);
    expect(status.database).not.toContain('secret-password');
    expect(status.generations.find((g) => g.generation === 'mean')).toMatchObject({
      state: 'active',
      embedded: 3,
    });
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(
      "UPDATE notes SET body = 'Glaciers carve valleys', rev = rev + 1 WHERE id = 3",
    );
    await client.end();
    const again = await runJson<{ generations: { documents: number }[] }>(['fill', '--db', url]);
    expect(again.generations[0]!.documents).toBe(1);
    const index = await runCli(['index', '.', '--db', url]);
    expect(index.code).toBe(2);
    expect(index.stderr).toMatch(/SQLite files only/);
  }, 120_000);

  it('runs --where read-only: a filter that writes is refused and writes nothing', async () => {
    await engine.client.query('CREATE SEQUENCE IF NOT EXISTS s1');
    const r = await runCli([
      'search',
      'moon tides',
      '--db',
      url,
      '--where',
      "setval('s1', 999) > 0",
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--where must only read: searches run read-only/);
    const seq = await engine.client.query('SELECT last_value, is_called FROM s1');
    expect(seq.rows[0]).toMatchObject({ is_called: false });
  }, 60_000);

  it('says clearly when the server cannot be reached, without printing the password', async () => {
    const r = await runCli(['status', '--db', 'postgres://u:hunter2@127.0.0.1:9/none']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/cannot connect to postgres:\/\/u:\*\*\*@127\.0\.0\.1:9\/none/);
    expect(r.stderr).not.toContain('hunter2');
  });
});
