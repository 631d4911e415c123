import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionSecrets, Redactor, redactConnectionString } from '../../src/cli/redact.js';
import { ENGINE, startEngine, type TestEngine } from '../postgres/helpers.js';
import { tableFlags } from './helpers.js';
import { type CliResult, runCli } from './run-cli.js';

/** A password with a raw "@": the part before it and the part after it must both stay hidden. */
const PW_AT = 's3cr@tail-XYZZY';
const PW_QUERY = 'qu3ry-Secret-77';
const PW_CONNINFO = 'k3yval-Secret-99';
const PW_DOWN = 'unre@chable-Secret-55';
/** Every fragment that must never be printed. */
const FRAGMENTS = ['s3cr', 'tail-XYZZY', PW_QUERY, PW_CONNINFO, 'unre@ch', 'chable-Secret-55'];

let configured: TestEngine;
let fresh: TestEngine;
let dir: string;

/** `url` with `password` put raw into its userinfo. */
function withPassword(url: string, password: string): string {
  return url.replace(/^(postgres(?:ql)?:\/\/)([^:@/]+)(?::[^@/]*)?@/, `$1$2:${password}@`);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vecfill-secrets-'));
  configured = await startEngine();
  fresh = await startEngine();
  await configured.client.query(
    'CREATE TABLE notes (id integer PRIMARY KEY, body text NOT NULL, rev integer NOT NULL DEFAULT 1)',
  );
  await configured.client.query(`INSERT INTO notes (id, body) VALUES
      (1, 'The orchestra tuned before the symphony began.'),
      (2, 'Tides rise and fall twice a day with the moon.')`);
});

