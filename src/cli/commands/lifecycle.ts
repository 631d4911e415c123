import {
  LifecycleError,
  TooManySkippedError,
  UncoveredError,
  UnknownGenerationError,
} from '../../core/index.js';
import { type Context, emit } from '../context.js';
import {
  type EncoderFlags,
  encoderSettingsFrom,
  type IndexOptionFlags,
  indexOptionsFrom,
} from '../encoder-settings.js';
import { CliError, EXIT } from '../errors.js';
import { describeFill, fillEach } from '../run-fill.js';
import type { Workspace } from '../workspace.js';
import { fillTuning } from './fill.js';
import { mib, releaseFreePages } from './vacuum.js';

export interface MigrateFlags extends EncoderFlags, IndexOptionFlags {
  generation?: string;
  activate?: boolean;
  /** Activate even when too many documents were skipped (`--force`). */
  force?: boolean;
  fill?: boolean;
  batchSize?: number;
  concurrency?: number;
}

/**
 * Adds a building generation with a new encoder and fills it; search keeps
 * answering from the active generation (and whatever the new one already
 * covers) the whole time. `--activate` switches over once it is complete.
 */
export async function migrateCommand(
  ws: Workspace,
  flags: MigrateFlags,
  ctx: Context,
): Promise<number> {
  const store = await ws.store();
  const settings = encoderSettingsFrom(flags);
  const gen = await ws.ensureGeneration(
    settings,
    'building',
    flags.generation,
    indexOptionsFrom(flags),
  );
  const info = (await store.generations()).find((g) => g.key === gen)!;
  if (info.state !== 'building') {
    throw new CliError(
      `generation ${gen} already exists and is ${info.state}; nothing to migrate to`,
      EXIT.refused,
    );
  }
  const filled =
    flags.fill === false ? undefined : await fillEach(ws, [gen], fillTuning(flags, ctx), ctx);
  if (filled && filled.failed.length > 0) {
    emit(ctx, { generation: gen, failed: filled.failed, activated: false }, () =>
      [
        `building generation ${gen} was created but not filled; search keeps answering from the active one`,
      ].join('\n'),
    );
    return EXIT.failure;
  }
  const run = filled?.runs[0];
  let activated = false;
  if (flags.activate) {
    await guard(() => store.activate(gen, { force: flags.force === true }));
    activated = true;
  }
  return emit(ctx, { generation: gen, fill: run, activated }, () =>
    [
      `building generation ${gen}`,
      ...(run ? [describeFill(run)] : []),
      activated
        ? `activated ${gen}; the previous generation is retired (reclaim it with \`vecfill reclaim\`)`
        : `when ready: vecfill activate ${gen}`,
    ].join('\n'),
  );
}

export async function activateCommand(
  ws: Workspace,
  gen: string | undefined,
  flags: { force?: boolean },
  ctx: Context,
): Promise<number> {
  const store = await ws.store();
  const target = gen ?? (await store.generations()).find((g) => g.state === 'building')?.key;
  if (!target)
    throw new CliError(
      'no building generation to activate; name one: vecfill activate <generation>',
      EXIT.notFound,
    );
  const info = (await store.generations()).find((g) => g.key === target);
  try {
    await store.activate(target, { force: flags.force === true });
  } catch (e) {
    if (e instanceof UncoveredError) {
      // Name every command to run, in order: a retired generation is not filled until reopened.
      const steps =
        info?.state === 'retired'
          ? `run \`vecfill reopen ${target}\`, then \`vecfill fill\`, then \`vecfill activate ${target}\``
          : `run \`vecfill fill\`, then \`vecfill activate ${target}\``;
      throw new CliError(
        `generation ${target} cannot be activated: ${e.backlog} document(s) are not embedded yet; ${steps}`,
        EXIT.refused,
      );
    }
    await guard(() => {
      throw e;
    });
  }
  return emit(
    ctx,
    { activated: target },
    () => `activated ${target}; other generations are retired`,
  );
}

export async function retireCommand(
  ws: Workspace,
  gen: string,
  flags: { force?: boolean },
  ctx: Context,
): Promise<number> {
  await guard(async () => (await ws.store()).retire(gen, { force: Boolean(flags.force) }));
  return emit(
    ctx,
    { retired: gen },
    () =>
      `retired ${gen}; it is no longer searched (bring it back with \`vecfill reopen ${gen}\`, or free its space with \`vecfill reclaim ${gen}\`)`,
  );
}

/** `vecfill reopen <gen>`: a retired generation becomes building again, keeping its vectors. */
export async function reopenCommand(ws: Workspace, gen: string, ctx: Context): Promise<number> {
  const store = await ws.store();
  await guard(() => store.reopen(gen));
  const { backlog } = await store.coverage(gen);
  return emit(
    ctx,
    { reopened: gen, backlog },
    () =>
      `reopened ${gen} as building; ${backlog} document(s) changed since it was retired: run \`vecfill fill\`, then \`vecfill activate ${gen}\``,
  );
}

/**
 * `vecfill reclaim <gen>`: drops a retired generation's vectors. On SQLite
 * the freed pages go back to the disk at once when the file is in
 * incremental auto-vacuum mode (databases the CLI creates, or after one
 * `vecfill vacuum`); otherwise the message says how much `vecfill vacuum`
 * would give back.
 */
export async function reclaimCommand(ws: Workspace, gen: string, ctx: Context): Promise<number> {
  await guard(async () => (await ws.store()).reclaim(gen));
  const space = ws.kind === 'sqlite' ? releaseFreePages(ws.db, ws.path) : undefined;
  return emit(ctx, { reclaimed: gen, ...space }, () => {
    const base = `reclaimed ${gen}: its vectors were dropped`;
    if (space === undefined) return `${base} (its table is gone, and its space with it)`;
    if ('freed' in space) return `${base}, ${mib(space.freed)} given back to the disk`;
    return `${base}; ${mib(space.free)} are now free inside the file: \`vecfill vacuum --db ${ws.path}\` gives them back to the disk`;
  });
}

/** Maps the store's refusals to exit codes with messages that say what to do. */
async function guard(fn: () => unknown): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof UncoveredError) {
      throw new CliError(
        `${e.message.replace(/; run fill for it first$/, '')} (run \`vecfill fill\`, then activate again)`,
        EXIT.refused,
      );
    }
    if (e instanceof TooManySkippedError) throw new CliError(e.message, EXIT.refused);
    if (e instanceof UnknownGenerationError)
      throw new CliError(`${e.message}; see \`vecfill status\``, EXIT.notFound);
    if (e instanceof LifecycleError) throw new CliError(e.message, EXIT.refused);
    throw e;
  }
}
