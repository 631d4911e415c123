/** The distinct lowercase words of `text` an FTS5 query can use (at most 64). */
export function ftsTerms(text: string): string[] {
  const words = text.normalize('NFKC').match(/[\p{L}\p{N}_]+/gu);
  if (!words) return [];
  return [...new Set(words.map((w) => w.toLowerCase()))].slice(0, 64);
}

/** An FTS5 query matching any (`OR`) or all (`AND`) of `terms`, each quoted; null when there is none. */
export function ftsMatch(terms: readonly string[], op: 'OR' | 'AND' = 'OR'): string | null {
  if (terms.length === 0) return null;
  return terms.map((w) => `"${w.replaceAll('"', '""')}"`).join(` ${op} `);
}

/**
 * Turns arbitrary user text into a safe FTS5 query: every word becomes a
 * quoted string, joined with OR, so quotes, operators (`AND`, `NEAR`, `*`,
 * `:`), parentheses and any Unicode can never raise an FTS5 syntax error.
 * Returns null when the text has no word to search for.
 */
export function ftsQuery(text: string): string | null {
  return ftsMatch(ftsTerms(text));
}
