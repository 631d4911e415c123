import { type ChildProcess, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Finished, finished } from '../support/child.js';
import { assertDistFresh } from '../support/dist.js';

// The CLI runs dist/: refuse to test a build older than src/.
assertDistFresh();

export const BIN = join(import.meta.dirname, '..', '..', 'bin', 'vecfill.js');
/** The word-vector cache shared with the encoder tests, so the one-time conversion happens once. */
export const CACHE_DIR = process.env.VECFILL_CACHE_DIR ?? join(tmpdir(), 'vecfill-test-cache');

export type CliResult = Pick<Finished, 'code' | 'stdout' | 'stderr'>;

/** Options of `startCli` and `runCli`. */
export interface CliOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Another copy of bin/vecfill.js (an install without an optional package, say). */
  bin?: string;
  /** Run as this user (only root may ask). */
  user?: { uid: number; gid: number };
}

/**
 * Runs `node bin/vecfill.js …args` as a child process (the built CLI, as a
 * user runs it). With `timeoutMs`, a command still running then gets Ctrl-C
 * (SIGINT), for commands that wait.
 */
export async function runCli(
  args: string[],
  opts: CliOptions & { timeoutMs?: number } = {},
): Promise<CliResult> {
  const child = startCli(args, opts);
  const timer =
    opts.timeoutMs === undefined
      ? undefined
      : setTimeout(() => child.kill('SIGINT'), opts.timeoutMs);
  try {
    const { code, stdout, stderr } = await finished(child);
    return { code, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

export function startCli(args: string[], opts: CliOptions = {}): ChildProcess {
  return spawn(process.execPath, [opts.bin ?? BIN, ...args], {
    cwd: opts.cwd ?? process.cwd(),
    env: { ...process.env, VECFILL_CACHE_DIR: CACHE_DIR, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...opts.user,
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
