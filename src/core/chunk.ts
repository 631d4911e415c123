import { isBlank } from './blank.js';
import { DEFAULTS } from './defaults.js';

/**
 * One piece of a document. `start`/`end` are UTF-16 offsets into the source
 * string, so `content.slice(start, end) === text` and a UI can highlight the
 * match in the original.
 */
export interface Chunk {
  index: number;
  text: string;
  start: number;
  end: number;
}

/** How `split` cuts a document. */
export interface SplitOptions {
  /**
   * `'boundary'` (default) ends chunks at a paragraph break, else a sentence
   * end, else a space, whichever fits under `maxChars`; `'window'` cuts plain
   * fixed-size windows.
   */
  mode?: 'boundary' | 'window';
  /** Longest chunk in UTF-16 code units. Default `DEFAULTS.maxChars` (1000). */
  maxChars?: number;
  /** Characters repeated from the end of one chunk at the start of the next. Default 0. */
  overlap?: number;
}

const PARAGRAPH = /\n[^\S\n]*\n\s*/g;
const SENTENCE = /[.!?;:\u3002\uff01\uff1f][)"'\u201d\u2019\]]*\s+/g;
const WORD = /\s+/g;

/**
 * Cuts `content` into chunks of at most `maxChars` code units.
 *
 * Guarantees, each pinned by a test: no chunk is blank; no chunk is longer
 * than `maxChars`; no surrogate pair is ever split; every non-blank character
 * lies in some chunk; `content.slice(start, end) === text`. In boundary mode
 * chunks never start or end with whitespace.
 *
 * @example
 * ```ts
 * const chunks = split(article, { maxChars: 800, overlap: 100 });
 * for (const c of chunks) console.log(c.index, c.start, c.end);
 * ```
 */
export function split(content: string, opts: SplitOptions = {}): Chunk[] {
  const maxChars = opts.maxChars ?? DEFAULTS.maxChars;
  const overlap = opts.overlap ?? 0;
  if (!Number.isSafeInteger(maxChars) || maxChars < 2) {
    throw new RangeError(`split: maxChars must be an integer >= 2, got ${maxChars}`);
  }
  if (!Number.isSafeInteger(overlap) || overlap < 0 || overlap >= maxChars) {
    throw new RangeError(`split: overlap must be an integer in [0, maxChars), got ${overlap}`);
  }
  if (typeof content !== 'string') throw new TypeError('split: content must be a string');
  return opts.mode === 'window'
    ? splitWindows(content, maxChars, overlap)
    : splitBoundaries(content, maxChars, overlap);
}

function splitWindows(content: string, maxChars: number, overlap: number): Chunk[] {
  const chunks: Chunk[] = [];
  let start = 0;
  while (start < content.length) {
    const end = safeCut(content, Math.min(content.length, start + maxChars), start);
    push(chunks, content, start, end);
    if (end >= content.length) break;
    let next = forwardSafe(content, end - overlap);
    if (next <= start || next > end) next = end;
    start = next;
  }
  return chunks;
}

function splitBoundaries(content: string, maxChars: number, overlap: number): Chunk[] {
  const chunks: Chunk[] = [];
  const n = content.length;
  let pos = skipSpace(content, 0);
  while (pos < n) {
    let end: number;
    if (n - pos <= maxChars) {
      end = n;
    } else {
      end = bestCut(content, pos, maxChars);
    }
    const trimmedEnd = trimEnd(content, pos, end);
    push(chunks, content, pos, trimmedEnd);
    if (end >= n) break;
    let next = skipSpace(content, end);
    if (overlap > 0 && trimmedEnd > pos) {
      const back = overlapStart(content, pos, trimmedEnd, overlap);
      if (back > pos && back < next) next = back;
    }
    pos = next;
  }
  return chunks;
}

/** Picks where a chunk starting at `pos` ends: the best boundary within `maxChars`. */
function bestCut(content: string, pos: number, maxChars: number): number {
  const limit = pos + maxChars;
  const window = content.slice(pos, limit);
  // A better kind of boundary wins as long as it leaves the chunk at least a
  // quarter full; otherwise chunks would shrink to slivers at early breaks.
  const minFill = Math.floor(maxChars / 4);
  let fallback = -1;
  for (const pattern of [PARAGRAPH, SENTENCE, WORD]) {
    const cut = lastBoundary(window, pattern);
    if (cut > 0) {
      if (cut >= minFill) return pos + cut;
      if (fallback < 0) fallback = pos + cut;
    }
  }
  if (fallback > pos) return fallback;
  return safeCut(content, limit, pos + 1);
}

/**
 * Offset just after the end of the last boundary match in `window` — where
 * the next chunk's whitespace begins, so the chunk keeps its punctuation.
 */
function lastBoundary(window: string, pattern: RegExp): number {
  pattern.lastIndex = 0;
  let best = -1;
  for (let m = pattern.exec(window); m !== null; m = pattern.exec(window)) {
    // Cut after the punctuation but before the whitespace that follows it.
    const ws = m[0].search(/\s/);
    const cut = m.index + (ws < 0 ? m[0].length : ws);
    if (cut > 0) best = cut;
    if (m[0].length === 0) pattern.lastIndex++;
  }
  return best;
}

/** Start of the overlap region: about `overlap` chars before `end`, moved forward to a word start (never whitespace). */
function overlapStart(content: string, chunkStart: number, end: number, overlap: number): number {
  let at = forwardSafe(content, Math.max(chunkStart + 1, end - overlap));
  // Prefer to begin the overlap at a word start rather than mid-word.
  if (at > 0 && !/\s/.test(content[at - 1] ?? ' ')) {
    const ws = content.slice(at, end).search(/\s\S/);
    if (ws >= 0) at = at + ws + 1;
  }
  // Never begin at whitespace: a run of spaces is skipped (the caller drops
  // an overlap that reaches the next chunk's own start).
  return skipSpace(content, at);
}

/** Moves `at` back by one when it would separate a surrogate pair; never below `min`. */
function safeCut(content: string, at: number, min: number): number {
  if (
    at > min &&
    at < content.length &&
    isHigh(content.charCodeAt(at - 1)) &&
    isLow(content.charCodeAt(at))
  ) {
    return at - 1;
  }
  return at;
}

/** Moves `at` forward by one when it would separate a surrogate pair. */
function forwardSafe(content: string, at: number): number {
  return at > 0 &&
    at < content.length &&
    isHigh(content.charCodeAt(at - 1)) &&
    isLow(content.charCodeAt(at))
    ? at + 1
    : at;
}

function isHigh(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}
function isLow(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

function skipSpace(content: string, at: number): number {
  while (at < content.length && /\s/.test(content[at]!)) at++;
  return at;
}

function trimEnd(content: string, start: number, end: number): number {
  while (end > start && /\s/.test(content[end - 1]!)) end--;
  return end;
}

function push(chunks: Chunk[], content: string, start: number, end: number): void {
  if (end <= start) return;
  const text = content.slice(start, end);
  if (isBlank(text)) return;
  chunks.push({ index: chunks.length, text, start, end });
}
