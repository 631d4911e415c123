import { type DefaultTreeAdapterMap, parse } from 'parse5';

/** The text of a file as it is stored and embedded, and the title shown with it. */
export interface FileText {
  text: string;
  title: string;
}

/**
 * Reads one file's bytes as the text `index` stores: HTML (`.html`, `.htm`)
 * through a real HTML parser (text only, headings as `#` lines, title from
 * `<title>` or the first `<h1>`), anything else as plain text (Markdown's
 * first `# heading` is its title). Returns the reason instead when the file
 * is not text.
 */
export function fileText(path: string, bytes: Buffer): FileText | { skip: string } {
  const html = /\.html?$/i.test(path);
  let decoded = (html && declaredText(bytes)) || decodeText(bytes);
  // Text that is not UTF-8 in an HTML page that declares no encoding is
  // read as browsers read it: Windows-1252 (the HTML standard's fallback).
  if (html && typeof decoded !== 'string' && decoded.notUtf8) decoded = windows1252(bytes);
  if (typeof decoded !== 'string') return decoded;
  if (html) {
    const { text, title } = htmlText(decoded);
    return { text, title: (title || titleOf(text, path)).slice(0, 200) };
  }
  return { text: decoded, title: titleOf(decoded, path) };
}

/**
 * An HTML file's text in the encoding its `<meta charset>` (or `http-equiv`
 * content type) declares in its first 1,024 bytes, as a browser reads it
 * (Latin-1 and Windows-1252 pages are common in older documentation);
 * undefined when it declares none, declares UTF-8, starts with a
 * byte-order mark, or names an encoding this Node.js cannot decode.
 */
function declaredText(bytes: Buffer): string | undefined {
  if (bytes[0] === 0xef || bytes[0] === 0xfe || bytes[0] === 0xff) return undefined;
  const head = bytes.subarray(0, 1024).toString('latin1');
  const label = /<meta[^>]*charset\s*=\s*["']?\s*([\w.:-]+)/i.exec(head)?.[1];
  if (label === undefined || /^utf-?8$/i.test(label)) return undefined;
  // The WHATWG encoding standard reads all of these as Windows-1252.
  if (/^(windows-1252|cp1252|x-cp1252|iso-?8859-1|latin-?1|l1|us-ascii|ascii)$/i.test(label))
    return windows1252(bytes);
  try {
    return new TextDecoder(label).decode(bytes);
  } catch {
    return undefined; // an encoding TextDecoder does not know: read as UTF-8
  }
}

/** Windows-1252's characters for bytes 0x80-0x9F (the rest is Latin-1); `\u0000` where it has none. */
const CP1252_HIGH =
  '\u20ac\u0000\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u0000\u017d\u0000' +
  '\u0000\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u0000\u017e\u0178';

/**
 * Bytes as Windows-1252, by the WHATWG table (Node's TextDecoder reads the
 * label as ISO-8859-1, turning curly quotes into control characters).
 */
function windows1252(bytes: Buffer): string {
  let out = '';
  for (const b of bytes) {
    const high = b >= 0x80 && b <= 0x9f ? CP1252_HIGH[b - 0x80] : undefined;
    out += high !== undefined && high !== '\u0000' ? high : String.fromCharCode(b);
  }
  return out;
}

/** The first Markdown `# heading`, else the path. */
export function titleOf(content: string, path: string): string {
  const heading = /^#\s+(.+)$/m.exec(content);
  return (heading?.[1] ?? path).trim().slice(0, 200);
}

/**
 * A file's bytes as text: UTF-8 (a byte-order mark dropped) or UTF-16 with a
 * byte-order mark. A binary file (NUL bytes, or mostly invalid UTF-8) and a
 * text in another encoding (Latin-1, say) are skipped with the reason.
 */
export function decodeText(bytes: Buffer): string | { skip: string; notUtf8?: true } {
  if (bytes[0] === 0xff && bytes[1] === 0xfe)
    return new TextDecoder('utf-16le').decode(bytes.subarray(2));
  if (bytes[0] === 0xfe && bytes[1] === 0xff)
    return new TextDecoder('utf-16be').decode(bytes.subarray(2));
  const body =
    bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;
  if (body.includes(0)) return { skip: 'binary file (it contains NUL bytes)' };
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    const text = new TextDecoder('utf-8').decode(body);
    const bad = (text.match(/\uFFFD/g) ?? []).length;
    if (bad > text.length * 0.3) return { skip: `binary file (${bad} bytes are not valid UTF-8)` };
    return {
      notUtf8: true,
      skip: `not valid UTF-8 (${bad} invalid ${bad === 1 ? 'byte' : 'bytes'}; Latin-1 or Windows-1252 text?): convert it to UTF-8 (e.g. iconv -f latin1 -t utf-8) to index it`,
    };
  }
}

