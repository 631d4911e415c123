import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, describe, expect, it } from 'vitest';
import { writeTinyModel } from '../support/tiny-model.js';
import { statusOf } from './helpers.js';
import { BIN, runCli, runJson } from './run-cli.js';

// The CLI with `--encoder transformers --model <folder>`: the tiny ONNX model
// written by the test, loaded by the real transformers.js code in a worker.
const dir = mkdtempSync(join(tmpdir(), 'vecfill-cli-tf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const model = writeTinyModel(join(dir, 'tiny-bert'));
const env = { VECFILL_MODELS_DIR: join(dir, 'models') };

interface SearchOut {
  results: { id: string; score: number; passage: string }[];
}

describe('vecfill with --encoder transformers', () => {
  it('indexes a folder, searches it, and migrates to a prefixed variant of the model', async () => {
    const notes = join(dir, 'notes');
    mkdirSync(notes);
    writeFileSync(join(notes, 'cats.md'), 'The cat sat on the mat.');
    writeFileSync(join(notes, 'sea.md'), 'Tides and the moon.');
    writeFileSync(join(notes, 'dogs.md'), 'The dog sat.');
    const db = join(dir, 'notes.db');
    await runJson(['index', notes, '--db', db, '--encoder', 'transformers', '--model', model], {
      env,
    });
    const status = await statusOf(db, { env });
    expect(status.generations).toHaveLength(1);
    expect(status.generations[0]).toMatchObject({
      state: 'active',
      model: 'local/tiny-bert',
      backlog: 0,
      params: { runtime: 'transformers.js', pooling: 'mean', maxTokens: 8 },
    });
    const found = await runJson<SearchOut>(['search', 'moon tides', '--db', db], { env });
    expect(found.results[0]?.id).toBe('sea.md');

    await runJson(
      [
        'migrate',
        '--db',
        db,
        '--encoder',
        'transformers',
        '--model',
        model,
        '--text-prefix',
        'doc: ',
        '--query-prefix',
        'query: ',
        '--activate',
      ],
      { env },
    );
    const after = await statusOf(db, { env });
    const active = after.generations.find((g) => g.state === 'active');
    expect(active?.params).toMatchObject({ documentPrefix: 'doc: ', queryPrefix: 'query: ' });
    expect(active?.generation).not.toBe(status.generations[0]?.generation);
    const again = await runJson<SearchOut>(['search', 'the cat', '--db', db], { env });
    expect(again.results.map((r) => r.id).sort()).toEqual(['cats.md', 'dogs.md', 'sea.md']);
  });

  it('serves the transformers-embedded database over MCP, stdout clean', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [BIN, 'mcp', '--db', join(dir, 'notes.db')],
      env: { ...(process.env as Record<string, string>), ...env },
      stderr: 'ignore',
    });
    const client = new Client({ name: 'vecfill-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      const r = (await client.callTool({
        name: 'search',
        arguments: { query: 'the cat', limit: 3 },
      })) as { isError?: boolean; structuredContent?: { results: { id: string }[] } };
      expect(r.isError).toBeFalsy();
      expect(r.structuredContent!.results.map((x) => x.id).sort()).toEqual([
        'cats.md',
        'dogs.md',
        'sea.md',
      ]);
    } finally {
      await client.close();
    }
  });

  it('runs the demo with a local model', async () => {
    const out = await runJson<{ searches: { results: unknown[] }[] }>(
      ['demo', '--db', join(dir, 'demo.db'), '--encoder', 'transformers', '--model', model],
      { env },
    );
    expect(out.searches.length).toBeGreaterThan(0);
    const status = await statusOf(join(dir, 'demo.db'), { env });
    expect(status.generations[0]?.model).toBe('local/tiny-bert');
    expect(status.generations[0]?.backlog).toBe(0);
  });

  it('refuses an unknown --dtype as a usage error', async () => {
    const r = await runCli(
      [
        'index',
        dir,
        '--db',
        join(dir, 'x.db'),
        '--encoder',
        'transformers',
        '--model',
        model,
        '--dtype',
        'fp64',
      ],
      { env },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--dtype must be one of fp32/);
  });
});
