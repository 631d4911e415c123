import { CommanderError } from 'commander';
import { EmptyInputError, VecfillError } from '../core/index.js';
import { CliError, type CliErrorCode, EXIT } from './errors.js';

/** The stable `code` of an error printed with `--json`, by exit code when the error has none. */
const CODE_BY_EXIT: Record<number, CliErrorCode> = {
  [EXIT.failure]: 'FAILURE',
  [EXIT.usage]: 'USAGE',
  [EXIT.notFound]: 'NOT_FOUND',
  [EXIT.refused]: 'REFUSED',
  [EXIT.partial]: 'PARTIAL',
  [EXIT.interrupted]: 'INTERRUPTED',
};

/** Prints an error on stderr (`vecfill: …`, or `{ "error": { "code", "message" } }` with --json) and gives the exit code. */
export function report(e: unknown, json: boolean): number {
  const print = (exit: number, message: string, code?: CliErrorCode) => {
    if (json) {
      process.stderr.write(
        `${JSON.stringify({ error: { code: code ?? CODE_BY_EXIT[exit] ?? 'FAILURE', exit, message } })}\n`,
      );
    } else process.stderr.write(`vecfill: ${message}\n`);
    return exit;
  };
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0)
      return EXIT.ok;
    if (json) return print(EXIT.usage, e.message.replace(/^error: /, ''), 'USAGE');
    return EXIT.usage;
  }
  if (e instanceof CliError) return print(e.exitCode, e.message, e.code);
  if (e instanceof EmptyInputError)
    return print(EXIT.usage, 'the query is blank; give some words to search for', 'USAGE');
  if (e instanceof VecfillError) return print(EXIT.failure, e.message, e.code);
  const message = e instanceof Error ? e.message : String(e);
  return print(EXIT.failure, message);
}
