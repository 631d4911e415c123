import { type Context, emit } from '../context.js';
import { CLI_DEFAULTS as D } from '../defaults.js';
import {
  type EncoderFlags,
  encoderSettingsFrom,
  type IndexOptionFlags,
  indexOptionsFrom,
} from '../encoder-settings.js';
import { EXIT } from '../errors.js';
import { describeLeftOut, type LeftOut } from '../folder-walk.js';
import { type IndexOptions, indexFolder } from '../indexer.js';
import { describeFill, type FillAll, fillEach } from '../run-fill.js';
import type { Workspace } from '../workspace.js';
import { fillTuning } from './fill.js';

export interface IndexFlags extends EncoderFlags, IndexOptionFlags {
  include?: string[];
  exclude?: string[];
  fill?: boolean;
  /** Largest file read, in bytes (`--max-bytes`). */
  maxBytes?: number;
  moved?: boolean;
  /** List every file the rules left out, with why (`--verbose`). */
  verbose?: boolean;
  batchSize?: number;
  concurrency?: number;
}

/** `vecfill index <dir>`: load files into the documents table, then fill. */
export async function indexCommand(
  ws: Workspace,
  dir: string,
  flags: IndexFlags,
  ctx: Context,
): Promise<number> {
  // Two `vecfill index` runs on one database at once (a cron job overlapping
  // a manual run) share the work: each leases the page of documents it embeds,
  // so neither embeds a file the other is embedding.
  ws.useLeases(D.leaseSeconds * 1000);
  const result = await indexFolder(ws, dir, {
    ...folderOptionsFrom(flags),
    ...(flags.moved ? { moved: true } : {}),
  });
  const store = await ensureFirstGeneration(ws, flags);
  const { runs, failed }: FillAll =
    flags.fill === false
      ? { runs: [], failed: [] }
      : await fillEach(ws, await store.liveGenerations(), fillTuning(flags, ctx), ctx);
  // Documents still pending after this run's fill are leased by another
  // run embedding them right now (or were changed meanwhile): say so, so an
  // "embedded 0 documents" is not taken for a run that did nothing wrong.
  const pendingElsewhere = new Map<string, number>();
  for (const run of runs) {
    const { backlog } = await store.coverage(run.generation);
    if (backlog > 0) pendingElsewhere.set(run.generation, backlog);
  }
  // One line per skipped entry on stderr, and exit code 5 (EXIT.partial):
  // everything else was indexed, but a script must know something was left out.
  for (const s of result.skipped) ctx.err(`vecfill: skipped ${s.path}: ${s.reason}`);
  reportLeftOut(ctx, result.leftOut, flags.verbose === true);
  const index = { ...result, leftOut: leftOutJson(result.leftOut, flags.verbose === true) };
  const value = failed.length > 0 ? { index, fill: runs, failed } : { index, fill: runs };
  const code = emit(ctx, value, () => {
    const lines = [
      `indexed ${result.files} files from ${result.root}: ${result.added} new, ${result.changed} changed, ${result.unchanged} unchanged, ${result.removed} removed${result.moved ? `, ${result.moved} moved (vectors kept)` : ''}${result.skipped.length ? `, ${result.skipped.length} skipped (listed on stderr)` : ''}`,
    ];
    const leftOut = describeLeftOut(result.leftOut, flags.verbose !== true);
    if (leftOut) lines.push(leftOut);
    for (const run of runs) {
      lines.push(describeFill(run));
      const pending = pendingElsewhere.get(run.generation);
      if (pending)
        lines.push(
          `  ${pending} document(s) still pending: another vecfill run is embedding them, or they changed meanwhile (\`vecfill status\` shows when they are done)`,
        );
    }
    return lines.join('\n');
  });
  if (failed.length > 0) return EXIT.failure;
  return result.skipped.length > 0 ? EXIT.partial : code;
}

/** The file rules `index` and `watch` share: `--include`, `--exclude`, `--max-bytes`. */
export function folderOptionsFrom(
  flags: IndexFlags,
): Pick<IndexOptions, 'include' | 'exclude' | 'maxBytes'> {
  return {
    ...(flags.include ? { include: flags.include } : {}),
    ...(flags.exclude ? { exclude: flags.exclude } : {}),
    ...(flags.maxBytes !== undefined ? { maxBytes: flags.maxBytes } : {}),
  };
}

/** Opens the store and, on a database with no generation yet, creates the first one (active) from the flags. */
export async function ensureFirstGeneration(ws: Workspace, flags: IndexFlags) {
  const store = await ws.store();
  if ((await store.generations()).length === 0)
    await ws.ensureGeneration(
      encoderSettingsFrom(flags),
      'active',
      undefined,
      indexOptionsFrom(flags),
    );
  return store;
}

/** With `--verbose`, one line per entry the rules left out, on stderr. */
export function reportLeftOut(ctx: Context, leftOut: LeftOut, verbose: boolean): void {
  if (!verbose) return;
  for (const e of leftOut.entries) ctx.err(`vecfill: left out ${e.path}: ${e.reason}`);
}

/** The left-out summary as JSON: counts always, each entry with `--verbose`. */
export function leftOutJson(leftOut: LeftOut, verbose: boolean) {
  const count = (r: string) => leftOut.entries.filter((e) => e.reason === r).length;
  return {
    otherTypes: leftOut.otherTypes,
    excluded: count('excluded'),
    symlinksOutside: count('symlink outside the folder'),
    symlinkLoops: count('symlink loop'),
    pdfsUnread: count('no PDF reader'),
    ...(verbose ? { entries: leftOut.entries } : {}),
  };
}
