import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import type { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ProgressNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPglite, startSocketServer } from '../postgres/helpers.js';
import { tableFlags } from './helpers.js';
import { BIN, CACHE_DIR, runJson } from './run-cli.js';

// The SDK's own client spawns `vecfill mcp` as a child process, as an
// assistant does, and talks to it over stdio.

interface SearchContent {
  query: string;
  results: {
    rank: number;
    id: string | number;
    score: number;
    generation: string;
    chunk: { index: number; start?: number; end?: number };
    passage: string;
  }[];
}
interface ToolResult {
  content: { type: string; text: string }[];
  structuredContent?: unknown;
  isError?: boolean;
}

const dir = mkdtempSync(join(tmpdir(), 'vecfill-mcp-'));
const demoDb = join(dir, 'demo.db');
const open: Client[] = [];

async function connect(db: string, extra: string[] = []): Promise<Client> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, 'mcp', '--db', db, ...extra],
    env: { ...(process.env as Record<string, string>), VECFILL_CACHE_DIR: CACHE_DIR },
    stderr: 'ignore',
  });
  const client = new Client({ name: 'vecfill-test', version: '1.0.0' });
  await client.connect(transport);
  open.push(client);
  return client;
}
const call = (client: Client, name: string, args: Record<string, unknown>) =>
  client.callTool({ name, arguments: args }) as Promise<ToolResult>;

beforeAll(async () => {
  await runJson(['demo', '--db', demoDb]);
});
afterAll(async () => {
  await Promise.all(open.map((c) => c.close()));
  rmSync(dir, { recursive: true, force: true });
});

describe('vecfill mcp on the demo database (SQLite)', () => {
  let client: Client;
  beforeAll(async () => {
    client = await connect(demoDb);
  });

  it('lists search and status, and no fill tool unless --allow-fill', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['search', 'status']);
    const search = tools.find((t) => t.name === 'search')!;
    expect(Object.keys(search.inputSchema.properties ?? {}).sort()).toEqual([
      'filter',
      'generation',
      'hybrid',
      'limit',
      'query',
    ]);
    expect(search.annotations?.readOnlyHint).toBe(true);
  });

  it('searches: ranked results with id, score, passage and offsets, as text and structured content', async () => {
    const r = await call(client, 'search', { query: 'my bread dough is not rising', limit: 3 });
    expect(r.isError).toBeFalsy();
    const s = r.structuredContent as SearchContent;
    expect(s.results).toHaveLength(3);
    expect(String(s.results[0]!.id)).toMatch(/^baking\//);
    expect(s.results.map((x) => x.rank)).toEqual([1, 2, 3]);
    expect(s.results[0]!.score).toBeGreaterThanOrEqual(s.results[1]!.score);
    expect(s.results[0]!.chunk.end).toBeGreaterThan(s.results[0]!.chunk.start ?? -1);
    expect(s.results[0]!.passage.length).toBeGreaterThan(0);
    expect(r.content[0]!.text).toContain(String(s.results[0]!.id));
    const hybrid = await call(client, 'search', {
      query: 'bread dough rising',
      limit: 2,
      hybrid: true,
    });
    expect(String((hybrid.structuredContent as SearchContent).results[0]!.id)).toMatch(/^baking\//);
  });

  it('reports status: generations with coverage and backlog', async () => {
    const r = await call(client, 'status', {});
    const s = r.structuredContent as {
      table: string;
      generations: { state: string; backlog: number; embedded: number }[];
    };
    expect(s.table).toBe('documents');
    expect(s.generations).toHaveLength(1);
    expect(s.generations[0]).toMatchObject({ state: 'active', backlog: 0 });
    expect(s.generations[0]!.embedded).toBeGreaterThan(100);
  });

  it('answers bad arguments with a tool error and keeps serving', async () => {
    for (const args of [
      { query: 'tides', limit: 0 },
      { query: 'tides', limit: 'ten' },
      { limit: 3 },
      { query: 'tides', filter: { path: { nested: 1 } } },
      { query: 'tides', generation: 'no-such-generation' },
    ]) {
      const r = await call(client, 'search', args);
      expect(r.isError, JSON.stringify(args)).toBe(true);
      expect(r.content[0]!.text.length).toBeGreaterThan(0);
    }
    const ok = await call(client, 'search', { query: 'comet tail', limit: 1 });
    expect(ok.isError).toBeFalsy();
  });

  it('says so when a query cannot be embedded', async () => {
    const blank = await call(client, 'search', { query: '   ' });
    expect(blank.isError).toBe(true);
    expect(blank.content[0]!.text).toMatch(/blank/);
    const unknown = await call(client, 'search', { query: 'qzxvw blorfty' });
    expect(unknown.isError).toBe(true);
    expect(unknown.content[0]!.text).toMatch(/could not be embedded/);
  });

  it('filters by column equality with bound values: no SQL gets in', async () => {
    const all = await call(client, 'search', { query: 'comet tail', limit: 3 });
    const path = String((all.structuredContent as SearchContent).results[1]!.id);
    const one = await call(client, 'search', { query: 'comet tail', limit: 3, filter: { path } });
    expect((one.structuredContent as SearchContent).results.map((x) => x.id)).toEqual([path]);
    const asPairs = await call(client, 'search', {
      query: 'comet tail',
      limit: 3,
      filter: [{ column: 'path', value: path }],
    });
    expect((asPairs.structuredContent as SearchContent).results.map((x) => x.id)).toEqual([path]);

    const injectedValue = await call(client, 'search', {
      query: 'comet tail',
      filter: { path: "x' OR '1'='1" },
    });
    expect(injectedValue.isError).toBeFalsy();
    expect((injectedValue.structuredContent as SearchContent).results).toEqual([]);

    for (const column of ['path = path OR 1=1 --', 'path"', '1', 'nosuchcolumn']) {
      const r = await call(client, 'search', { query: 'comet tail', filter: { [column]: 'x' } });
      expect(r.isError, column).toBe(true);
      expect(r.content[0]!.text).toMatch(/not a column of the documents table/);
    }
    const db = new Database(demoDb, { readonly: true });
    expect((db.prepare('SELECT count(*) AS n FROM documents').get() as { n: number }).n).toBe(288);
    db.close();
  });
});

