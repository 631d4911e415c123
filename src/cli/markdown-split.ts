import { type Chunk, split } from '../core/index.js';

/** How a generation's documents are cut into chunks (`--max-chars`, `--overlap`, `--split`), saved with it. */
export interface ChunkSettings {
  maxChars?: number;
  overlap?: number;
  /** `markdown`: sections under their headings, the heading path prepended to the embedded text. */
  split?: 'plain' | 'markdown';
}

const HEADING = /^ {0,3}(#{1,6})[ \t]+(.+?)[ \t#]*$/;
const FENCE = /^ {0,3}(```|~~~)/;

/**
 * Splits Markdown by section: each heading starts a section, long sections
 * are cut by the plain splitter, and every chunk's embedded text starts with
 * its heading path ("Guide › Install › Linux"). The chunk's offsets point
 * at the section text in the document, so the stored passage has no path.
 */
export function splitMarkdown(
  content: string,
  opts: { maxChars?: number; overlap?: number } = {},
): Chunk[] {
  const sections: { start: number; end: number; path: string[] }[] = [];
  const path: { level: number; title: string }[] = [];
  let fenced = false;
  let sectionStart = 0;
  let sectionPath: string[] = [];
  let offset = 0;
  for (const line of content.split('\n')) {
    const lineStart = offset;
    offset += line.length + 1;
    if (FENCE.test(line)) {
      fenced = !fenced;
      continue;
    }
    if (fenced) continue;
    const m = HEADING.exec(line.replace(/\r$/, ''));
    if (!m) continue;
    if (lineStart > sectionStart)
      sections.push({ start: sectionStart, end: lineStart, path: sectionPath });
    const level = m[1]!.length;
    while (path.length > 0 && path.at(-1)!.level >= level) path.pop();
    path.push({ level, title: m[2]!.trim() });
    sectionPath = path.map((p) => p.title);
    sectionStart = lineStart;
  }
  if (content.length > sectionStart)
    sections.push({ start: sectionStart, end: content.length, path: sectionPath });
  const out: Chunk[] = [];
  for (const s of sections) {
    const prefix = s.path.length > 0 ? `${s.path.join(' › ')}\n\n` : '';
    const maxChars = Math.max(2, (opts.maxChars ?? 1000) - prefix.length);
    const overlap = Math.min(opts.overlap ?? 0, maxChars - 1);
    for (const c of split(content.slice(s.start, s.end), { maxChars, overlap })) {
      out.push({
        index: out.length,
        text: `${prefix}${c.text}`,
        start: s.start + c.start,
        end: s.start + c.end,
      });
    }
  }
  return out;
}
