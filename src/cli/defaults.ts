import { DEFAULTS } from '../core/index.js';

/**
 * Every default of the command line, in one table: the flags' parsers, the
 * commands and the --help texts all read it here, so a default is never
 * written twice (the CLI once encoded 64 texts per call in one place and
 * said another number elsewhere). What the CLI shares with the library
 * (batch size, concurrency, search limit, query deadline, chunk length) is
 * the core's `DEFAULTS`, not a copy.
 */
export const CLI_DEFAULTS = Object.freeze({
  /** `--db`: the database every command opens. */
  db: './vecfill.db',
  /** `--vectors-prefix`: the prefix of the vector tables (and the settings slot of older databases). */
  vectorsPrefix: 'vecfill',
  /** `--batch-size`: texts per encode call. */
  batchSize: DEFAULTS.batchSize,
  /** `--concurrency`: encode calls in flight. */
  concurrency: DEFAULTS.concurrency,
  /** Documents each fill scan reads. */
  scanBatch: 256,
  /** `--max-chars`: longest chunk in characters (or the model's window when smaller). */
  maxChars: DEFAULTS.maxChars,
  /** `--overlap`: characters one chunk repeats from the previous. */
  overlap: 0,
  /** `search --limit`: results shown. */
  limit: DEFAULTS.limit,
  /** `search --limit` at most: the candidate count, so no --limit asks for more. */
  maxLimit: 100,
  /**
   * Candidates a search asks each generation for, whatever `--limit` is: a
   * fused score depends on the lengths of the lists it fuses, so they never
   * change with `--limit` and neither does a document's score.
   */
  searchCandidates: 100,
  /** `--query-timeout`: milliseconds each generation's query encoding may take. */
  queryTimeoutMs: DEFAULTS.queryTimeoutMs,
  /** `--weighting` of the offline word vectors. */
  weighting: 'sif',
  /** `--model` of `--encoder transformers`. */
  transformersModel: 'Xenova/all-MiniLM-L6-v2',
  /** `--base-url` of `--encoder openai`. */
  openaiBaseUrl: 'https://api.openai.com/v1',
  /** `--api-key-env`: the variable that holds the API key. */
  apiKeyEnv: 'OPENAI_API_KEY',
  /** `--max-bytes`: files larger than this are skipped (20 MiB). */
  maxBytes: 20 * 1024 * 1024,
  /** `--lease`: seconds a scan page is reserved for one following process. */
  leaseSeconds: 30,
  /** `--poll`: milliseconds between checks for changes. */
  pollMs: 200,
  /** `watch --debounce`: quiet milliseconds that end a burst of file events. */
  debounceMs: 100,
});
