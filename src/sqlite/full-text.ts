/**
 * Turns arbitrary user text into a safe FTS5 query: every word becomes a
 * quoted string, joined with OR, so quotes, operators (`AND`, `NEAR`, `*`,
 * `:`), parentheses and any Unicode can never raise an FTS5 syntax error.
 * Returns null when the text has no word to search for.
 */
export function ftsQuery(text: string): string | null {
  const words = text.normalize('NFKC').match(/[\p{L}\p{N}_]+/gu);
  if (!words || words.length === 0) return null;
  const unique = [...new Set(words.map((w) => w.toLowerCase()))].slice(0, 64);
  return unique.map((w) => `"${w.replaceAll('"', '""')}"`).join(' OR ');
}
