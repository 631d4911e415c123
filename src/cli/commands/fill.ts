import { type Context, emit } from '../context.js';
import { CLI_DEFAULTS as D } from '../defaults.js';
import {
  type EncoderFlags,
  encoderSettingsFrom,
  type IndexOptionFlags,
  indexOptionsFrom,
} from '../encoder-settings.js';
import { CliError, EXIT } from '../errors.js';
import { type FollowFlags, followTimingFrom, runFollower } from '../follower.js';
import { describeFill, fillEach } from '../run-fill.js';
import type { Workspace } from '../workspace.js';

export interface FillFlags extends EncoderFlags, IndexOptionFlags, FollowFlags {
  follow?: boolean;
  table?: string;
  id?: string;
  content?: string;
  revision?: string;
  prefix?: string;
  generation?: string;
  batchSize?: number;
  concurrency?: number;
  retrySkipped?: boolean;
}

/**
 * Fills every live generation of the configured table. The first run on a
 * database saves the table settings (and creates an active generation with
 * the chosen encoder), so later runs need no flags.
 */
export async function fillCommand(ws: Workspace, flags: FillFlags, ctx: Context): Promise<number> {
  if (!flags.follow && (flags.metricsPort !== undefined || flags.poll !== undefined))
    throw new CliError('--metrics-port and --poll go with --follow', EXIT.usage);
  const saved = await ws.tableConfig();
  if (flags.table || flags.id || flags.content) {
    if (!flags.table || !flags.id || !flags.content) {
      throw new CliError(
        '--table, --id and --content go together (e.g. --table notes --id id --content body)',
        EXIT.usage,
      );
    }
    await ws.configureTable({
      table: flags.table,
      id: flags.id,
      content: flags.content,
      prefix: ws.vectorsPrefix,
      ...(flags.revision ? { revision: flags.revision } : {}),
    });
  } else if (!saved) {
    throw new CliError(
      `${ws.path} is not set up yet: pass --table, --id and --content (and --revision if the table has one)`,
      EXIT.usage,
    );
  }
  const store = await ws.store();
  if ((await store.generations()).length === 0) {
    await ws.ensureGeneration(
      encoderSettingsFrom(flags),
      'active',
      flags.generation,
      indexOptionsFrom(flags),
    );
  } else if (
    flags.encoder ||
    flags.model ||
    flags.baseUrl ||
    flags.maxChars !== undefined ||
    flags.overlap !== undefined ||
    flags.split !== undefined
  ) {
    throw new CliError(
      'this database already has a generation; to change the encoder or the chunking (--max-chars, --overlap, --split) run `vecfill migrate` with the new flags',
      EXIT.usage,
    );
  } else if (indexOptionsFrom(flags)) {
    throw new CliError(
      'this database already has a generation; to index it another way run `vecfill migrate --quantization …` (same encoder flags), then `vecfill activate`',
      EXIT.usage,
    );
  }
  if (flags.follow) return followCommand(ws, flags, ctx);
  const live = await store.liveGenerations();
  if (live.length === 0) {
    const retired = (await store.generations()).filter(
      (g) => g.state === 'retired' && !g.reclaimed,
    );
    throw new CliError(
      retired.length > 0
        ? `no live generation to fill; bring one back with \`vecfill reopen ${retired.at(-1)!.key}\` (then fill and activate it), or create one with \`vecfill migrate\``
        : 'no live generation to fill; create one with `vecfill migrate`',
      EXIT.notFound,
    );
  }
  // Several `vecfill fill` processes may run at once (cron overlapping a
  // manual run, workers on one machine): each leases the page it embeds, so
  // none embeds a document another one is embedding.
  ws.useLeases(followTimingFrom(flags).leaseMs);
  const { runs, failed } = await fillEach(
    ws,
    live,
    { ...fillTuning(flags, ctx), retrySkipped: flags.retrySkipped === true },
    ctx,
  );
  emit(ctx, failed.length > 0 ? { generations: runs, failed } : { generations: runs }, () =>
    runs.map(describeFill).join('\n'),
  );
  return failed.length > 0 ? EXIT.failure : EXIT.ok;
}

/** `fill --follow`: fill, then keep filling every live generation as the table changes, until stopped. */
function followCommand(ws: Workspace, flags: FillFlags, ctx: Context): Promise<number> {
  const { leaseMs, pollMs } = followTimingFrom(flags);
  const { batchSize, concurrency } = fillTuning(flags, ctx);
  ws.useLeases(leaseMs);
  return runFollower(
    ws,
    ctx,
    {
      batchSize,
      concurrency,
      pollMs,
      ...(flags.metricsPort === undefined ? {} : { metricsPort: flags.metricsPort }),
    },
    leaseMs,
  );
}

/** How `index`, `fill`, `migrate` and `watch` fill: `--batch-size`, `--concurrency`, and the command's signal and mode. */
export function fillTuning(flags: { batchSize?: number; concurrency?: number }, ctx: Context) {
  return {
    batchSize: flags.batchSize ?? D.batchSize,
    concurrency: flags.concurrency ?? D.concurrency,
    signal: ctx.signal,
    quiet: ctx.json,
  };
}
