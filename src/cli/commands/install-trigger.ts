import { type Context, emit } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import type { Workspace } from '../workspace.js';

/**
 * `vecfill install-trigger --db postgres://…`: puts the change trigger on
 * the configured documents table, so `fill --follow` wakes on a
 * notification instead of scanning every poll (`--uninstall` removes it).
 */
export async function installTriggerCommand(
  ws: Workspace,
  flags: { uninstall?: boolean },
  ctx: Context,
): Promise<number> {
  if (ws.kind !== 'postgres') {
    throw new CliError(
      'install-trigger is for postgres:// databases; on SQLite `fill --follow` sees commits by itself (PRAGMA data_version)',
      EXIT.usage,
    );
  }
  const backend = await ws.backendStore();
  const cfg = (await ws.tableConfig())!;
  if (backend.kind !== 'postgres')
    throw new CliError('this store has no change trigger', EXIT.usage);
  const store = backend.store;
  try {
    if (flags.uninstall) {
      await store.uninstallTrigger();
      return emit(
        ctx,
        { table: cfg.table, trigger: 'removed' },
        () =>
          `removed the change trigger from ${cfg.table}; followers fall back to scanning every poll`,
      );
    }
    const { channel } = await store.installTrigger();
    return emit(
      ctx,
      { table: cfg.table, trigger: 'installed', channel },
      () =>
        `installed the change trigger on ${cfg.table}: followers (\`vecfill fill --follow\`) now LISTEN on ${channel}`,
    );
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(
      `cannot ${flags.uninstall ? 'remove' : 'create'} the trigger on ${cfg.table}: ${(e as Error).message} (it needs the right to create triggers on the table, e.g. its owner)`,
      EXIT.failure,
    );
  }
}
