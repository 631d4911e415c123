/**
 * What a user should do about a generation that failed, by the error's
 * stable `code`: one place, so search warnings and fill reports give the
 * same advice.
 */

/** A generation left out of a search or a fill, as `--json` reports it. */
export interface Degraded {
  generation: string;
  code: string;
  message: string;
}

export function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'ERROR';
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function degraded(generation: string, error: unknown): Degraded {
  return { generation, code: codeOf(error), message: messageOf(error) };
}

/** Errors that no retry fixes: the generation's settings are wrong for its endpoint or its store. */
const CONFIG_CODES = new Set([
  'ENCODER_CONFIG',
  'DIMENSION_MISMATCH',
  'GENERATION_CONFLICT',
  'UNKNOWN_GENERATION',
  'UNKNOWN_MODEL',
]);

/** True when the generation is misconfigured (as opposed to an outage or a rejected input). */
export function isConfigError(error: unknown): boolean {
  if (CONFIG_CODES.has(codeOf(error))) return true;
  // A 401/403/404 from the provider: a key or a model name that is wrong.
  const status = (error as { status?: unknown } | null)?.status;
  return status === 401 || status === 403 || status === 404;
}

/** The next step for a generation that failed in a search. */
export function searchAdvice(generation: string, error: unknown, hybrid: boolean): string {
  const code = codeOf(error);
  if (code === 'PERMANENT_ENCODE' && !isConfigError(error))
    return hybrid
      ? 'its store has no full-text index to answer it either'
      : 'its encoder cannot embed this query; add --hybrid to find the words through full text';
  if (code === 'QUERY_TIMEOUT')
    return `check its endpoint, raise --query-timeout, or take it out of search with \`vecfill retire ${generation}\``;
  if (isConfigError(error))
    return `fix its settings, or take it out of search with \`vecfill retire ${generation}\``;
  return `its endpoint is failing; search again later, or take it out of search with \`vecfill retire ${generation}\``;
}

/** The next step for a generation whose fill failed. */
export function fillAdvice(generation: string, error: unknown): string {
  const status = (error as { status?: unknown } | null)?.status;
  if (status === 401 || status === 403 || status === 407)
    return `fix the API key (or the proxy), then run \`vecfill fill\` again: nothing was skipped; or stop filling it with \`vecfill retire ${generation}\``;
  if (isConfigError(error))
    return `fix the encoder flags and create a new generation with \`vecfill migrate\`, or stop filling it with \`vecfill retire ${generation}\``;
  return `run \`vecfill fill\` again once the endpoint answers (finished documents are kept), or stop filling it with \`vecfill retire ${generation}\``;
}
