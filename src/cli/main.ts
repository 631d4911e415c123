import { Command, CommanderError, Option } from 'commander';
import { EmptyInputError, VecfillError } from '../core/index.js';
import { type ConfigFlags, configCommand } from './commands/config.js';
import { type DemoFlags, demoCommand } from './commands/demo.js';
import { type FillFlags, fillCommand } from './commands/fill.js';
import { type IndexFlags, indexCommand } from './commands/index-folder.js';
import { installTriggerCommand } from './commands/install-trigger.js';
import {
  activateCommand,
  type MigrateFlags,
  migrateCommand,
  reclaimCommand,
  reopenCommand,
  retireCommand,
} from './commands/lifecycle.js';
import { type McpFlags, mcpCommand } from './commands/mcp.js';
import { type SearchFlags, searchCommand } from './commands/search.js';
import { statusCommand } from './commands/status.js';
import { type WatchFlags, watchCommand } from './commands/watch.js';
import type { Context } from './context.js';
import { CliError, EXIT } from './errors.js';
import { withFollowOptions } from './follower.js';
import { argvSecrets, cliSecrets, guardOutput } from './redact.js';
import { exitWithSupervisor } from './supervise.js';
import { isEnvName, Workspace } from './workspace.js';

const DEFAULT_DB = './vecfill.db';

