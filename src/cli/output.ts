import { isBlank } from '../core/index.js';

const STOPWORDS = new Set(
  'the and for are but not you your with this that from they have has had was were what when where which who why how does did can will would should could about into over than then them their there these those its our out off own very just also'.split(
    ' ',
  ),
);

/** Marks query words in a passage: bold on a terminal, «guillemets» otherwise. */
export function highlight(passage: string, query: string, tty: boolean): string {
  const words = [...new Set(query.toLowerCase().match(/[\p{L}\p{N}]{3,}/gu) ?? [])].filter(
    (w) => !STOPWORDS.has(w),
  );
  if (words.length === 0) return passage;
  const pattern = new RegExp(
    `(?<![\\p{L}\\p{N}])(${words.map(escapeRegExp).join('|')})[\\p{L}]*`,
    'giu',
  );
  return passage.replace(pattern, (m) => (tty ? `\x1b[1;33m${m}\x1b[0m` : `«${m}»`));
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The matching chunk of a document, collapsed to one line and shortened around the first query word. */
export function passageOf(
  content: string,
  start: number | undefined,
  end: number | undefined,
  query: string,
  max = 280,
  /** A full-text hit: the passage is the part of the document where a query word is, not its start. */
  textMatch = false,
): string {
  if (textMatch && start === undefined) {
    const flat = content.replace(/\s+/g, ' ').trim();
    const lower = flat.toLowerCase();
    const at = (query.toLowerCase().match(/[\p{L}\p{N}]{3,}/gu) ?? [])
      .map((w) => lower.search(new RegExp(`(?<![\\p{L}\\p{N}])${escapeRegExp(w)}`, 'u')))
      .filter((i) => i >= 0)
      .sort((a, b) => a - b)[0];
    if (at !== undefined) {
      const from = Math.max(0, Math.min(at - 60, flat.length - max));
      return `${from > 0 ? '…' : ''}${flat.slice(from, from + max)}${from + max < flat.length ? '…' : ''}`;
    }
  }
  let text = content.slice(start ?? 0, end ?? Math.min(content.length, max));
  text = text.replace(/\s+/g, ' ').trim();
  if (isBlank(text)) return '';
  if (text.length <= max) return text;
  const first = query
    .toLowerCase()
    .match(/[\p{L}\p{N}]{3,}/gu)
    ?.map((w) => text.toLowerCase().indexOf(w))
    .filter((i) => i >= 0)
    .sort((a, b) => a - b)[0];
  const from = Math.max(0, Math.min((first ?? 0) - 60, text.length - max));
  return `${from > 0 ? '…' : ''}${text.slice(from, from + max)}${from + max < text.length ? '…' : ''}`;
}

/** A plain text table with aligned columns. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
