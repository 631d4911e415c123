import type { FillProgress } from '../core/index.js';

/**
 * Reports fill progress on stderr: a redrawn bar with rate and ETA on a
 * terminal, plain lines every few seconds otherwise (logs, CI), nothing with
 * `--json` unless asked.
 */
export class ProgressReporter {
  readonly #tty: boolean;
  readonly #label: string;
  readonly #total: number;
  #lastLine = 0;
  #drawn = false;

  constructor(label: string, total: number, stream: NodeJS.WriteStream = process.stderr) {
    this.#tty = Boolean(stream.isTTY);
    this.#label = label;
    this.#total = Math.max(0, total);
    this.stream = stream;
  }

  readonly stream: NodeJS.WriteStream;

  update(p: FillProgress): void {
    const now = Date.now();
    const done = p.documents + p.stale + p.missing;
    if (this.#tty) {
      if (now - this.#lastLine < 100 && done < this.#total) return;
      this.#lastLine = now;
      this.stream.write(`\r${this.line(p)}\x1b[K`);
      this.#drawn = true;
    } else if (now - this.#lastLine >= 2000) {
      this.#lastLine = now;
      this.stream.write(`${this.line(p)}\n`);
    }
  }

  /** One status line: bar, counts, rate and ETA. */
  line(p: FillProgress): string {
    const done = p.documents + p.stale + p.missing;
    const total = Math.max(this.#total, done);
    const frac = total > 0 ? done / total : 1;
    const width = 24;
    const filled = Math.round(frac * width);
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
    const rate = p.rate;
    const eta = rate > 0 && total > done ? formatDuration(((total - done) / rate) * 1000) : '-';
    return `${this.#label} ${bar} ${Math.floor(frac * 100)}% ${done}/${total} docs, ${p.chunks} chunks, ${rate.toFixed(1)} docs/s, ETA ${eta}`;
  }

  finish(): void {
    if (this.#tty && this.#drawn) this.stream.write('\n');
  }
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/**
 * Progress of a Postgres generation's HNSW index build on stderr (the build
 * runs once the fill has loaded every document): a redrawn line on a
 * terminal, a line every few seconds otherwise.
 */
export function indexProgressPrinter(
  stream: NodeJS.WriteStream = process.stderr,
): (p: { generation: string; phase: string; done: number; total: number }) => void {
  const tty = Boolean(stream.isTTY);
  let last = 0;
  return (p) => {
    const now = Date.now();
    const done = p.phase === 'done';
    if (!done && now - last < (tty ? 200 : 2000)) return;
    last = now;
    const share =
      p.total > 0 ? ` ${Math.floor((100 * p.done) / p.total)}% (${p.done}/${p.total})` : '';
    const line = `index ${p.generation}: ${done ? 'HNSW index built' : p.phase}${done ? '' : share}`;
    stream.write(tty ? `\r${line}\x1b[K${done ? '\n' : ''}` : `${line}\n`);
  };
}