afterAll(async () => {
  await configured?.close();
  await fresh?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the CLI in the test folder (Ctrl-C after 20 s, for commands that wait). */
const run = (args: string[], env: Record<string, string> = {}): Promise<CliResult> =>
  runCli(args, { env, cwd: dir, timeoutMs: 20_000 });

function expectNoSecret(r: CliResult, label: string): void {
  const all = r.stdout + r.stderr;
  for (const f of FRAGMENTS) {
    expect(all.includes(f), `${label} printed "${f}":\n${all}`).toBe(false);
    expect(all.includes(encodeURIComponent(f)), `${label} printed "${f}" encoded:\n${all}`).toBe(
      false,
    );
  }
}

/** Every command, with its usage errors, for one --db value. */
function commandsFor(db: string): string[][] {
  const lines: string[][] = [
    ['status', '--db', db],
    ['status', '--db', db, '--json'],
    ['search', 'symphony orchestra', '--db', db],
    ['search', 'symphony orchestra', '--db', db, '--json'],
    ['search', 'symphony', '--db', db, '--limit', 'lots'],
    ['search', 'symphony', '--db', db, '--bogus'],
    ['fill', '--db', db],
    ['fill', '--db', db, '--json'],
    ['fill', '--db', db, '--table', 'notes'],
    ['migrate', '--db', db, '--weighting', 'mean', '--generation', 'mean'],
    ['migrate', '--db', db, '--quantization', 'binary'],
    ['activate', 'mean', '--db', db],
    ['activate', 'nope', '--db', db, '--json'],
    ['retire', 'nope', '--db', db],
    ['reopen', 'nope', '--db', db],
    ['reclaim', 'nope', '--db', db, '--json'],
    ['install-trigger', '--db', db],
    ['index', '.', '--db', db],
    ['watch', '.', '--db', db],
    ['demo', '--db', db],
    ['mcp', '--db', db],
  ];
  return lines;
}

async function runAll(db: string, label: string): Promise<CliResult[]> {
  const results: CliResult[] = [];
  for (const args of commandsFor(db)) {
    const r = await run(args);
    expectNoSecret(r, `${label}: vecfill ${args.filter((a) => a !== db).join(' ')}`);
    results.push(r);
  }
  return results;
}

describe(`no password of a connection string is ever printed (${ENGINE})`, () => {
  it('every command on an unconfigured database, then on a configured one, then unreachable', async () => {
    // Unconfigured: the database is there but vecfill has not set it up.
    const unconfigured = await runAll(withPassword(fresh.url, PW_AT), 'unconfigured');
    expect(unconfigured[0]!.code).toBe(3);
    expect(unconfigured[0]!.stderr).toMatch(/not set up for vecfill yet.*:\*\*\*@/);

    const db = withPassword(configured.url, PW_AT);
    const setup = await run(['fill', '--db', db, ...tableFlags(), '--revision', 'rev']);
    expect(setup.code, setup.stderr).toBe(0);
    expectNoSecret(setup, 'first fill');
    const results = await runAll(db, 'configured');
    const status = JSON.parse(results[1]!.stdout) as { database: string };
    expect(status.database).toMatch(/^postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\//);
    expect(results[2]!.code).toBe(0);

    // ?password= in the query string, with postgresql://
    const query = `${configured.url.replace(/^postgres:/, 'postgresql:')}?password=${PW_QUERY}`;
    for (const args of [
      ['status', '--db', query],
      ['status', '--db', query, '--json'],
      ['search', 'tides', '--db', query, '--json'],
      ['fill', '--db', query, '--bogus'],
    ]) {
      expectNoSecret(await run(args), `?password=: ${args[0]}`);
    }
    const shown = JSON.parse((await run(['status', '--db', query, '--json'])).stdout) as {
      database: string;
    };
    expect(shown.database).toContain('password=***');

    // A server that is not there.
    for (const down of [
      `postgres://u:${PW_DOWN}@127.0.0.1:9/none`,
      `postgresql://u@127.0.0.1:9/none?sslmode=disable&password=${PW_QUERY}`,
    ]) {
      for (const args of [
        ['status', '--db', down],
        ['status', '--db', down, '--json'],
        ['search', 'x', '--db', down],
        ['fill', '--db', down, '--json'],
        ['migrate', '--db', down],
        ['activate', '--db', down],
      ]) {
        const r = await run(args);
        expect(r.code).toBe(3);
        expect(r.stderr).toMatch(/cannot connect to postgres(ql)?:\/\/u/);
        expectNoSecret(r, `unreachable: ${args.join(' ')}`);
      }
    }

    // libpq key=value conninfo (taken for a file path by the CLI: it says so without the password).
    const conninfo = `host=127.0.0.1 port=9 password=${PW_CONNINFO} dbname=none`;
    for (const args of [
      ['status', '--db', conninfo],
      ['fill', '--db', conninfo, '--json'],
    ]) {
      const r = await run(args);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain('password=***');
      expectNoSecret(r, `conninfo: ${args[0]}`);
    }
  }, 600_000);
});

describe('API keys are never printed', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    // A provider that quotes the Authorization header back in its error, as some do.
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `bad header: ${req.headers.authorization}` } }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('a key pasted into --api-key-env is refused without being repeated', async () => {
    const key = 'sk-proj-AbCdEf0123456789PASTED';
    for (const args of [
      ['migrate', '--db', join(dir, 'none.db'), '--api-key-env', key, '--model', 'm'],
      [
        'index',
        dir,
        '--db',
        join(dir, 'k.db'),
        '--model',
        'm',
        '--base-url',
        url,
        `--api-key-env=${key}`,
      ],
      [
        'index',
        dir,
        '--db',
        join(dir, 'k2.db'),
        '--model',
        'm',
        '--api-key-env',
        'sk_live_abc123DEF456',
      ],
    ]) {
      const r = await run(args);
      expect(r.code, r.stderr).not.toBe(0);
      expect(r.stdout + r.stderr).not.toContain(key);
      expect(r.stdout + r.stderr).not.toContain('abc123DEF456');
    }
    const r = await run([
      'index',
      dir,
      '--db',
      join(dir, 'k3.db'),
      '--model',
      'm',
      '--api-key-env',
      key,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--api-key-env takes the NAME of an environment variable/);
  });

  it('a key with surrounding whitespace is sent trimmed and masked in every form', async () => {
    const key = 'sk-live-WhitespaceKey-424242';
    const model = ['--model', 'm', '--base-url', url, '--dimensions', '4'];
    for (const value of [`  ${key}\n`, `${key} `, key]) {
      const r = await run(['index', dir, '--db', join(dir, `w${value.length}.db`), ...model], {
        OPENAI_API_KEY: value,
      });
      expect(r.stdout + r.stderr).not.toContain(key.slice(8));
    }
    const broken = await run(['index', dir, '--db', join(dir, 'nl.db'), ...model], {
      OPENAI_API_KEY: 'sk-live-Line\nBreak-737373',
    });
    expect(broken.code).not.toBe(0);
    expect(broken.stderr).toMatch(/cannot be sent in an HTTP header/);
    expect(broken.stdout + broken.stderr).not.toContain('Break-737373');
  });
});

describe('redaction of connection strings', () => {
  it('finds the password in every form the driver accepts', () => {
    expect(connectionSecrets('postgres://u:p@ss@h:5432/db')).toContain('p@ss');
    expect(connectionSecrets('postgresql://u:p%40ss@h/db')).toEqual(
      expect.arrayContaining(['p%40ss', 'p@ss']),
    );
    expect(connectionSecrets('postgres://u@h/db?sslmode=require&password=top%20secret')).toEqual(
      expect.arrayContaining(['top%20secret', 'top secret']),
    );
    expect(connectionSecrets("host=h password='it\\'s quoted' dbname=d")).toContain("it's quoted");
    expect(connectionSecrets('host=h password=plain dbname=d')).toContain('plain');
  });

  it('prints a connection string with every password masked', () => {
    expect(redactConnectionString('postgres://u:p@ss@h:5432/db')).toBe(
      'postgres://u:***@h:5432/db',
    );
    expect(redactConnectionString('postgres://u:pa/ss@h/db')).toBe('postgres://u:***@h/db');
    expect(redactConnectionString('postgresql://u@h/db?sslmode=require&password=x1y2z3')).toBe(
      'postgresql://u@h/db?sslmode=require&password=***',
    );
    expect(redactConnectionString('host=h password=plain dbname=d')).toBe(
      'host=h password=*** dbname=d',
    );
    expect(redactConnectionString('./notes.db')).toBe('./notes.db');
  });

  it('masks a secret however it was padded or encoded', () => {
    const r = new Redactor([' sk-padded-123\n']);
    expect(r.redact('Bearer sk-padded-123 failed')).toBe('Bearer *** failed');
    const p = new Redactor(connectionSecrets('postgres://u:a b@c@h/db'));
    expect(p.redact('x a%20b%40c y a b@c z')).toBe('x *** y *** z');
  });
});
