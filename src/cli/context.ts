import { EXIT } from './errors.js';

/** What every command gets: where to write, whether to write JSON, and a signal that Ctrl-C aborts. */
export interface Context {
  json: boolean;
  out: (text: string) => void;
  err: (text: string) => void;
  tty: boolean;
  signal: AbortSignal;
}

/** Prints a value as JSON or as text, by mode. */
export function emit(ctx: Context, value: unknown, text: () => string): number {
  ctx.out(ctx.json ? JSON.stringify(value, bigintSafe, 2) : text());
  return EXIT.ok;
}

function bigintSafe(_key: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}
