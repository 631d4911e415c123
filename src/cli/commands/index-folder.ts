import { type Context, emit } from '../context.js';
import { indexFolder } from '../indexer.js';
import { describeFill, type FillRun, fillGeneration } from '../run-fill.js';
import {
  type EncoderFlags,
  encoderSettingsFrom,
  type IndexOptionFlags,
  indexOptionsFrom,
  type Workspace,
} from '../workspace.js';
import { fillTuning } from './fill.js';

export interface IndexFlags extends EncoderFlags, IndexOptionFlags {
  include?: string[];
  exclude?: string[];
  fill?: boolean;
  batchSize?: string;
  concurrency?: string;
}

/** `vecfill index <dir>`: load files into the documents table, then fill. */
export async function indexCommand(
  ws: Workspace,
  dir: string,
  flags: IndexFlags,
  ctx: Context,
): Promise<number> {
  const result = await indexFolder(ws, dir, {
    ...(flags.include ? { include: flags.include } : {}),
    ...(flags.exclude ? { exclude: flags.exclude } : {}),
  });
  const store = await ws.store();
  if ((await store.generations()).length === 0)
    await ws.ensureGeneration(
      encoderSettingsFrom(flags),
      'active',
      undefined,
      indexOptionsFrom(flags),
    );
  const runs: FillRun[] = [];
  if (flags.fill !== false) {
    for (const gen of await store.liveGenerations())
      runs.push(await fillGeneration(ws, gen, fillTuning(flags, ctx)));
  }
  return emit(ctx, { index: result, fill: runs }, () => {
    const lines = [
      `indexed ${result.files} files from ${result.root}: ${result.added} new, ${result.changed} changed, ${result.unchanged} unchanged, ${result.removed} removed`,
    ];
    for (const s of result.skipped) lines.push(`  skipped ${s.path}: ${s.reason}`);
    lines.push(...runs.map(describeFill));
    return lines.join('\n');
  });
}
