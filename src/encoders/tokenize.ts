/** Version of the tokenizer; part of the word-vector generation, so a change re-embeds. */
export const TOKENIZER_VERSION = 1;

// A Map, not an object literal: a word such as "constructor" or "__proto__"
// must not find Object.prototype's members.
const CONTRACTIONS = new Map<string, readonly string[]>([
  ["can't", ['can', 'not']],
  ["won't", ['will', 'not']],
  ["shan't", ['shall', 'not']],
  ["ain't", ['is', 'not']],
]);

const SUFFIXES: [string, string | null][] = [
  ["n't", 'not'],
  ["'re", 'are'],
  ["'ll", 'will'],
  ["'ve", 'have'],
  ["'m", 'am'],
  ["'d", 'would'],
  ["'s", null],
];

/**
 * Splits text into lowercase word tokens the way the word-vector vocabulary
 * spells them: Unicode-normalized (NFKC), curly apostrophes straightened,
 * contractions expanded (`don't` → `do not`, `we're` → `we are`), possessive
 * `'s` dropped, punctuation removed. Hyphenated words are kept whole;
 * the encoder falls back to their parts when the whole word has no vector.
 */
export function tokenize(text: string): string[] {
  const normalized = text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\u2018\u2019\u02bc]/g, "'");
  const raw = normalized.match(/[\p{L}\p{N}]+(?:['-][\p{L}\p{N}]+)*/gu) ?? [];
  const out: string[] = [];
  for (const token of raw) {
    const special = CONTRACTIONS.get(token);
    if (special) {
      out.push(...special);
      continue;
    }
    let word = token;
    for (const [suffix, expansion] of SUFFIXES) {
      if (word.length > suffix.length && word.endsWith(suffix)) {
        word = word.slice(0, -suffix.length);
        out.push(word);
        if (expansion) out.push(expansion);
        word = '';
        break;
      }
    }
    if (word === '') continue;
    if (word.includes("'")) {
      out.push(...word.split("'").filter((p) => p.length > 0));
    } else {
      out.push(word);
    }
  }
  return out;
}
