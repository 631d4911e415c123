import { LifecycleError, UncoveredError, UnknownGenerationError } from '../../core/index.js';
import { type Context, emit } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import { describeFill, fillGeneration } from '../run-fill.js';
import {
  type EncoderFlags,
  encoderSettingsFrom,
  type IndexOptionFlags,
  indexOptionsFrom,
  type Workspace,
} from '../workspace.js';
import { fillTuning } from './fill.js';

export interface MigrateFlags extends EncoderFlags, IndexOptionFlags {
  generation?: string;
  activate?: boolean;
  fill?: boolean;
  batchSize?: string;
  concurrency?: string;
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
  const run =
    flags.fill === false ? undefined : await fillGeneration(ws, gen, fillTuning(flags, ctx));
  let activated = false;
  if (flags.activate) {
    await guard(() => store.activate(gen));
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
  ctx: Context,
): Promise<number> {
  const store = await ws.store();
  const target = gen ?? (await store.generations()).find((g) => g.state === 'building')?.key;
  if (!target)
    throw new CliError(
      'no building generation to activate; name one: vecfill activate <generation>',
      EXIT.notFound,
    );
  await guard(() => store.activate(target));
  return emit(
    ctx,
    { activated: target },
    () => `activated ${target}; other generations are retired`,
  );
}

export async function retireCommand(ws: Workspace, gen: string, ctx: Context): Promise<number> {
  await guard(async () => (await ws.store()).retire(gen));
  return emit(
    ctx,
    { retired: gen },
    () =>
      `retired ${gen}; it is no longer searched (free its space with \`vecfill reclaim ${gen}\`)`,
  );
}

export async function reclaimCommand(ws: Workspace, gen: string, ctx: Context): Promise<number> {
  await guard(async () => (await ws.store()).reclaim(gen));
  return emit(ctx, { reclaimed: gen }, () => `reclaimed ${gen}: its vectors were dropped`);
}

/** Maps the store's refusals to exit codes with messages that say what to do. */
async function guard(fn: () => unknown): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof UncoveredError) {
      throw new CliError(`${e.message} (run \`vecfill fill\`, then activate again)`, EXIT.refused);
    }
    if (e instanceof UnknownGenerationError)
      throw new CliError(`${e.message}; see \`vecfill status\``, EXIT.notFound);
    if (e instanceof LifecycleError) throw new CliError(e.message, EXIT.refused);
    throw e;
  }
}