describe('vecfill mcp --allow-fill', () => {
  it('offers fill, which embeds an edited document with progress notifications', async () => {
    const db = join(dir, 'fill.db');
    await runJson(['demo', '--db', db]);
    const sql = new Database(db);
    const edited = sql
      .prepare(
        "UPDATE documents SET content = content || ' Extra words.', hash = 'edited' WHERE path IN (SELECT path FROM documents ORDER BY path LIMIT 2)",
      )
      .run();
    sql.close();
    expect(edited.changes).toBe(2);
    const client = await connect(db, ['--allow-fill']);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['fill', 'search', 'status']);
    // Count the notifications as they arrive. (The SDK client's own `onprogress`
    // handles a notification a microtask late and drops it once the result is
    // in, so it can lose the last ones when both come in one read.)
    const progress: number[] = [];
    client.setNotificationHandler(ProgressNotificationSchema, (n) => {
      progress.push(n.params.progress);
    });
    const r = (await client.callTool({ name: 'fill', arguments: {} }, undefined, {
      onprogress: () => {},
    })) as ToolResult;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(r.isError).toBeFalsy();
    const s = r.structuredContent as { generations: { documents: number }[] };
    expect(s.generations[0]!.documents).toBe(2);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toBe(2);
    const status = await call(client, 'status', {});
    expect(
      (status.structuredContent as { generations: { backlog: number }[] }).generations[0]!.backlog,
    ).toBe(0);
  });
});

describe('vecfill mcp keeps stdout for the protocol', () => {
  it('writes only JSON-RPC messages on stdout', async () => {
    const child = spawn(process.execPath, [BIN, 'mcp', '--db', demoDb], {
      env: { ...process.env, VECFILL_CACHE_DIR: CACHE_DIR },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    const send = (m: unknown) => child.stdin.write(`${JSON.stringify(m)}\n`);
    send({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: '2025-06-18',
        capabilities: {},
        clientInfo: { name: 'raw', version: '1' },
      },
    });
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send({
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: { name: 'search', arguments: { query: 'kitten knead', limit: 2 } },
    });
    send({
      jsonrpc: '2.0',
      id: 3,
      method: 'tools/call',
      params: { name: 'search', arguments: {} },
    });
    await new Promise<void>((resolve) => {
      const check = () => {
        if ((stdout.match(/\n/g) ?? []).length >= 3) resolve();
        else setTimeout(check, 50);
      };
      check();
    });
    child.stdin.end();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    const messages = lines.map((line) => JSON.parse(line) as { jsonrpc: string; id: number });
    for (const m of messages) expect(m.jsonrpc).toBe('2.0');
    const byId = (id: number) =>
      messages.find((m) => m.id === id) as unknown as { result: { isError?: boolean } };
    expect(byId(2).result.isError).toBeFalsy();
    expect(byId(3).result.isError).toBe(true);
  });
});

describe('vecfill mcp on a postgres:// URL', () => {
  let pglite: PGlite;
  let server: PGLiteSocketServer;
  let url: string;
  beforeAll(async () => {
    pglite = await startPglite();
    let port: number;
    ({ socket: server, port } = await startSocketServer(pglite, 4));
    url = `postgres://postgres:secret-password@127.0.0.1:${port}/postgres`;
    await pglite.exec(`CREATE TABLE notes (id integer PRIMARY KEY, body text NOT NULL, lang text);
      INSERT INTO notes (id, body, lang) VALUES
        (1, 'Tides rise and fall twice a day with the moon.', 'en'),
        (2, 'Les marées montent et descendent avec la lune, tides and moon.', 'fr'),
        (3, 'Compound interest grows savings over decades.', 'en');`);
    await runJson(['fill', '--db', url, ...tableFlags()]);
  });
  afterAll(async () => {
    await server?.stop();
    await pglite?.close();
  });

  it('searches with a filter, and refuses a column that is not in the table', async () => {
    const client = await connect(url);
    const r = await call(client, 'search', { query: 'moon tides', filter: { lang: 'fr' } });
    expect((r.structuredContent as SearchContent).results.map((x) => x.id)).toEqual([2]);
    const all = await call(client, 'search', { query: 'moon tides', limit: 1 });
    expect((all.structuredContent as SearchContent).results[0]!.id).toBe(1);
    const bad = await call(client, 'search', {
      query: 'moon',
      filter: { 'lang = lang OR true; DROP TABLE notes; --': 'x' },
    });
    expect(bad.isError).toBe(true);
    const status = await call(client, 'status', {});
    expect(status.content[0]!.text).not.toContain('secret-password');
    expect(
      (await pglite.query<{ n: number }>('SELECT count(*)::int AS n FROM notes')).rows[0]!.n,
    ).toBe(3);
  });
});
