/**
 * SQLSTATE codes vecfill reacts to. Driver errors are recognised by their
 * code (node-postgres and PGlite both set `code`), never by their message,
 * which changes with the server's language and version.
 */
export const PG_UNIQUE_VIOLATION = '23505';

/** The SQLSTATE of a driver error, if it has one. */
export function pgErrorCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
