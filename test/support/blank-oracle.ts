/**
 * Blank code points written out from the Unicode Character Database (Unicode
 * 15–17), not from a regular expression: ECMAScript white space and line
 * terminators, every Cc (control) and every Cf (format) character. An
 * oracle for `isBlank` that shares nothing with its implementation.
 */
const BLANK_RANGES: readonly (readonly [number, number])[] = [
  // Cc: C0 controls (with TAB, LF, VT, FF, CR), then space
  [0x0000, 0x001f],
  [0x0020, 0x0020],
  // Cc: DEL and the C1 controls; NO-BREAK SPACE (Zs)
  [0x007f, 0x009f],
  [0x00a0, 0x00a0],
  [0x00ad, 0x00ad], // SOFT HYPHEN (Cf)
  [0x0600, 0x0605], // Arabic number signs (Cf)
  [0x061c, 0x061c], // ARABIC LETTER MARK
  [0x06dd, 0x06dd], // ARABIC END OF AYAH
  [0x070f, 0x070f], // SYRIAC ABBREVIATION MARK
  [0x0890, 0x0891], // Arabic pound/piastre mark above
  [0x08e2, 0x08e2], // ARABIC DISPUTED END OF AYAH
  [0x1680, 0x1680], // OGHAM SPACE MARK (Zs)
  [0x180e, 0x180e], // MONGOLIAN VOWEL SEPARATOR (Cf)
  [0x2000, 0x200a], // EN QUAD … HAIR SPACE (Zs)
  [0x200b, 0x200f], // ZERO WIDTH SPACE, ZWNJ, ZWJ, LRM, RLM (Cf)
  [0x2028, 0x2029], // LINE / PARAGRAPH SEPARATOR
  [0x202a, 0x202e], // bidi embeddings and overrides (Cf)
  [0x202f, 0x202f], // NARROW NO-BREAK SPACE (Zs)
  [0x205f, 0x205f], // MEDIUM MATHEMATICAL SPACE (Zs)
  [0x2060, 0x2064], // WORD JOINER … INVISIBLE PLUS (Cf)
  [0x2066, 0x206f], // bidi isolates, deprecated format characters (Cf)
  [0x3000, 0x3000], // IDEOGRAPHIC SPACE (Zs)
  [0xfeff, 0xfeff], // BOM / ZERO WIDTH NO-BREAK SPACE
  [0xfff9, 0xfffb], // interlinear annotation (Cf)
  [0x110bd, 0x110bd], // KAITHI NUMBER SIGN
  [0x110cd, 0x110cd], // KAITHI NUMBER SIGN ABOVE
  [0x13430, 0x1343f], // Egyptian hieroglyph format controls
  [0x1bca0, 0x1bca3], // shorthand format controls
  [0x1d173, 0x1d17a], // musical symbol format controls
  [0xe0001, 0xe0001], // LANGUAGE TAG
  [0xe0020, 0xe007f], // tag characters
];

/** True when code point `cp` is blank by the table above (lone surrogates are content). */
export function blankCodePoint(cp: number): boolean {
  return BLANK_RANGES.some(([lo, hi]) => cp >= lo && cp <= hi);
}

/** The oracle: every code point of `text` is blank. */
export function blankByTable(text: string): boolean {
  for (const ch of text) if (!blankCodePoint(ch.codePointAt(0)!)) return false;
  return true;
}
