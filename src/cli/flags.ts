import { type Command, Option } from 'commander';
import { DEFAULT_LEASE_SECONDS } from './follower.js';

/** The database every command opens without `--db`. */
export const DEFAULT_DB = './vecfill.db';

/** `--db`, `--vectors-prefix` and `--json`: every command that opens a database takes them. */
export function withCommon(cmd: Command): Command {
  return cmd
    .option(
      '--db <path>',
      'SQLite database file, or a postgres://user@host/db URL (PostgreSQL with pgvector)',
      DEFAULT_DB,
    )
    .option(
      '--vectors-prefix <name>',
      'prefix of the vector tables; one database holds several tables, each under its own prefix (default vecfill)',
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
    .addOption(opt('--weighting <kind>', 'word-vector weighting: sif (default) or mean', G_WORDS))
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
        'API root of the endpoint, e.g. http://127.0.0.1:11434/v1 for Ollama (default https://api.openai.com/v1)',
        G_OPENAI,
      ),
    )
    .addOption(
      opt(
        '--api-key-env <name>',
        'environment variable holding the API key (never pass a key as a flag)',
        G_OPENAI,
        'OPENAI_API_KEY',
      ),
    )
    .addOption(opt('--dimensions <n>', 'vector length to request from the endpoint', G_OPENAI))
    .addOption(
      opt('--dtype <type>', 'weights to load: fp32 (default), q8, fp16, …', G_TRANSFORMERS),
    );
}
/** Options of the commands that fill (index, fill, migrate): batching, and the new generation's index. */
export function withTuning(cmd: Command): Command {
  return withIndexOptions(
    cmd
      .option(
        '--max-chars <n>',
        "longest chunk in characters, saved with the new generation (default 1000, or the model's window)",
      )
      .option(
        '--overlap <n>',
        'characters repeated from the end of one chunk at the start of the next (default 0)',
      )
      .addOption(
        new Option(
          '--split <mode>',
          'plain (default) or markdown: sections under their headings, the heading path ("Guide › Install › Linux") prepended to the embedded text, not the stored passage',
        ).choices(['plain', 'markdown']),
      )
      .option('--batch-size <n>', 'texts per encode call', '64')
      .option('--concurrency <n>', 'encode calls in flight', '1'),
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
    );
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The file rules `index` and `watch` share (read by `folderOptionsFrom`). */
export function withFolderRules(cmd: Command): Command {
  return cmd
    .option(
      '--include <glob>',
      'only files matching (repeatable; default **/*.md, **/*.markdown, **/*.txt, **/*.html, **/*.htm)',
      collect,
    )
    .option(
      '--exclude <glob>',
      'skip files matching (repeatable; always skipped: **/node_modules/**, **/.git/**)',
      collect,
    )
    .option('--max-bytes <n>', 'skip files larger than this (default 20971520, 20 MiB)')
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
    )
    .option(
      '--lease <seconds>',
      `how long a scan page is reserved for this process, so several fillers share the work (default ${DEFAULT_LEASE_SECONDS})`,
    )
    .option('--poll <ms>', 'how often to check for changes (default 200)');
}
