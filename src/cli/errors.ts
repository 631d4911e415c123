import type { ErrorCode } from '../core/index.js';

/** Exit codes: each means one thing, so scripts can branch on them. */
export const EXIT = {
  ok: 0,
  /** Something failed while running (encoder outage, database error). */
  failure: 1,
  /** The command line was wrong. */
  usage: 2,
  /** The database, table, folder or generation does not exist or is not configured. */
  notFound: 3,
  /** The store refused (e.g. activate with a backlog). */
  refused: 4,
  /**
   * Done, but some inputs were skipped: `vecfill index` could not read some
   * entries (a file name that is not UTF-8, a file or folder it may not
   * read, a file deleted mid-walk, a file over `--max-bytes`); each is
   * listed on stderr with its reason, and everything else was indexed.
   */
  partial: 5,
  /** Stopped by Ctrl-C; a rerun resumes. */
  interrupted: 130,
} as const;

/**
 * The stable `code` of a `--json` error: the library's `ErrorCode`s, plus
 * the CLI's own, named after the exit code.
 */
export type CliErrorCode =
  | ErrorCode
  | 'FAILURE'
  | 'USAGE'
  | 'NOT_FOUND'
  | 'REFUSED'
  | 'PARTIAL'
  | 'INTERRUPTED';

/** An error the CLI prints as it is (no stack) and exits with `exitCode`. */
export class CliError extends Error {
  readonly exitCode: number;
  /** A stable code for `--json` errors (by default the exit code's: USAGE, NOT_FOUND, …). */
  readonly code: CliErrorCode | undefined;
  constructor(message: string, exitCode: number = EXIT.failure, code?: CliErrorCode) {
    super(message);
    this.exitCode = exitCode;
    this.code = code;
  }
}
