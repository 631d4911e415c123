import type { Command } from 'commander';
import { CLI_DEFAULTS } from './defaults.js';

/** The exit codes, listed after every command's --help. */
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
--db takes a SQLite file (default ${CLI_DEFAULTS.db}) or a postgres:// URL.`;

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
  reclaim: `  $ vecfill reclaim words-sif-1a2b3c
  $ vecfill vacuum                            # when reclaim says space is left inside the file`,
  vacuum: `  $ vecfill vacuum
  $ vecfill vacuum --db notes.db --json`,
};

/** Adds the example block and the exit codes to every command's --help. */
export function addHelpTexts(program: Command): void {
  program.addHelpText('after', EXIT_CODES);
  for (const cmd of program.commands) {
    const examples = EXAMPLES[cmd.name()];
    cmd.addHelpText('after', `${examples ? `\nExamples:\n${examples}\n` : ''}${EXIT_CODES}`);
  }
}
