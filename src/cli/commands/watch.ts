import { relative, resolve, sep } from 'node:path';
import { watch as chokidarWatch } from 'chokidar';
import type { Context } from '../context.js';
import { CLI_DEFAULTS as D } from '../defaults.js';
import { describeLeftOut } from '../folder-walk.js';
import { type FollowFlags, followTimingFrom, runFollower } from '../follower.js';
import { folderRules, type IndexResult, indexFolder } from '../indexer.js';
import type { Workspace } from '../workspace.js';
import { fillTuning } from './fill.js';
import {
  ensureFirstGeneration,
  folderOptionsFrom,
  type IndexFlags,
  leftOutJson,
  reportLeftOut,
} from './index-folder.js';

export interface WatchFlags extends IndexFlags, FollowFlags {
  /** Milliseconds (`--debounce`). */
  debounce?: number;
}

/** Longest a burst of events can hold back an update (an editor saving every 50 ms, a checkout). */
const MAX_WAIT_MS = 1000;

/**
 * `vecfill watch <dir>`: indexes the folder like `index`, then keeps it
 * indexed and embedded: file system events (chokidar) are collected for a
 * short quiet period, the touched paths are re-read with the same rules as
 * `index` (include / exclude, size limit), and every live generation is
 * filled. A moved file keeps its vectors (the content hash is the revision).
 */
export async function watchCommand(
  ws: Workspace,
  dir: string,
  flags: WatchFlags,
  ctx: Context,
): Promise<number> {
  const debounceMs = flags.debounce ?? D.debounceMs;
  const { leaseMs, pollMs } = followTimingFrom(flags);
  const metricsPort = flags.metricsPort;
  const { batchSize, concurrency } = fillTuning(flags, ctx);
  const rules = folderOptionsFrom(flags);
  const root = resolve(dir);
  const initial = await indexFolder(ws, dir, rules);
  report(ctx, initial, true, flags.verbose === true);
  ws.useLeases(leaseMs);
  await ensureFirstGeneration(ws, flags);

  const { excluded, wanted } = folderRules(rules);
  const relOf = (path: string) => relative(root, path).split(sep).join('/');
  let notify: () => void = () => {};
  const touched = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let firstAt = 0;
  let running: Promise<void> = Promise.resolve();

  const flush = () => {
    timer = undefined;
    firstAt = 0;
    const paths = [...touched];
    touched.clear();
    running = running.then(async () => {
      if (paths.length === 0 || ctx.signal.aborted) return;
      try {
        const r = await indexFolder(ws, dir, { ...rules, paths });
        if (r.added + r.changed + r.removed + r.moved + r.skipped.length > 0) {
          report(ctx, r, false, flags.verbose === true);
          notify();
        }
      } catch (e) {
        ctx.err(`warning: could not update ${paths.join(', ')}: ${(e as Error).message}`);
      }
    });
  };
  const touch = (path: string, isDir: boolean) => {
    const rel = relOf(path);
    if (rel.startsWith('..') || excluded(rel)) return;
    // Files that `index` would never load (the database itself, its journal) wake nothing.
    if (!isDir && !wanted(rel)) return;
    touched.add(rel);
    const now = Date.now();
    if (firstAt === 0) firstAt = now;
    clearTimeout(timer);
    timer = setTimeout(flush, Math.max(0, Math.min(debounceMs, firstAt + MAX_WAIT_MS - now)));
  };

  const watcher = chokidarWatch(root, {
    ignoreInitial: true,
    ignored: (path) => {
      const rel = relOf(path);
      return rel !== '' && !rel.startsWith('..') && excluded(rel);
    },
  });
  watcher.on('all', (event, path) => {
    touch(path, event === 'addDir' || event === 'unlinkDir');
  });
  watcher.on('error', (e) => ctx.err(`warning: watching ${root}: ${(e as Error).message}`));
  await new Promise<void>((r) => watcher.once('ready', () => r()));
  if (!ctx.json) ctx.err(`watching ${root}`);
  try {
    return await runFollower(
      ws,
      ctx,
      {
        batchSize,
        concurrency,
        pollMs,
        ...(metricsPort === undefined ? {} : { metricsPort }),
        subscribe: (fn) => {
          notify = fn;
          return () => {
            notify = () => {};
          };
        },
      },
      leaseMs,
    );
  } finally {
    clearTimeout(timer);
    await watcher.close();
    await running;
  }
}

function report(ctx: Context, r: IndexResult, initial: boolean, verbose: boolean): void {
  reportLeftOut(ctx, r.leftOut, verbose);
  if (ctx.json) {
    ctx.out(
      JSON.stringify({
        event: 'indexed',
        time: new Date().toISOString(),
        initial,
        ...r,
        leftOut: leftOutJson(r.leftOut, verbose),
      }),
    );
    return;
  }
  const parts = [
    initial ? `indexed ${r.files} files from ${r.root}:` : 'files changed:',
    [
      r.added && `${r.added} new`,
      r.changed && `${r.changed} changed`,
      r.moved && `${r.moved} moved (vectors kept)`,
      r.removed && `${r.removed} removed`,
      initial && `${r.unchanged} unchanged`,
    ]
      .filter(Boolean)
      .join(', ') || 'nothing new',
  ];
  ctx.out(parts.join(' '));
  const leftOut = initial ? describeLeftOut(r.leftOut, !verbose) : undefined;
  if (leftOut) ctx.out(leftOut);
  for (const s of r.skipped) ctx.err(`  skipped ${s.path}: ${s.reason}`);
}
