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
  /** Stopped by Ctrl-C; a rerun resumes. */
  interrupted: 130,
} as const;

/** An error the CLI prints as it is (no stack) and exits with `exitCode`. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT.failure) {
    super(message);
    this.exitCode = exitCode;
  }
}
