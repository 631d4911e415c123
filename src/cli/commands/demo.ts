import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Context, emit } from '../context.js';
import { CLI_DEFAULTS as D } from '../defaults.js';
import { encoderSettingsFrom } from '../encoder-settings.js';
import { indexFolder } from '../indexer.js';
import { describeFill, type FillRun, fillGeneration } from '../run-fill.js';
import { Workspace } from '../workspace.js';
import { renderRows, runSearch, type SearchRow } from './search.js';

/** The queries the demo runs, and the file each one should find first. */
export const DEMO_QUERIES: { query: string; expect: string }[] = [
  { query: "which way does a comet's tail point", expect: 'astronomy/' },
  { query: 'my bread dough is not rising', expect: 'baking/' },
  { query: 'why does my kitten knead the blanket', expect: 'cats/' },
  { query: 'paying off credit card interest', expect: 'finance/' },
];

/**
 * Builds a database from the corpus shipped with vecfill, embeds it with the
 * offline encoder (or, with `--encoder transformers`, a local ONNX model) and
 * runs a few searches. No network with the default encoder; a transformers
 * model is loaded from the cache, downloaded on its first use.
 */
export interface DemoFlags {
  db?: string;
  /** `words` (default) or `transformers`. */
  encoder?: string;
  model?: string;
}

export async function demoCommand(flags: DemoFlags, ctx: Context): Promise<number> {
  const started = Date.now();
  const corpus = fileURLToPath(new URL('../../../corpus/', import.meta.url));
  const dbPath = flags.db ?? join(mkdtempSync(join(tmpdir(), 'vecfill-demo-')), 'demo.db');
  const ws = await Workspace.open(dbPath, { create: true, log: ctx });
  try {
    if (!ctx.json) ctx.err(`vecfill demo: indexing the sample corpus into ${dbPath}`);
    const index = await indexFolder(ws, corpus, { exclude: ['README.md'] });
    if ((await (await ws.store()).generations()).length === 0)
      await ws.ensureGeneration(
        flags.encoder === 'transformers'
          ? encoderSettingsFrom({
              encoder: 'transformers',
              ...(flags.model ? { model: flags.model } : {}),
            })
          : { kind: 'words', weighting: D.weighting },
        'active',
      );
    const runs: FillRun[] = [];
    for (const gen of await (await ws.store()).liveGenerations())
      runs.push(await fillGeneration(ws, gen, { signal: ctx.signal, quiet: ctx.json }));
    const results: { query: string; results: SearchRow[] }[] = [];
    for (const { query } of DEMO_QUERIES)
      results.push({ query, results: await runSearch(ws, query, { limit: 3 }, ctx.signal) });
    const seconds = (Date.now() - started) / 1000;
    return emit(ctx, { database: dbPath, index, fill: runs, searches: results, seconds }, () =>
      [
        `indexed ${index.files} files (${index.added} new, ${index.changed} changed)`,
        ...runs.map(describeFill),
        '',
        ...results.flatMap((r) => [
          `search: "${r.query}"`,
          renderRows(r.results, r.query, ctx.tty),
          '',
        ]),
        `done in ${seconds.toFixed(1)}s. Try your own query:`,
        `  node bin/vecfill.js search --db ${dbPath} "how do tides work"`,
      ].join('\n'),
    );
  } finally {
    await ws.close();
  }
}