function withCommon(cmd: Command): Command {
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

function withEncoder(cmd: Command): Command {
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

const EXIT_CODES = `
Exit codes:
  0    ok
  1    runtime failure (encoder outage, database error)
  2    usage error (a wrong flag or value)
  3    database, table, folder or generation not found or not set up
  4    refused (e.g. activate with a backlog, reset while vectors exist)
  5    done, but some inputs were skipped (index: listed on stderr)
  130  interrupted (Ctrl-C); finished documents are saved, a rerun resumes

With --json, output is JSON on stdout and an error is one line of JSON on
stderr: { "error": { "code", "exit", "message" } }.
--db takes a SQLite file (default ./vecfill.db) or a postgres:// URL.`;

/** The example block shown after each command's --help. */
const EXAMPLES: Record<string, string> = {
  demo: `  $ vecfill demo
  $ vecfill demo --db demo.db --encoder transformers`,
  index: `  $ vecfill index ./notes
  $ vecfill index ~/new/place/notes --moved        # the folder moved: nothing unchanged is re-embedded
  $ vecfill index ./docs --db docs.db --include '**/*.md' --exclude 'drafts/**'
  $ vecfill index ./notes --encoder openai --base-url http://127.0.0.1:11434/v1 --model nomic-embed-text \\
      --text-prefix 'search_document: ' --query-prefix 'search_query: '`,
  watch: `  $ vecfill watch ./notes
  $ vecfill watch ./notes --db notes.db --metrics-port 9464`,
  fill: `  $ vecfill fill --db app.db --table notes --id id --content body --revision updated_at
  $ vecfill fill --db postgres://app@localhost/app --table notes --id id --content body
  $ vecfill fill --db app.db --table recipes --id rid --content text --vectors-prefix recipes_vec
  $ vecfill fill --db app.db --follow`,
  search: `  $ vecfill search "how do tides work"
  $ vecfill search "tides" --limit 5 --where "d.path LIKE 'ocean/%'" --json
  $ vecfill search "zebrafish" --no-hybrid --min-score 0.3
  $ vecfill search "tides" --generation words-sif-1a2b3c`,
  mcp: `  $ vecfill mcp --db notes.db
  $ vecfill mcp --db notes.db --allow-fill`,
  status: `  $ vecfill status
  $ vecfill status --db postgres://app@localhost/app --json`,
  config: `  $ vecfill config --db app.db
  $ vecfill config --db app.db --revision updated_at
  $ vecfill config --db app.db --reset            # refused while vectors exist
  $ vecfill config --db app.db --reset --force    # also drops the vectors (not your table)`,
  migrate: `  $ vecfill migrate --encoder openai --base-url http://127.0.0.1:11434/v1 --model nomic-embed-text
  $ vecfill migrate --quantization binary --activate
  $ vecfill migrate --split markdown --max-chars 800 --overlap 100 --activate`,
  'install-trigger': `  $ vecfill install-trigger --db postgres://app@localhost/app
  $ vecfill install-trigger --db postgres://app@localhost/app --uninstall`,
  activate: `  $ vecfill activate
  $ vecfill activate words-sif-1a2b3c --force`,
  retire: `  $ vecfill retire words-sif-1a2b3c
  $ vecfill retire words-sif-1a2b3c --force   # even the active one`,
  reopen: `  $ vecfill reopen words-sif-1a2b3c && vecfill fill && vecfill activate words-sif-1a2b3c`,
  reclaim: `  $ vecfill reclaim words-sif-1a2b3c`,
};

/** Adds the example block and the exit codes to every command's --help. */
function addHelpTexts(program: Command): void {
  program.addHelpText('after', EXIT_CODES);
  for (const cmd of program.commands) {
    const examples = EXAMPLES[cmd.name()];
    cmd.addHelpText('after', `${examples ? `\nExamples:\n${examples}\n` : ''}${EXIT_CODES}`);
  }
}

/** Options of the commands that fill (index, fill, migrate): batching, and the new generation's index. */
function withTuning(cmd: Command): Command {
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
function withIndexOptions(cmd: Command): Command {
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
function withFolderRules(cmd: Command): Command {
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

/** Runs the command line; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  for (const s of argvSecrets(argv, isEnvName)) cliSecrets.add(s);
  const unguard = guardOutput(cliSecrets);
  const controller = new AbortController();
  exitWithSupervisor();
  let firstSignalAt = 0;
  const onSigint = () => {
    // One Ctrl-C on a terminal can arrive twice (from the terminal and passed
    // on by the supervisor): a repeat within 250 ms is the same keypress.
    if (controller.signal.aborted) {
      if (Date.now() - firstSignalAt < 250) return;
      process.exit(EXIT.interrupted);
    }
    firstSignalAt = Date.now();
    controller.abort(
      new CliError(
        'interrupted; finished documents are saved, run the same command again to resume',
        EXIT.interrupted,
      ),
    );
  };
  process.on('SIGINT', onSigint);
  // SIGTERM (systemd, docker stop) stops like Ctrl-C: finished documents are saved.
  process.on('SIGTERM', onSigint);
  let exitCode: number = EXIT.ok;
  const jsonErrors = argv.includes('--json');
  const ctxFor = (opts: { json?: boolean }): Context => ({
    json: Boolean(opts.json),
    out: (t) => process.stdout.write(`${t}\n`),
    err: (t) => process.stderr.write(`${t}\n`),
    tty: Boolean(process.stdout.isTTY),
    signal: controller.signal,
  });
  const withWorkspace = async (
    opts: { db: string; json?: boolean; vectorsPrefix?: string },
    create: boolean,
    fn: (ws: Workspace, ctx: Context) => number | Promise<number>,
  ) => {
    const ctx = ctxFor(opts);
    const ws = await Workspace.open(opts.db, {
      create,
      quiet: ctx.json,
      ...(opts.vectorsPrefix !== undefined ? { vectorsPrefix: opts.vectorsPrefix } : {}),
    });
    try {
      exitCode = await fn(ws, ctx);
    } finally {
      await ws.close();
    }
  };

  const program = new Command('vecfill')
    .description(
      'Keep embeddings of a SQLite table in sync, migrate models without a search outage, and search.',
    )
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  // With --json, a usage error is printed once, as JSON, by report().
  if (jsonErrors) program.configureOutput({ writeErr: () => {} });

  program
    .command('demo')
    .description('index the bundled sample corpus offline, embed it and run a few searches')
    .option('--db <path>', 'where to build the demo database (default: a temporary folder)')
    .addOption(
      new Option(
        '--encoder <kind>',
        'words (offline word vectors, default) or transformers (a local ONNX model)',
      ).choices(['words', 'transformers']),
    )
    .option(
      '--model <name>',
      'model id or folder for --encoder transformers (default Xenova/all-MiniLM-L6-v2)',
    )
    .option('--json', 'print machine-readable JSON on stdout', false)
    .action(async (opts: DemoFlags & { json?: boolean }) => {
      exitCode = await demoCommand(opts, ctxFor(opts));
    });

  withTuning(
    withEncoder(
      withCommon(
        withFolderRules(program.command('index <dir>'))
          .description(
            'load Markdown, text and HTML files under <dir> into the documents table (content hash as revision), then fill; symlinks are followed while they stay inside <dir>',
          )
          .option(
            '--moved',
            'the folder this database indexes was moved to <dir>: re-root it; unchanged files are not embedded again',
          )
          .option('--no-fill', 'only load the files, do not embed them'),
      ),
    ),
  ).action(async (dir: string, opts: IndexFlags & { db: string; json?: boolean }) => {
    await withWorkspace(opts, true, (ws, ctx) => indexCommand(ws, dir, opts, ctx));
  });

  withFollowOptions(
    withTuning(
      withEncoder(
        withCommon(
          withFolderRules(program.command('watch <dir>'))
            .description(
              'index <dir> like `index`, then keep it indexed and embedded as files change (until Ctrl-C or SIGTERM)',
            )
            .option('--debounce <ms>', 'quiet time that ends a burst of file events (default 100)'),
        ),
      ),
    ),
  ).action(async (dir: string, opts: WatchFlags & { db: string; json?: boolean }) => {
    await withWorkspace(opts, true, (ws, ctx) => watchCommand(ws, dir, opts, ctx));
  });

  const fill = withTuning(
    withEncoder(
      withCommon(
        program
          .command('fill')
          .description(
            'embed every pending document of every live generation (first run: saves the table settings)',
          )
          .option('--table <name>', 'documents table')
          .option('--id <column>', 'primary-key column')
          .option('--content <column>', 'text column to embed')
          .option(
            '--revision <column>',
            'column that changes when the content changes (enables stale-write protection)',
          )
          .option('--generation <name>', 'name of the first generation')
          .option(
            '--follow',
            'keep running: fill again whenever the table changes, until Ctrl-C or SIGTERM',
          )
          .option(
            '--retry-skipped',
            'try again the documents an earlier fill skipped after encoder errors',
            false,
          ),
      ),
    ),
  );
  withFollowOptions(fill).action(async (opts: FillFlags & { db: string; json?: boolean }) => {
    await withWorkspace(opts, false, (ws, ctx) => fillCommand(ws, opts, ctx));
  });

  withCommon(
    program
      .command('search <query>')
      .description('semantic search over every live generation')
      .option('--limit <n>', 'results to show', '10')
      .option(
        '--hybrid',
        'fuse full-text hits with vector hits (the default when the store has full text)',
      )
      .option('--no-hybrid', 'vector hits only')
      .option(
        '--min-score <similarity>',
        'keep hits whose raw similarity (cosine, -1..1) is at least this; full-text-only hits have none and are left out',
      )
      .option('--generation <key>', 'search this live generation only (see `vecfill status`)')
      .option(
        '--query-timeout <ms>',
        "deadline for each generation's query encoding; a generation that misses it is left out",
        '3000',
      )
      .option(
        '--where <sql>',
        'filter: SQL over the documents table, aliased d (e.g. "d.path LIKE \'notes/%\'"); trusted SQL, run read-only',
      )
      .addOption(
        new Option(
          '--merge <strategy>',
          "during a migration, how the generations' lists are put on one scale (default normalized; each weighted by its coverage)",
        ).choices(['normalized', 'raw', 'rrf']),
      ),
  ).action(async (query: string, opts: SearchFlags & { db: string; json?: boolean }) => {
    await withWorkspace(opts, false, (ws, ctx) => searchCommand(ws, query, opts, ctx));
  });

  withCommon(
    program
      .command('mcp')
      .description(
        'serve search (and status) to AI assistants over the Model Context Protocol on stdio',
      )
      .option('--allow-fill', 'also offer a fill tool that embeds pending documents', false),
  ).action(async (opts: McpFlags & { db: string; json?: boolean }) => {
    await withWorkspace({ ...opts, json: true }, false, (ws, ctx) => mcpCommand(ws, opts, ctx));
  });

  withCommon(
    program
      .command('config')
      .description(
        "show the saved settings (table, columns, vectors prefix, each generation's encoder); change or reset them",
      )
      .option('--table <name>', 'change the documents table')
      .option('--id <column>', 'change the primary-key column')
      .option('--content <column>', 'change the text column')
      .option('--revision <column>', 'change the revision column ("" removes it)')
      .option('--reset', 'forget the saved settings (refused while vectors exist)', false)
      .option(
        '--force',
        'with --reset, or a change of table/id/content: also drop the existing vectors (the documents table is kept)',
        false,
      ),
  ).action(async (opts: ConfigFlags & { db: string; json?: boolean }) => {
    await withWorkspace(opts, false, (ws, ctx) => configCommand(ws, opts, ctx));
  });

  withCommon(
    program.command('status').description('generations with state, coverage and storage'),
  ).action(async (opts: { db: string; json?: boolean }) => {
    await withWorkspace(opts, false, (ws, ctx) => statusCommand(ws, ctx));
  });

  withTuning(
    withEncoder(
      withCommon(
        program
          .command('migrate')
          .description(
            'add a building generation with a new encoder and fill it while search keeps serving the active one',
          )
          .option('--generation <name>', 'name of the new generation')
          .option('--activate', 'activate it once it covers every document', false)
          .option(
            '--force',
            'with --activate: activate even if more than 1% of the documents were skipped',
            false,
          )
          .option('--no-fill', 'only create it'),
      ),
    ),
  ).action(async (opts: MigrateFlags & { db: string; json?: boolean }) => {
    await withWorkspace(opts, false, (ws, ctx) => migrateCommand(ws, opts, ctx));
  });

  withCommon(
    program
      .command('install-trigger')
      .description(
        'PostgreSQL: add a trigger on the documents table that wakes `fill --follow` on every change',
      )
      .option('--uninstall', 'remove the trigger'),
  ).action(async (opts: { db: string; json?: boolean; uninstall?: boolean }) => {
    await withWorkspace(opts, false, (ws, ctx) => installTriggerCommand(ws, opts, ctx));
  });

  withCommon(
    program
      .command('activate [generation]')
      .description('make a fully covered generation the active one (default: the building one)')
      .option(
        '--force',
        'activate even if it embedded nothing or skipped more than 1% of the documents',
        false,
      ),
  ).action(
    async (gen: string | undefined, opts: { db: string; json?: boolean; force?: boolean }) => {
      await withWorkspace(opts, false, (ws, ctx) => activateCommand(ws, gen, opts, ctx));
    },
  );
  withCommon(
    program
      .command('retire <generation>')
      .description('stop searching a generation (its vectors stay until reclaim)')
      .option(
        '--force',
        'retire even the active generation (search then has no complete generation)',
        false,
      ),
  ).action(async (gen: string, opts: { db: string; json?: boolean; force?: boolean }) => {
    await withWorkspace(opts, false, (ws, ctx) => retireCommand(ws, gen, opts, ctx));
  });
  withCommon(
    program
      .command('reopen <generation>')
      .description(
        'bring a retired generation back as building, keeping its vectors (fill, then activate, to roll back)',
      ),
  ).action(async (gen: string, opts: { db: string; json?: boolean }) => {
    await withWorkspace(opts, false, (ws, ctx) => reopenCommand(ws, gen, ctx));
  });
  withCommon(
    program.command('reclaim <generation>').description("drop a retired generation's vectors"),
  ).action(async (gen: string, opts: { db: string; json?: boolean }) => {
    await withWorkspace(opts, false, (ws, ctx) => reclaimCommand(ws, gen, ctx));
  });

  addHelpTexts(program);
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (e) {
    return report(e, jsonErrors);
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    unguard();
  }
}

/** The stable `code` of an error printed with `--json`, by exit code when the error has none. */
const CODE_BY_EXIT: Record<number, string> = {
  [EXIT.failure]: 'FAILURE',
  [EXIT.usage]: 'USAGE',
  [EXIT.notFound]: 'NOT_FOUND',
  [EXIT.refused]: 'REFUSED',
  [EXIT.partial]: 'PARTIAL',
  [EXIT.interrupted]: 'INTERRUPTED',
};

/** Prints an error on stderr (`vecfill: …`, or `{ "error": { "code", "message" } }` with --json) and gives the exit code. */
function report(e: unknown, json: boolean): number {
  const print = (exit: number, message: string, code?: string) => {
    if (json) {
      process.stderr.write(
        `${JSON.stringify({ error: { code: code ?? CODE_BY_EXIT[exit] ?? 'FAILURE', exit, message } })}\n`,
      );
    } else process.stderr.write(`vecfill: ${message}\n`);
    return exit;
  };
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0)
      return EXIT.ok;
    if (json) return print(EXIT.usage, e.message.replace(/^error: /, ''), 'USAGE');
    return EXIT.usage;
  }
  if (e instanceof CliError) return print(e.exitCode, e.message, e.code);
  if (e instanceof EmptyInputError)
    return print(EXIT.usage, 'the query is blank; give some words to search for', 'USAGE');
  if (e instanceof VecfillError) return print(EXIT.failure, e.message, e.code);
  const message = e instanceof Error ? e.message : String(e);
  return print(EXIT.failure, message);
}
