import type { GenerationInfo, GenerationStats, SkipReason } from '../../core/index.js';
import type { ScanStatus } from '../../sqlite/index.js';
import { type Context, emit } from '../context.js';
import { formatBytes, table } from '../output.js';
import type { Workspace } from '../workspace.js';

interface GenerationStatus {
  generation: string;
  state: string;
  model: string;
  dimensions: number;
  fingerprint: string;
  params: Record<string, string | number | boolean>;
  embedded: number;
  skipped: number;
  /** Why documents were skipped after encoder errors (blank ones are not listed), most frequent first. */
  skipReasons: SkipReason[];
  backlog: number;
  chunks: number;
  /** Chunks the encoder rejected in documents embedded without them. */
  skippedChunks: number;
  vectorBytes: number;
  /** `float` (exact KNN), the quantization of a SQLite generation's index, or a Postgres generation's HNSW index (`none (deferred…)` while it builds). */
  index: string;
  indexBytes: number;
  /** How searches scan it: `float32`, `int8` or `binary` in memory, or `sqlite-vec` (SQLite). */
  scan?: string;
  /** Memory a searching process holds for that scan. */
  residentBytes?: number;
  /** Why it is scanned by sqlite-vec although a memory scan was asked for (the memory cap). */
  scanNote?: string;
}

/** Every generation with its model, dimensions, fingerprint, state, coverage and storage. */
export async function statusCommand(ws: Workspace, ctx: Context): Promise<number> {
  const { store } = await ws.backendStore();
  const cfg = (await ws.tableConfig())!;
  const gens: GenerationStatus[] = [];
  // Each backend adds its own facts to the core's: SQLite its quantized
  // index and how searches scan it, Postgres its HNSW index.
  const infos: (GenerationInfo<string> & { quantization?: string; oversample?: number })[] =
    await store.generations();
  for (const g of infos) {
    // A reclaimed generation has no vectors and will never be filled: no backlog to show.
    const coverage = g.reclaimed
      ? { embedded: 0, skipped: 0, backlog: 0 }
      : await store.coverage(g.key);
    const stats: GenerationStats & { index?: string; scan?: ScanStatus } = await store.stats(g.key);
    gens.push({
      generation: g.key,
      state: g.reclaimed ? 'reclaimed' : g.state,
      model: g.generation.model,
      dimensions: g.dimensions,
      fingerprint: g.fingerprint,
      params: g.generation.params ?? {},
      ...coverage,
      skipReasons: await store.skipReasons(g.key),
      chunks: stats.chunks,
      skippedChunks: stats.skippedChunks ?? 0,
      vectorBytes: stats.vectorBytes,
      index: stats.index ?? (g.quantization ? `${g.quantization} x${g.oversample}` : 'float'),
      indexBytes: stats.indexBytes ?? 0,
      ...(stats.scan
        ? {
            scan: stats.scan.scan,
            residentBytes: stats.scan.residentBytes,
            ...(stats.scan.note ? { scanNote: stats.scan.note } : {}),
          }
        : {}),
    });
  }
  const dbBytes = await ws.sizeBytes();
  const value = {
    database: ws.path,
    table: cfg,
    databaseBytes: dbBytes,
    generations: gens,
  };
  return emit(ctx, value, () => {
    const lines = [
      `${value.database} (${formatBytes(dbBytes)}), table ${cfg.table}(${cfg.id}, ${cfg.content})`,
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
            'INDEX',
            ...(gens.some((g) => g.scan) ? ['SCAN'] : []),
          ],
          ...gens.map((g) => [
            g.generation,
            g.state,
            g.model,
            String(g.dimensions),
            g.fingerprint,
            String(g.embedded),
            g.skippedChunks > 0 ? `${g.skipped} (+${g.skippedChunks} chunks)` : String(g.skipped),
            String(g.backlog),
            String(g.chunks),
            formatBytes(g.vectorBytes),
            g.indexBytes > 0 ? `${g.index} (${formatBytes(g.indexBytes)})` : g.index,
            ...(g.scan === undefined ? [] : [scanCell(g)]),
          ]),
        ]),
      );
    }
    for (const g of gens) {
      if (g.skipReasons.length === 0) continue;
      const n = g.skipReasons.reduce((sum, r) => sum + r.documents, 0);
      lines.push(
        `${g.generation}: ${n} documents skipped after encoder errors (retry with \`vecfill fill --retry-skipped\`):`,
      );
      for (const r of g.skipReasons.slice(0, 5)) lines.push(`  ${r.documents} × ${r.reason}`);
    }
    return lines.join('\n');
  });
}

/** `int8 in memory (3.9 MB)`, or `sqlite-vec` with the reason when the memory cap sent it there. */
function scanCell(g: GenerationStatus): string {
  if (g.scan === 'sqlite-vec')
    return g.scanNote ? 'sqlite-vec (over the memory cap)' : 'sqlite-vec';
  return `${g.scan} in memory (${formatBytes(g.residentBytes ?? 0)})`;
}
