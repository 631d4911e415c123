/**
 * Every command-line option: its definition, its parser and its default.
 * A value is checked where commander reads it (`argParser`): a bad one is a
 * usage error (exit 2) that names the flag before anything is opened.
 * Rules between flags (`--overlap` under half of `--max-chars`, `--table`
 * with `--id`) are checked where the flags are used.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { positiveInteger } from '../core/defaults.js';
import { TRANSFORMERS_DTYPES, type TransformersDtype } from '../encoders/index.js';
import { CLI_DEFAULTS as D } from './defaults.js';

/**
 * A parser for a number flag: `Number(value)` within `[min, max]` (a whole
 * number unless `fraction`), or commander's usage error saying `message`.
 */
export function numberFlag(
  message: (value: string) => string,
  range: { min?: number; max?: number; fraction?: boolean } = {},
): (value: string) => number {
  const { min = -Infinity, max = Infinity, fraction = false } = range;
  return (value) => {
    const n = Number(value);
    const ok = fraction ? Number.isFinite(n) : Number.isSafeInteger(n);
    if (!ok || n < min || n > max) throw new InvalidArgumentError(message(value));
    return n;
  };
}

/** A parser for a flag that takes one of `choices`, or commander's usage error saying `message`. */
export function oneOf<T extends string>(
  choices: readonly T[],
  message: (value: string) => string,
): (value: string) => T {
  return (value) => {
    if (!choices.includes(value as T)) throw new InvalidArgumentError(message(value));
    return value as T;
  };
}

/**
 * A parser for a count (a positive whole number), checked by the core's one
 * `positiveInteger`, or commander's usage error saying `message`.
 */
export function positiveFlag(message: (value: string) => string): (value: string) => number {
  return (value) => {
    try {
      return positiveInteger(Number(value), 'value');
    } catch {
      throw new InvalidArgumentError(message(value));
    }
  };
}

/** `--db`, `--vectors-prefix` and `--json`: every command that opens a database takes them. */
export function withCommon(cmd: Command): Command {
  return cmd
    .option(
      '--db <path>',
      'SQLite database file, or a postgres://user@host/db URL (PostgreSQL with pgvector)',
      D.db,
    )
    .option(
      '--vectors-prefix <name>',
      `prefix of the vector tables; one database holds several tables, each under its own prefix (default ${D.vectorsPrefix})`,
    )
    .option('--json', 'print machine-readable JSON on stdout (errors as JSON on stderr)', false);
}

const G_ENCODER = 'Encoder (which model embeds; saved with each generation):';
const G_WORDS = 'Encoder words (offline word vectors, the default; for trying vecfill out):';
const G_MODEL = 'Encoder openai and transformers (real embedding models):';
const G_OPENAI = 'Encoder openai (any OpenAI-compatible endpoint: OpenAI, Ollama, vLLM, …):';
const G_TRANSFORMERS = 'Encoder transformers (a local ONNX model, @huggingface/transformers):';