type Node = DefaultTreeAdapterMap['node'];

/** Elements whose content is never text a reader sees. */
const HIDDEN = new Set([
  'head',
  'script',
  'style',
  'noscript',
  'template',
  'svg',
  'math',
  'iframe',
  'object',
  'canvas',
  'select',
]);
/** Elements that start a new line of text. */
const BLOCK = new Set([
  'address',
  'article',
  'aside',
  'blockquote',
  'br',
  'dd',
  'details',
  'div',
  'dl',
  'dt',
  'figcaption',
  'figure',
  'footer',
  'form',
  'header',
  'hr',
  'li',
  'main',
  'nav',
  'ol',
  'p',
  'pre',
  'section',
  'summary',
  'table',
  'td',
  'th',
  'tr',
  'ul',
]);

/**
 * The visible text of an HTML document, parsed as a browser would (parse5,
 * the WHATWG algorithm): scripts, styles and the head are dropped, block
 * elements break lines, `<h1>`–`<h6>` become `#` lines (so `--split
 * markdown` keeps sections under them), whitespace collapses outside `<pre>`.
 */
export function htmlText(html: string): { text: string; title: string } {
  const doc = parse(html);
  let title = '';
  let firstH1 = '';
  const lines: string[] = [];
  let line = '';
  const breakLine = () => {
    const t = line.trim();
    if (t !== '') lines.push(t);
    line = '';
  };
  const visit = (node: Node, pre: boolean) => {
    if (node.nodeName === '#text') {
      const value = (node as DefaultTreeAdapterMap['textNode']).value;
      if (pre) {
        const [first, ...rest] = value.split('\n');
        line += first;
        for (const l of rest) {
          lines.push(line.replace(/\s+$/, ''));
          line = l;
        }
      } else line += value.replace(/\s+/g, ' ');
      return;
    }
    if (!('tagName' in node)) {
      if ('childNodes' in node) for (const c of node.childNodes) visit(c, pre);
      return;
    }
    const tag = node.tagName;
    if (tag === 'title' && title === '') title = textOf(node);
    if (tag === 'head')
      for (const c of node.childNodes) if ('tagName' in c && c.tagName === 'title') visit(c, pre);
    if (HIDDEN.has(tag) || tag === 'title') return;
    const heading = /^h([1-6])$/.exec(tag);
    if (heading) {
      breakLine();
      const text = textOf(node);
      if (tag === 'h1' && firstH1 === '') firstH1 = text;
      if (text !== '') lines.push(`${'#'.repeat(Number(heading[1]))} ${text}`);
      return;
    }
    const block = BLOCK.has(tag);
    if (block) breakLine();
    if (tag === 'li') line += '- ';
    for (const c of node.childNodes) visit(c, pre || tag === 'pre');
    if (block) breakLine();
    else if (tag === 'td' || tag === 'th') line += ' ';
  };
  visit(doc, false);
  breakLine();
  return { text: lines.join('\n'), title: title || firstH1 };
}

/** An element's text, whitespace collapsed. */
function textOf(node: Node): string {
  let out = '';
  const walk = (n: Node) => {
    if (n.nodeName === '#text') out += (n as DefaultTreeAdapterMap['textNode']).value;
    else if ('childNodes' in n && !('tagName' in n && HIDDEN.has(n.tagName)))
      for (const c of n.childNodes) walk(c);
  };
  walk(node);
  return out.replace(/\s+/g, ' ').trim();
}
