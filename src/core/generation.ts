import { createHash } from 'node:crypto';

/** A scalar setting that changes the vector space (prompt prefix, pooling, normalization…). */
export type ParamValue = string | number | boolean;

/**
 * Identifies a vector space: the model, the vector length, and every setting
 * that changes what a vector means. Two vectors are only comparable when they
 * come from the same generation.
 */
export interface Generation {
  model: string;
  dimensions: number;
  params?: Record<string, ParamValue>;
}

/**
 * Returns 16 lowercase hex characters of SHA-256 over a canonical JSON
 * encoding of the whole generation.
 *
 * Why this encoding, and the failures it prevents:
 * - the whole object is hashed, so a field added to `Generation` later
 *   participates automatically instead of being silently ignored;
 * - keys are sorted at every level, so `params` insertion order never moves
 *   the hash;
 * - absent and empty fields (`undefined`, `null`, `''`, `{}`) are omitted, so
 *   adding an unused field later does not re-fingerprint (and re-embed)
 *   every existing corpus, and `params: {}` equals no params;
 * - values are JSON-escaped and typed, so `{a: "1\nb=2"}` and
 *   `{a: "1", b: "2"}` (or `"1"` and `1`) can never share a preimage.
 *
 * A changed fingerprint silently re-embeds every corpus, so the exact output
 * is pinned by a test.
 *
 * @example
 * ```ts
 * fingerprint({ model: 'text-embedding-3-small', dimensions: 1536 }); // '8b2e…' (16 hex chars)
 * ```
 */
export function fingerprint(g: Generation): string {
  validateGeneration(g);
  return createHash('sha256').update(canonicalJson(g), 'utf8').digest('hex').slice(0, 16);
}

/**
 * The canonical JSON string `fingerprint` hashes: keys sorted at every level,
 * absent/empty values omitted, non-finite numbers refused.
 */
export function canonicalJson(value: unknown): string {
  const out = canonical(value, '$');
  return out === undefined ? 'null' : out;
}

function canonical(value: unknown, path: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  switch (typeof value) {
    case 'string':
      return value === '' ? undefined : JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) {
        throw new TypeError(
          `generation field ${path} is ${value}; only finite numbers are allowed`,
        );
      }
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        const items = value.map((v, i) => canonical(v, `${path}[${i}]`) ?? 'null');
        return items.length === 0 ? undefined : `[${items.join(',')}]`;
      }
      const parts: string[] = [];
      for (const key of Object.keys(value).sort()) {
        const encoded = canonical((value as Record<string, unknown>)[key], `${path}.${key}`);
        if (encoded !== undefined) parts.push(`${JSON.stringify(key)}:${encoded}`);
      }
      return parts.length === 0 ? undefined : `{${parts.join(',')}}`;
    }
    default:
      throw new TypeError(`generation field ${path} has unsupported type ${typeof value}`);
  }
}

/** Throws a `TypeError` that says what is wrong with a malformed generation. */
export function validateGeneration(g: Generation): void {
  if (g === null || typeof g !== 'object') throw new TypeError('generation must be an object');
  if (typeof g.model !== 'string' || g.model.trim() === '') {
    throw new TypeError('generation.model must be a non-empty string');
  }
  if (!Number.isSafeInteger(g.dimensions) || g.dimensions <= 0) {
    throw new TypeError(
      `generation.dimensions must be a positive integer, got ${String(g.dimensions)}`,
    );
  }
  if (g.params !== undefined) {
    if (g.params === null || typeof g.params !== 'object' || Array.isArray(g.params)) {
      throw new TypeError(
        'generation.params must be a plain object of strings, numbers and booleans',
      );
    }
    for (const [key, v] of Object.entries(g.params)) {
      if (!['string', 'number', 'boolean'].includes(typeof v)) {
        throw new TypeError(`generation.params.${key} must be a string, number or boolean`);
      }
    }
  }
}