export function withEncoder(cmd: Command): Command {
  const opt = (flags: string, description: string, group: string, value?: string) => {
    const o = new Option(flags, description).helpGroup(group);
    return value === undefined ? o : o.default(value);
  };
  return cmd
    .addOption(
      opt(
        '--encoder <kind>',
        'words (offline, default), openai (any OpenAI-compatible endpoint) or transformers (a local ONNX model, @huggingface/transformers)',
        G_ENCODER,
      ).choices(['words', 'openai', 'transformers']),
    )
    .addOption(
      opt('--weighting <kind>', 'word-vector weighting: sif (default) or mean', G_WORDS).argParser(
        oneOf(['sif', 'mean'] as const, (v) => `--weighting must be sif or mean, got ${v}`),
      ),
    )
    .addOption(
      opt(
        '--model <name>',
        'embedding model: its id for openai; a model id or folder for transformers',
        G_MODEL,
      ),
    )
    .addOption(
      opt(
        '--text-prefix <text>',
        'prepended to every document text before embedding (e.g. "search_document: ")',
        G_MODEL,
      ),
    )
    .addOption(opt('--prefix <text>', 'same as --text-prefix', G_MODEL))
    .addOption(
      opt(
        '--query-prefix <text>',
        'prepended to every search query (e.g. "search_query: "; default: the text prefix)',
        G_MODEL,
      ),
    )
    .addOption(
      opt(
        '--base-url <url>',
        `API root of the endpoint, e.g. http://127.0.0.1:11434/v1 for Ollama (default ${D.openaiBaseUrl})`,
        G_OPENAI,
      ),
    )
    .addOption(
      opt(
        '--api-key-env <name>',
        'environment variable holding the API key (never pass a key as a flag)',
        G_OPENAI,
        D.apiKeyEnv,
      ),
    )
    .addOption(
      opt('--dimensions <n>', 'vector length to request from the endpoint', G_OPENAI).argParser(
        positiveFlag((v) => `--dimensions must be a positive integer, got ${v}`),
      ),
    )
    .addOption(
      opt(
        '--dtype <type>',
        'weights to load: fp32 (default), q8, fp16, …',
        G_TRANSFORMERS,
      ).argParser(
        oneOf<TransformersDtype>(
          TRANSFORMERS_DTYPES,
          (v) => `--dtype must be one of ${TRANSFORMERS_DTYPES.join(', ')}, got ${v}`,
        ),
      ),
    );
}
/** Options of the commands that fill (index, fill, migrate): batching, and the new generation's index. */
export function withTuning(cmd: Command): Command {
  return withIndexOptions(
    cmd
      .option(
        '--max-chars <n>',
        `longest chunk in characters, saved with the new generation (default ${D.maxChars}, or the model's window)`,
        numberFlag((v) => `--max-chars must be a whole number of at least 50, got ${v}`, {
          min: 50,
        }),
      )
      .option(
        '--overlap <n>',
        `characters repeated from the end of one chunk at the start of the next (default ${D.overlap})`,
        numberFlag(OVERLAP_MESSAGE, { min: 0 }),
      )
      .addOption(
        new Option(
          '--split <mode>',
          'plain (default) or markdown: sections under their headings, the heading path ("Guide › Install › Linux") prepended to the embedded text, not the stored passage',
        ).choices(['plain', 'markdown']),
      )
      .option(
        '--batch-size <n>',
        'texts per encode call',
        positiveFlag(() => '--batch-size must be a positive whole number'),
        D.batchSize,
      )
      .option(
        '--concurrency <n>',
        'encode calls in flight',
        positiveFlag(() => '--concurrency must be a positive whole number'),
        D.concurrency,
      ),
  );
}

/** Options of the commands that create a generation: how its index is built (SQLite). */
export function withIndexOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '--quantization <kind>',
        'index the new generation quantized (SQLite): binary (32x smaller, fastest) or int8; results are rescored exactly',
      ).choices(['binary', 'int8']),
    )
    .option(
      '--oversample <n>',
      'candidates rescored per result of a quantized generation (binary 40, int8 4)',
      positiveFlag((v) => `--oversample must be a positive integer, got ${v}`),
    );
}

/** `--overlap`'s refusal, here and where it is compared with `--max-chars`. */
export const OVERLAP_MESSAGE = (value: string | number) =>
  `--overlap must be a whole number from 0 to less than half of --max-chars, got ${value}`;

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The file rules `index` and `watch` share (read by `folderOptionsFrom`). */
export function withFolderRules(cmd: Command): Command {
  return cmd
    .option(
      '--include <glob>',
      'only files matching (repeatable; default **/*.md, **/*.markdown, **/*.txt, **/*.html, **/*.htm, **/*.pdf — PDF needs the optional package pdfjs-dist)',
      collect,
    )
    .option(
      '--exclude <glob>',
      'skip files matching (repeatable; always skipped: **/node_modules/**, **/.git/**)',
      collect,
    )
    .option(
      '--max-bytes <n>',
      `skip files larger than this (default ${D.maxBytes}, ${D.maxBytes / 1024 / 1024} MiB)`,
      positiveFlag((v) => `--max-bytes must be a positive whole number of bytes, got ${v}`),
    )
    .option(
      '--verbose',
      'list every file the rules left out (other types, excluded, symlinks leading outside) with why',
    );
}

/** The options of the following commands (`fill --follow`, `watch`). */
export function withFollowOptions(cmd: Command): Command {
  return cmd
    .option(
      '--metrics-port <port>',
      'serve Prometheus /metrics and /healthz on 127.0.0.1:<port> (0 picks a free port)',
      numberFlag((v) => `--metrics-port must be a port number (0-65535), got ${v}`, {
        min: 0,
        max: 65535,
      }),
    )
    .option(
      '--lease <seconds>',
      `how long a scan page is reserved for this process, so several fillers share the work (default ${D.leaseSeconds})`,
      numberFlag((v) => `--lease must be a positive number of seconds, got ${v}`, {
        min: Number.MIN_VALUE,
        fraction: true,
      }),
    )
    .option(
      '--poll <ms>',
      `how often to check for changes (default ${D.pollMs})`,
      numberFlag((v) => `--poll must be milliseconds between 10 and 60000, got ${v}`, {
        min: 10,
        max: 60_000,
      }),
    );
}
