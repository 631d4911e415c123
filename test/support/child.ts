import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';

/** How a child process ended, with all it wrote. */
export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Collects what `child` writes to stdout and stderr (both piped) and
 * resolves when it has closed; rejects when it could not be started.
 */
export function finished(child: ChildProcess): Promise<Finished> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Calls `onLine` with each line of `stream` parsed as JSON (blank lines skipped). */
export function jsonLines(
  stream: Readable,
  onLine: (value: Record<string, unknown>) => void,
): void {
  let buf = '';
  stream.on('data', (c: Buffer) => {
    buf += c.toString();
    let i = buf.indexOf('\n');
    while (i >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.trim()) onLine(JSON.parse(line) as Record<string, unknown>);
      i = buf.indexOf('\n');
    }
  });
}
