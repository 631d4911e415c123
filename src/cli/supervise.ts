import { spawn } from 'node:child_process';
import { constants } from 'node:os';

/** Set in the environment of the process that does the work. */
export const CHILD_ENV = 'VECFILL_CLI_CHILD';
const INTERRUPTED = 130;

/**
 * Why the command you start only supervises another process: Node runs
 * signal handlers on the JavaScript thread, and a long synchronous SQLite
 * statement (a recursive-CTE `--where`, a scan of a huge table) holds that
 * thread, so Ctrl-C would wait for the statement to end, however many
 * times it is pressed. This small process never blocks. It passes the
 * first Ctrl-C (and SIGTERM, SIGHUP) on to the worker, which stops cleanly
 * (finished documents are saved); on a second Ctrl-C it kills the worker
 * and exits 130 at once. Every write is a transaction, so a killed worker
 * leaves nothing half-written. The worker exits when this process dies.
 *
 * `VECFILL_NO_SUPERVISOR=1` runs the command in one process instead.
 */
export function supervise(bin: string, args: readonly string[]): void {
  const child = spawn(process.execPath, [...process.execArgv, bin, ...args], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, [CHILD_ENV]: '1' },
  });
  let interrupts = 0;
  process.on('SIGINT', () => {
    interrupts++;
    if (interrupts === 1) {
      child.kill('SIGINT');
      return;
    }
    child.kill('SIGKILL');
    process.exit(INTERRUPTED);
  });
  for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => child.kill(signal));
  }
  child.on('error', (e) => {
    process.stderr.write(`vecfill: cannot start: ${e.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    process.exit(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
  });
}

/**
 * In the worker: exit when the supervisor is gone (killed with SIGKILL, so
 * it could not pass anything on), instead of running on as an orphan.
 */
export function exitWithSupervisor(): void {
  if (process.env[CHILD_ENV] !== '1' || !process.channel) return;
  process.channel.unref();
  process.on('disconnect', () => process.exit(INTERRUPTED));
}
