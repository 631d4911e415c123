import { checkSkippedShare } from '../core/activation.js';
import {
  type ActivateOptions,
  type Coverage,
  type GenerationState,
  type GenerationStats,
  type SkipReason,
  UncoveredError,
} from '../core/index.js';
import { checkReopen, refuseRetireActive, uncoveredNext } from '../core/lifecycle.js';
import {
  checkReclaimable,
  coverageOf,
  coverageSql,
  reclaimSql,
  resetSkippedSql,
  retireOthersSql,
  SQLITE,
  skippedChunksSql,
  skipReasonsSql,
  slots,
} from '../sql/index.js';
import { recenter } from './index/recenter.js';
import type { ScanStatus } from './index/scan-indexes.js';
import { storedIndex } from './index/stored-index.js';
import type { Quantization } from './quantize.js';
import type { GenRow, SqliteContext } from './sqlite-context.js';
import { setState } from './sqlite-generations.js';

/** Storage a generation uses; `indexBytes` is the quantized index beside the float vectors (0 without quantization). */
export interface SqliteGenerationStats extends GenerationStats {
  quantization?: Quantization;
  /**
   * How searches scan the generation (`float32`, `int8` or `binary` in
   * memory, or `sqlite-vec`), the bytes of memory that scan holds in this
   * process (or will hold once the generation is searched), and, when it
   * falls back to sqlite-vec against the asked kind, why.
   */
  scan: ScanStatus;
}

/** `SqliteStore.coverage`, by the shared freshness predicate. */
export function coverage(c: SqliteContext, g: GenRow): Coverage {
  const row = c
    .stmt('coverage', () => coverageSql(c.n, SQLITE, slots(SQLITE)))
    .get({
      gen: g.id,
    }) as { total: number; embedded: number; skipped: number };
  return coverageOf(row, Boolean(g.reclaimed));
}

/** `SqliteStore.skipReasons`: current skip stamps by reason. */
export function skipReasons(c: SqliteContext, g: GenRow): SkipReason[] {
  if (g.reclaimed) return [];
  return c
    .stmt('skipReasons', () => skipReasonsSql(c.n, SQLITE, slots(SQLITE)))
    .all({ gen: g.id }) as SkipReason[];
}

/** `SqliteStore.resetSkipped`: the skip stamps forgotten; how many. */
export function resetSkipped(c: SqliteContext, g: GenRow): number {
  return c.stmt('resetSkipped', () => resetSkippedSql(c.n, slots(SQLITE))).run({ gen: g.id })
    .changes;
}

/**
 * `SqliteStore.activate`: refused while a document is not covered or too
 * many were skipped; a binary generation is re-centered first (in short
 * transactions of its own), then one short transaction re-checks and
 * switches.
 */
export function activate(c: SqliteContext, gen: string, options: ActivateOptions): void {
  const check = (): GenRow => {
    const g = c.liveGen(gen);
    const { backlog, embedded } = coverage(c, g);
    if (backlog > 0) throw new UncoveredError(gen, backlog, uncoveredNext(g.state));
    checkSkippedShare(gen, embedded, skipReasons(c, g), options);
    return g;
  };
  // A complete binary generation gets its codes centered on its own mean;
  // refused activations do no such work.
  const first = check();
  if (first.quantization === 'binary') recenter(c, first);
  const run = c.db.transaction(() => {
    const g = check();
    c.stmt('retireOthers', () => retireOthersSql(c.n, slots(SQLITE))).run({ gen: g.id });
    setState(c, gen, 'active');
  });
  run.immediate();
}

/**
 * The binary recenter policy, the same for the library and the CLI: a
 * binary generation's codes are centered on its mean once it is first
 * completely embedded (the fill that completes it ends with an empty
 * pending page). Returns the codes rewritten.
 */
export function recenterWhenComplete(c: SqliteContext, g: GenRow): number {
  if (g.quantization !== 'binary' || g.centre !== null || g.reclaimed) return 0;
  if (coverage(c, g).backlog > 0) return 0;
  return recenter(c, g);
}

/** `SqliteStore.retire`. */
export function retire(c: SqliteContext, gen: string, force: boolean): void {
  transition(c, gen, 'retired', (g) => {
    if (g.state === 'active' && !force) throw refuseRetireActive(gen);
  });
}

/** `SqliteStore.reopen`. */
export function reopen(c: SqliteContext, gen: string): void {
  transition(c, gen, 'building', (g) => checkReopen(gen, g.state, Boolean(g.reclaimed)));
}

/** A state change checked and made in one write transaction. */
function transition(
  c: SqliteContext,
  gen: string,
  state: GenerationState,
  check: (g: GenRow) => void,
): void {
  c.db
    .transaction(() => {
      check(c.gen(gen));
      setState(c, gen, state);
    })
    .immediate();
}

/** `SqliteStore.reclaim`: drops a retired generation's vectors, chunk rows and stamps. */
export function reclaim(c: SqliteContext, gen: string): void {
  c.db
    .transaction(() => {
      const g = c.gen(gen);
      checkReclaimable(gen, g.state);
      if (g.reclaimed) return;
      storedIndex(c, g).drop();
      reclaimSql(c.n, SQLITE, slots(SQLITE)).forEach((sql, i) => {
        c.stmt(`reclaim${i}`, () => sql).run({ gen: g.id });
      });
      c.cursor.forget(g.id);
    })
    .immediate();
}

/** `SqliteStore.stats`. */
export function stats(c: SqliteContext, gen: string): SqliteGenerationStats {
  const g = c.gen(gen);
  const chunks = c.chunkCount(g);
  const q = g.quantization;
  const skippedChunks = c
    .stmt('skippedChunks', () => skippedChunksSql(c.n, SQLITE, slots(SQLITE)))
    .pluck()
    .get({ gen: g.id }) as number;
  return {
    chunks,
    skippedChunks: g.reclaimed ? 0 : skippedChunks,
    vectorBytes: chunks * g.dimensions * 4,
    indexBytes: storedIndex(c, g).bytes(chunks),
    ...(q ? { quantization: q } : {}),
    scan: g.reclaimed ? { scan: 'sqlite-vec', residentBytes: 0 } : c.scans.status(g, chunks),
  };
}
