import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CACHE_DIR } from './cli/run-cli.js';
import { startPglite } from './postgres/helpers.js';
import { finished } from './support/child.js';
import { type FaultServer, startFaultServer } from './support/fault-server.js';
import { writeTinyModel } from './support/tiny-model.js';

// Every ```ts block of the README's library sections runs as written, in
// order, as a user would paste it: each section's blocks form one program,
// run by node against a temporary database. What a reader's machine would
// have and this one does not is provided around the blocks, never inside
// them: an OpenAI-compatible server on 127.0.0.1 stands in for OpenAI and
// Ollama (its URL replaces theirs), PGlite over the wire stands in for
// DATABASE_URL, a tiny model folder stands in for a Hugging Face download,
// and a preamble defines what a fragment takes from its surroundings.

const ROOT = join(import.meta.dirname, '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

interface Block {
  section: string;
  code: string;
}

/** The ```ts blocks of the README (indented ones too), with the `##`/`###` heading they are under. */
function tsBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  let section = '';
  let open: { indent: string; lines: string[] } | undefined;
  for (const line of markdown.split('\n')) {
    if (open) {
      if (line.trim() === '```') {
        blocks.push({ section, code: open.lines.join('\n') });
        open = undefined;
      } else open.lines.push(line.startsWith(open.indent) ? line.slice(open.indent.length) : line);
      continue;
    }
    const heading = /^#{2,3} (.*)$/.exec(line);
    if (heading) section = heading[1]!;
    const fence = /^(\s*)```ts\s*$/.exec(line);
    if (fence) open = { indent: fence[1]!, lines: [] };
  }
  return blocks;
}

/** Which program each section's blocks belong to (sections in README order). */
const PROGRAMS: Record<string, string[]> = {
  sqlite: [
    'Library quick start (SQLite)',
    'Migrating to a new model (building → activate → reclaim)',
    'SQLite backend details',
  ],
  postgres: ['PostgreSQL backend (`vecfill/postgres`)'],
  encoders: ['Encoders (`vecfill/encoders`)'],
  transformers: ['A real embedding model on your own machine (`transformers`)'],
  langchain: ['LangChain (`vecfill/langchain`)'],
};

const blocks = tsBlocks(README);
let work: string;
let server: FaultServer;
let pglite: PGlite;
let socket: PGLiteSocketServer;
let databaseUrl: string;
let tinyModel: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'vecfill-readme-'));
  // Vectors of 768 dimensions, as nomic-embed-text returns.
  server = await startFaultServer({ dimensions: 768, decide: () => 'ok' });
  pglite = await startPglite();
  const port = 20_000 + Math.floor(Math.random() * 30_000);
  socket = new PGLiteSocketServer({ db: pglite, port, host: '127.0.0.1' });
  await socket.start();
  databaseUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  tinyModel = writeTinyModel(join(work, 'tiny-model'));
});

afterAll(async () => {
  await server?.close();
  await socket?.stop();
  await pglite?.close();
  rmSync(work, { recursive: true, force: true });
});

/**
 * Runs `code` as an ES module with node. The file lives inside this
 * package (a git-ignored folder), so `vecfill/...` resolves to the package
 * itself through its exports (the build) and other imports to its
 * dependencies, as in a user's project; the working directory is a fresh
 * temporary folder.
 */
function runProgram(
  name: string,
  code: string,
  stubs: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const dir = join(ROOT, '.readme-run', `${name}-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [pkg, source] of Object.entries(stubs)) {
    const pkgDir = join(dir, 'node_modules', ...pkg.split('/'));
    mkdirSync(pkgDir, { recursive: true });
    writeFileSync(
      join(pkgDir, 'package.json'),
      JSON.stringify({ name: pkg, type: 'module', exports: './index.js' }),
    );
    writeFileSync(join(pkgDir, 'index.js'), source);
  }
  const file = join(dir, 'program.mjs');
  writeFileSync(file, code);
  const cwd = mkdtempSync(join(work, `${name}-`));
  const child = spawn(process.execPath, [file], {
    cwd,
    env: {
      ...process.env,
      VECFILL_CACHE_DIR: CACHE_DIR,
      DATABASE_URL: databaseUrl,
      OPENAI_API_KEY: 'sk-readme-test',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return finished(child).finally(() => rmSync(dir, { recursive: true, force: true }));
}

function program(name: string): string {
  const sections = PROGRAMS[name]!;
  const code = blocks
    .filter((b) => sections.includes(b.section))
    .map((b) => b.code)
    .join('\n\n');
  expect(code, `the README has ts blocks under ${sections.join(', ')}`).not.toBe('');
  // The endpoints a reader would call: this machine's stand-in server.
  return code
    .replaceAll("'https://api.openai.com/v1'", JSON.stringify(server.url))
    .replaceAll("'http://127.0.0.1:11434/v1'", JSON.stringify(server.url));
}

async function expectRuns(name: string, code: string, stubs?: Record<string, string>) {
  const r = await runProgram(name, code, stubs);
  expect(r.stderr, `program ${name}:\n${code}\n--- stderr:`).toBe('');
  expect(r.code).toBe(0);
  return r;
}

describe('README library sections', () => {
  it('every ts block belongs to a section this test runs', () => {
    const known = new Set(Object.values(PROGRAMS).flat());
    const unknown = blocks.filter((b) => !known.has(b.section)).map((b) => b.section);
    expect(unknown).toEqual([]);
    expect(blocks.length).toBeGreaterThanOrEqual(10);
  });

  it('SQLite: quick start, migration (search during it included), rollback, reclaim and the backend details run as written', async () => {
    const code = [
      // What the backend-details fragments take from their surroundings.
      "const schema = { docsTable: 'notes', idColumn: 'id', contentColumn: 'body', revisionColumn: 'updated_at', vectorsPrefix: 'notes_vec' };",
      'let encoder;',
      program('sqlite').replace(
        'const words = await wordVectors(); // offline, 100-d',
        'const words = await wordVectors(); // offline, 100-d\nencoder = words;',
      ),
      // What the blocks promised, checked at the end.
      "if (store.generations().find((g) => g.key === 'words-v1').state !== 'active') throw new Error('rollback did not activate words-v1');",
      "if (!store.generations().find((g) => g.key === 'nomic-v1').reclaimed) throw new Error('nomic-v1 was not reclaimed');",
      "if (hits[0]?.doc !== 1) throw new Error('quick start search found ' + JSON.stringify(hits));",
    ].join('\n');
    await expectRuns('sqlite', code);
  }, 120_000);

  it('PostgreSQL: the block runs against a server given by DATABASE_URL', async () => {
    await pglite.exec(`CREATE SCHEMA IF NOT EXISTS app;
      CREATE TABLE IF NOT EXISTS app.notes (id integer PRIMARY KEY, body text NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(), lang text);
      INSERT INTO app.notes (id, body, lang) VALUES (1, 'quarterly plans for the team', 'en') ON CONFLICT DO NOTHING;`);
    const code = [
      "import { fill, search } from 'vecfill';",
      "import { wordVectors } from 'vecfill/encoders';",
      'const encoder = await wordVectors();',
      program('postgres'),
      'await pool.end();',
      "if (hits[0]?.doc !== 1) throw new Error('found ' + JSON.stringify(hits));",
    ].join('\n');
    await expectRuns('postgres', code);
  }, 120_000);

  it('Encoders: the openAICompatible blocks run against an OpenAI-compatible server', async () => {
    const code = [
      "import { openAICompatible } from 'vecfill/encoders';",
      program('encoders'),
      "const [v] = await ollama.encode(['a tide table'], {});",
      "if (v.length !== 768 || ollama.generation.dimensions !== 768) throw new Error('probe');",
      "if (openai.generation.dimensions !== 512) throw new Error('dimensions');",
    ].join('\n');
    await expectRuns('encoders', code);
  }, 60_000);

  it('transformers: the block runs with a model folder in place of the Hugging Face id', async () => {
    const code = [
      "import { fill, search } from 'vecfill';",
      "import { SqliteStore, openDatabase } from 'vecfill/sqlite';",
      "const db = openDatabase('app.db');",
      "db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');",
      "db.prepare('INSERT INTO notes (body) VALUES (?)').run('the moon pulls the tides');",
      "const store = SqliteStore.open(db, { docsTable: 'notes', idColumn: 'id', contentColumn: 'body', vectorsPrefix: 'notes_vec' });",
      program('transformers').replace("'Xenova/all-MiniLM-L6-v2'", JSON.stringify(tinyModel)),
    ].join('\n');
    await expectRuns('transformers', code);
  }, 120_000);

  it('LangChain: the block runs with a stand-in for @langchain/ollama', async () => {
    // OllamaEmbeddings talks to Ollama's own API; this stand-in embeds
    // locally (768-d hash vectors) through the same LangChain interface.
    const ollama = `import { Embeddings } from '@langchain/core/embeddings';
function embed(text) {
  const v = new Array(768).fill(0);
  for (const w of text.toLowerCase().match(/[a-z]+/g) ?? []) {
    let h = 0;
    for (const c of w) h = (h * 31 + c.charCodeAt(0)) >>> 0;
    v[h % 768] += 1;
  }
  if (v.every((x) => x === 0)) v[0] = 1;
  return v;
}
export class OllamaEmbeddings extends Embeddings {
  constructor(fields = {}) { super(fields); this.model = fields.model; }
  async embedDocuments(texts) { return texts.map(embed); }
  async embedQuery(text) { return embed(text); }
}
`;
    const code = [
      "import { SqliteStore, openDatabase } from 'vecfill/sqlite';",
      "const db = openDatabase('app.db');",
      "db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL, lang TEXT)');",
      "const store = SqliteStore.open(db, { docsTable: 'notes', idColumn: 'id', contentColumn: 'body', vectorsPrefix: 'notes_vec' });",
      program('langchain'),
      "if (docs[0]?.pageContent !== 'Tides follow the moon.') throw new Error('retrieved ' + JSON.stringify(docs));",
    ].join('\n');
    await expectRuns('langchain', code, { '@langchain/ollama': ollama });
  }, 120_000);
});
