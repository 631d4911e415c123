import { type Context, emit } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import type { TableConfig } from '../settings.js';
import type { Workspace } from '../workspace.js';

export interface ConfigFlags {
  table?: string;
  id?: string;
  content?: string;
  revision?: string;
  reset?: boolean;
  force?: boolean;
}

/**
 * `vecfill config`: shows the saved settings of the table (and each
 * generation's encoder), changes the table settings, or forgets them
 * (`--reset`, refused while vectors exist unless `--force`, which also
 * drops the vector tables; the documents table is never touched).
 */
export async function configCommand(
  ws: Workspace,
  flags: ConfigFlags,
  ctx: Context,
): Promise<number> {
  const changing =
    flags.table !== undefined ||
    flags.id !== undefined ||
    flags.content !== undefined ||
    flags.revision !== undefined;
  if (flags.reset && changing)
    throw new CliError(
      '--reset forgets the settings; give --table/--id/--content to the next `vecfill fill` instead',
      EXIT.usage,
    );
  if (flags.reset) {
    const saved = await ws.savedSettings();
    const vectors = await ws.vectorCount();
    if (vectors > 0 && !flags.force) {
      throw new CliError(
        `refusing to reset: ${vectors} vectors (chunks) of table ${saved.table?.table ?? '?'} exist under --vectors-prefix ${ws.vectorsPrefix}; \`vecfill config --reset --force\` also drops them (the documents table is kept)`,
        EXIT.refused,
      );
    }
    const dropped = await ws.resetSettings(flags.force === true);
    return emit(ctx, { reset: true, vectorsPrefix: ws.vectorsPrefix, dropped }, () =>
      [
        `forgot the settings of ${saved.table ? `table ${saved.table.table}` : 'this database'} (vectors prefix ${ws.vectorsPrefix})`,
        ...(dropped.length > 0 ? [`dropped ${dropped.length} vector tables`] : []),
        'the next `vecfill fill --table … --id … --content …` sets it up again',
      ].join('\n'),
    );
  }
  if (changing) {
    const saved = await ws.tableConfig();
    const next: TableConfig = {
      table: flags.table ?? saved?.table ?? '',
      id: flags.id ?? saved?.id ?? '',
      content: flags.content ?? saved?.content ?? '',
      prefix: ws.vectorsPrefix,
    };
    const revision = flags.revision === '' ? undefined : (flags.revision ?? saved?.revision);
    if (revision) next.revision = revision;
    if (!next.table || !next.id || !next.content)
      throw new CliError(
        'nothing saved yet: give --table, --id and --content together (e.g. --table notes --id id --content body)',
        EXIT.usage,
      );
    const moved =
      saved !== undefined &&
      (saved.table !== next.table || saved.id !== next.id || saved.content !== next.content);
    if (moved) {
      const vectors = await ws.vectorCount();
      if (vectors > 0 && !flags.force)
        throw new CliError(
          `refusing to change the table, id or content column while ${vectors} vectors of ${saved.table} exist; \`--force\` changes it and drops them (then \`vecfill fill\` embeds again), or use another --vectors-prefix`,
          EXIT.refused,
        );
      if (vectors > 0) await ws.resetSettings(true);
    }
    await ws.configureTable(next, true);
  }
  const settings = await ws.savedSettings();
  return emit(ctx, settings, () => renderSettings(settings, ws.path));
}

function renderSettings(s: Awaited<ReturnType<Workspace['savedSettings']>>, path: string): string {
  if (!s.table) return `${path} has no saved settings yet (vectors prefix ${s.vectorsPrefix})`;
  const lines = [
    `table          ${s.table.table}`,
    `id             ${s.table.id}`,
    `content        ${s.table.content}`,
    `revision       ${s.table.revision ?? '(none)'}`,
    `vectors prefix ${s.vectorsPrefix}`,
  ];
  if (s.root) lines.push(`folder         ${s.root}`);
  for (const [gen, enc] of Object.entries(s.generations)) {
    const { kind, ...rest } = enc;
    const detail = Object.entries(rest)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(' ');
    lines.push(`generation     ${gen}: ${kind}${detail ? ` ${detail}` : ''}`);
  }
  return lines.join('\n');
}
