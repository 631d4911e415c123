import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SyntheticEmbeddings } from '@langchain/core/utils/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fill, fingerprint, search } from '../../src/core/index.js';
import { fromLangChain, openAICompatible } from '../../src/encoders/index.js';
import { runCli, runJson } from '../cli/run-cli.js';
import { type FaultServer, startFaultServer } from '../support/fault-server.js';
import { MemoryStore } from '../support/memory-store.js';

const DIMS = 16;
let server: FaultServer;
beforeAll(async () => {
  server = await startFaultServer({ dimensions: DIMS, decide: () => 'ok' });
});
afterAll(() => server.close());

describe('query prefixes', () => {
  it('fill sends the document prefix and search the query prefix (openAICompatible)', async () => {
    const enc = await openAICompatible({
      baseURL: server.url,
      model: 'nomic-embed-text',
      dimensions: DIMS,
      prefix: 'search_document: ',
      queryPrefix: 'search_query: ',
    });
    const store = new MemoryStore();
    store.put('a', 'tides follow the moon');
    store.put('b', 'orchestras tune before a symphony');
    server.log.length = 0;
    await fill(store, 'g', enc.encode);
    expect(server.log.flatMap((l) => l.texts).sort()).toEqual([
      'search_document: orchestras tune before a symphony',
      'search_document: tides follow the moon',
    ]);
    store.live = ['g'];
    server.log.length = 0;
    await search(store, 'moon', { encoderFor: () => enc.encode });
    expect(server.log.flatMap((l) => l.texts)).toEqual(['search_query: moon']);
  });

  it('a change of either prefix is a new fingerprint; an unset query prefix keeps the old one', async () => {
    const make = (o: { prefix?: string; queryPrefix?: string }) =>
      openAICompatible({ baseURL: server.url, model: 'm', dimensions: DIMS, ...o });
    const docOnly = (await make({ prefix: 'search_document: ' })).generation;
    // Exactly what a generation made before queryPrefix existed looked like.
    expect(docOnly.params).toEqual({
      api: 'openai-embeddings',
      prefix: 'search_document: ',
      requestedDimensions: DIMS,
    });
    expect(fingerprint(docOnly)).toBe(
      fingerprint({
        model: 'm',
        dimensions: DIMS,
        params: {
          api: 'openai-embeddings',
          prefix: 'search_document: ',
          requestedDimensions: DIMS,
        },
      }),
    );
    const prints = await Promise.all(
      [
        { prefix: 'search_document: ' },
        { prefix: 'search_document: ', queryPrefix: 'search_document: ' },
        { prefix: 'search_document: ', queryPrefix: 'search_query: ' },
        { prefix: 'search_document: ', queryPrefix: 'query: ' },
        { prefix: 'search_document: ', queryPrefix: '' },
        { prefix: 'passage: ', queryPrefix: 'search_query: ' },
        { queryPrefix: 'search_query: ' },
        {},
      ].map(async (o) => fingerprint((await make(o)).generation)),
    );
    // A query prefix equal to the document prefix is the old default: same space.
    expect(prints[1]).toBe(prints[0]);
    expect(new Set([prints[0], ...prints.slice(2)]).size).toBe(7);
  });

  it('fromLangChain embeds queries with embedQuery and documents with embedDocuments', async () => {
    const calls: string[] = [];
    const synthetic = new SyntheticEmbeddings({ vectorSize: 12 });
    const instructed = {
      async embedDocuments(documents: string[]): Promise<number[][]> {
        calls.push(...documents.map((d) => `doc:${d}`));
        return synthetic.embedDocuments(documents);
      },
      async embedQuery(query: string): Promise<number[]> {
        calls.push(`query:${query}`);
        return synthetic.embedQuery(`Represent this sentence for searching: ${query}`);
      },
    };
    const enc = await fromLangChain(instructed, { model: 'bge', dimensions: 12 });
    const store = new MemoryStore();
    store.put('a', 'alpha text');
    await fill(store, 'g', enc.encode);
    store.live = ['g'];
    await search(store, 'alpha', { encoderFor: () => enc.encode });
    expect(calls).toEqual(['doc:alpha text', 'query:alpha']);
  });

  it('the CLI takes --text-prefix (alias --prefix) and --query-prefix, saved with the generation', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vecfill-qp-'));
    try {
      mkdirSync(join(dir, 'notes'));
      writeFileSync(join(dir, 'notes', 'moon.md'), 'Tides rise and fall with the moon.');
      const db = join(dir, 'v.db');
      const flags = ['--encoder', 'openai', '--base-url', server.url, '--model', 'nomic'];
      server.log.length = 0;
      const indexed = await runCli([
        'index',
        join(dir, 'notes'),
        '--db',
        db,
        ...flags,
        '--dimensions',
        String(DIMS),
        '--text-prefix',
        'search_document: ',
        '--query-prefix',
        'search_query: ',
      ]);
      expect(indexed.code, indexed.stderr).toBe(0);
      expect(server.log.flatMap((l) => l.texts)).toEqual([
        'search_document: Tides rise and fall with the moon.',
      ]);
      server.log.length = 0;
      const hits = await runJson<{ results: { id: string }[] }>(['search', 'moon', '--db', db]);
      expect(hits.results[0]!.id).toBe('moon.md');
      expect(server.log.flatMap((l) => l.texts)).toEqual(['search_query: moon']);
      // --prefix still names the document prefix: a migration with another one is a new generation.
      server.log.length = 0;
      const migrated = await runJson<{ generation: string }>([
        'migrate',
        '--db',
        db,
        ...flags,
        '--dimensions',
        String(DIMS),
        '--prefix',
        'passage: ',
      ]);
      expect(migrated.generation).toMatch(/^nomic-/);
      expect(server.log.flatMap((l) => l.texts)).toEqual([
        'passage: Tides rise and fall with the moon.',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
