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
  const decoded = decodeText(bytes);
  if (typeof decoded !== 'string') return decoded;
  if (/\.html?$/i.test(path)) {
    const { text, title } = htmlText(decoded);
    return { text, title: (title || titleOf(text, path)).slice(0, 200) };
  }
  return { text: decoded, title: titleOf(decoded, path) };
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
export function decodeText(bytes: Buffer): string | { skip: string } {
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
