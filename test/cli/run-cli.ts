import { type ChildProcess, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertDistFresh } from '../support/dist.js';

// The CLI runs dist/: refuse to test a build older than src/.
assertDistFresh();

export const BIN = join(import.meta.dirname, '..', '..', 'bin', 'vecfill.js');
/** The word-vector cache shared with the encoder tests, so the one-time conversion happens once. */
export const CACHE_DIR = process.env.VECFILL_CACHE_DIR ?? join(tmpdir(), 'vecfill-test-cache');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node bin/vecfill.js …args` as a child process (the built CLI, as a
 * user runs it). With `timeoutMs`, a command still running then gets Ctrl-C
 * (SIGINT), for commands that wait.
 */
export function runCli(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; bin?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = startCli(args, opts);
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => child.kill('SIGINT'), opts.timeoutMs);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export function startCli(
  args: string[],
  /** `bin`: another copy of bin/vecfill.js (an install without an optional package, say). */
  opts: { cwd?: string; env?: Record<string, string>; bin?: string } = {},
): ChildProcess {
  return spawn(process.execPath, [opts.bin ?? BIN, ...args], {
    cwd: opts.cwd ?? process.cwd(),
    env: { ...process.env, VECFILL_CACHE_DIR: CACHE_DIR, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs the CLI with --json and parses stdout, failing loudly with stderr when it did not succeed. */
export async function runJson<T>(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<T> {
  const r = await runCli([...args, '--json'], opts);
  if (r.code !== 0) throw new Error(`vecfill ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
