import { statSync } from 'node:fs';
import { type Context, emit } from '../context.js';
import { formatBytes, table } from '../output.js';
import type { Workspace } from '../workspace.js';

/** Every generation with its model, dimensions, fingerprint, state, coverage and storage. */
export function statusCommand(ws: Workspace, ctx: Context): number {
  const store = ws.store();
  const cfg = ws.tableConfig()!;
  const gens = store.generations().map((g) => {
    const coverage = store.coverage(g.key);
    const stats = store.stats(g.key);
    return {
      generation: g.key,
      state: g.reclaimed ? 'reclaimed' : g.state,
      model: g.generation.model,
      dimensions: g.dimensions,
      fingerprint: g.fingerprint,
      params: g.generation.params ?? {},
      ...coverage,
      chunks: stats.chunks,
      vectorBytes: stats.vectorBytes,
    };
  });
  const dbBytes = statSync(ws.path).size;
  const value = { database: ws.path, table: cfg, databaseBytes: dbBytes, generations: gens };
  return emit(ctx, value, () => {
    const lines = [
      `${ws.path} (${formatBytes(dbBytes)}), table ${cfg.table}(${cfg.id}, ${cfg.content})`,
    ];
    if (gens.length === 0) lines.push('no generations yet: run `vecfill fill`');
    else {
      lines.push(
        table([
          [
            'GENERATION',
            'STATE',
            'MODEL',
            'DIMS',
            'FINGERPRINT',
            'EMBEDDED',
            'SKIPPED',
            'BACKLOG',
            'CHUNKS',
            'VECTORS',
          ],
          ...gens.map((g) => [
            g.generation,
            g.state,
            g.model,
            String(g.dimensions),
            g.fingerprint,
            String(g.embedded),
            String(g.skipped),
            String(g.backlog),
            String(g.chunks),
            formatBytes(g.vectorBytes),
          ]),
        ]),
      );
    }
    return lines.join('\n');
  });
}
