import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

/** A database that does not exist: a flag refused while parsing never gets as far as opening it (exit 3). */
const MISSING = join(import.meta.dirname, 'no-such-folder', 'none.db');

describe('a bad flag value is a usage error that names the flag, before anything is opened', () => {
  const cases: [string[], RegExp][] = [
    [['search', 'x', '--limit', '0'], /--limit must be a whole number from 1 to 100, got 0/],
    [['search', 'x', '--limit', '101'], /--limit must be a whole number from 1 to 100, got 101/],
    [['search', 'x', '--min-score', '2'], /--min-score is a similarity from -1 to 1/],
    [['search', 'x', '--query-timeout', '0'], /--query-timeout must be a positive number/],
    [['fill', '--batch-size', '0'], /--batch-size must be a positive whole number/],
    [['fill', '--concurrency', '1.5'], /--concurrency must be a positive whole number/],
    [['fill', '--poll', '5'], /--poll must be milliseconds between 10 and 60000, got 5/],
    [['fill', '--lease', '0'], /--lease must be a positive number of seconds, got 0/],
    [['fill', '--metrics-port', '70000'], /--metrics-port must be a port number/],
    [['fill', '--max-chars', '10'], /--max-chars must be a whole number of at least 50, got 10/],
    [['fill', '--overlap', '-1'], /--overlap must be a whole number from 0/],
    [['fill', '--dimensions', 'x'], /--dimensions must be a positive integer, got x/],
    [['fill', '--weighting', 'tfidf'], /--weighting must be sif or mean, got tfidf/],
    [['migrate', '--oversample', '0'], /--oversample must be a positive integer, got 0/],
    [['index', '.', '--max-bytes', '0'], /--max-bytes must be a positive whole number of bytes/],
    [['watch', '.', '--debounce', '-5'], /--debounce must be milliseconds \(0-60000\), got -5/],
  ];
  for (const [args, message] of cases) {
    it(args.slice(0, 1).concat(args.slice(-2)).join(' '), async () => {
      const r = await runCli([...args, '--db', MISSING]);
      expect(r.stderr).toMatch(message);
      expect(r.code).toBe(2);
    });
  }

  it('with --json the refusal is one line of JSON with code USAGE', async () => {
    const r = await runCli(['fill', '--batch-size', 'many', '--db', MISSING, '--json']);
    expect(r.code).toBe(2);
    const { error } = JSON.parse(r.stderr.trim()) as {
      error: { code: string; exit: number; message: string };
    };
    expect(error).toMatchObject({ code: 'USAGE', exit: 2 });
    expect(error.message).toMatch(/--batch-size must be a positive whole number/);
  });

  it('a rule between two flags is still checked: --overlap under half of --max-chars', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vecfill-flags-'));
    try {
      const args = ['index', dir, '--db', join(dir, 'v.db'), '--max-chars', '100', '--overlap'];
      const r = await runCli([...args, '50']);
      expect(r.stderr).toMatch(/--overlap must be a whole number from 0 to less than half/);
      expect(r.code).toBe(2);
      expect((await runCli([...args, '49', '--no-fill'])).code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
