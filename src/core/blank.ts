/**
 * Whitespace, invisible format characters (Unicode Cf: zero-width space and
 * joiners, BOM, soft hyphen, bidi marks) and control characters (Cc).
 * Visible-category "blank-looking" characters such as U+2800 (braille blank,
 * So) and U+3164 (Hangul filler, Lo) are deliberately content: users type them.
 */
const BLANK = /^[\s\p{Cf}\p{Cc}]*$/u;

/**
 * True when `text` has nothing an encoder could embed: it is empty or made only
 * of whitespace, invisible format characters and control characters. Blank
 * text is never sent to an encoder — providers either reject it or return a
 * meaningless vector that would then match every query.
 *
 * @example
 * ```ts
 * isBlank(' \u200b\ufeff\n'); // true
 * isBlank('\u2800');          // false — braille blank is visible content
 * ```
 */
export function isBlank(text: string): boolean {
  return BLANK.test(text);
}
