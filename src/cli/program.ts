import { Command, Option } from 'commander';
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
import { vacuumCommand } from './commands/vacuum.js';
import { type WatchFlags, watchCommand } from './commands/watch.js';
import type { Context } from './context.js';
import { CLI_DEFAULTS as D } from './defaults.js';
import {
  numberFlag,
  positiveFlag,
  withCommon,
  withEncoder,
  withFolderRules,
  withFollowOptions,
  withTuning,
} from './flags.js';
import { addHelpTexts } from './help.js';
import type { Workspace } from './workspace.js';

/** The flags every command that opens a database shares. */
export interface DatabaseFlags {
  db: string;
  json?: boolean;
  vectorsPrefix?: string;
}

/** How the program runs a command's action: with the command's context, and its database open. */
export interface CommandRunner {
  /** Runs a command that opens no database of its own (demo); its result is the exit code. */
  run(opts: { json?: boolean }, fn: (ctx: Context) => Promise<number>): Promise<void>;
  /** Opens `--db` (a missing SQLite file is created when `create`), runs the command, closes the database. */
  withWorkspace(
    opts: DatabaseFlags,
    create: boolean,
    fn: (ws: Workspace, ctx: Context) => number | Promise<number>,
  ): Promise<void>;
}

/**
 * The `vecfill` command line: every command with its flags, help and
 * examples. Parsing only: what a command does is in `commands/`.
 */
export function buildProgram(runner: CommandRunner, jsonErrors: boolean): Command {
  const withWorkspace = runner.withWorkspace.bind(runner);

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
      `model id or folder for --encoder transformers (default ${D.transformersModel})`,
    )
    .option('--json', 'print machine-readable JSON on stdout', false)
    .action((opts: DemoFlags & { json?: boolean }) =>
      runner.run(opts, (ctx) => demoCommand(opts, ctx)),
    );

  withTuning(
    withEncoder(
      withCommon(
        withFolderRules(program.command('index <dir>'))
          .description(
            'load Markdown, text, HTML and PDF files under <dir> into the documents table (content hash as revision), then fill; symlinks are followed while they stay inside <dir>',
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
            .option(
              '--debounce <ms>',
              `quiet time that ends a burst of file events (default ${D.debounceMs})`,
              numberFlag((v) => `--debounce must be milliseconds (0-60000), got ${v}`, {
                min: 0,
                max: 60_000,
              }),
            ),
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
      .option(
        '--limit <n>',
        `results to show (1-${D.maxLimit}; every search ranks the same ${D.searchCandidates} candidates, so a score never depends on it)`,
        numberFlag((v) => `--limit must be a whole number from 1 to ${D.maxLimit}, got ${v}`, {
          min: 1,
          max: D.maxLimit,
        }),
        D.limit,
      )
      .option(
        '--hybrid',
        'fuse full-text hits with vector hits (the default when the store has full text)',
      )
      .option('--no-hybrid', 'vector hits only')
      .option(
        '--min-score <similarity>',
        'keep hits whose raw similarity (cosine, -1..1) is at least this; full-text-only hits have none and are left out',
        numberFlag((v) => `--min-score is a similarity from -1 to 1 (cosine), got ${v}`, {
          min: -1,
          max: 1,
          fraction: true,
        }),
      )
      .option('--generation <key>', 'search this live generation only (see `vecfill status`)')
      .option(
        '--query-timeout <ms>',
        "deadline for each generation's query encoding; a generation that misses it is left out",
        positiveFlag((v) => `--query-timeout must be a positive number of milliseconds, got ${v}`),
        D.queryTimeoutMs,
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
  withCommon(
    program
      .command('vacuum')
      .description(
        'give the space of dropped vectors back to the disk and say how much (SQLite: rewrites the file once; later reclaims then free their space by themselves)',
      ),
  ).action(async (opts: { db: string; json?: boolean }) => {
    await withWorkspace(opts, false, (ws, ctx) => vacuumCommand(ws, ctx));
  });

  addHelpTexts(program);
  return program;
}
