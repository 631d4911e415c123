import { positiveInteger } from '../core/defaults.js';
import {
  fingerprint,
  type Generation,
  GenerationConflictError,
  type GenerationInfo,
  type GenerationState,
  validateGeneration,
} from '../core/index.js';
import {
  checkExistingGeneration,
  checkGenerationKey,
  generationInfo,
  SQLITE,
  setStateSql,
  slots,
  stateConflict,
} from '../sql/index.js';
import { storedIndex } from './index/stored-index.js';
import {
  defaultOversample,
  QUANTIZATIONS,
  type Quantization,
  type SqliteGenerationOptions,
} from './quantize.js';
import type { GenRow, SqliteContext } from './sqlite-context.js';

/** What the SQLite store tells about a generation: the core's `GenerationInfo` and how it is indexed. */
export interface SqliteGenerationInfo extends GenerationInfo<string> {
  /** How the stored index keeps the vectors, when it quantizes them. */
  quantization?: Quantization;
  /** Candidates rescored per wanted hit, for a quantized generation. */
  oversample?: number;
  /** For a binary generation: whether its codes are centered on its mean (`recenter`). */
  centered?: boolean;
}

/** `SqliteStore.ensureGeneration`: registers `gen` (idempotent), in one write transaction. */
export function ensureGeneration(
  c: SqliteContext,
  gen: string,
  generation: Generation,
  state: 'building' | 'active',
  options: SqliteGenerationOptions,
): SqliteGenerationInfo {
  checkGenerationKey(gen);
  validateGeneration(generation);
  const { quantization, oversample } = validateOptions(options);
  const fp = fingerprint(generation);
  const t = c.t;
  const run = c.db.transaction((): GenRow => {
    const existing = c.stmt('gen', () => `SELECT * FROM ${t.gens} WHERE key = ?`).get(gen) as
      | GenRow
      | undefined;
    if (existing) {
      checkExistingGeneration(existing, gen, generation, fp);
      if (options.quantization !== undefined && existing.quantization !== quantization) {
        throw new GenerationConflictError(
          gen,
          `index ${existing.quantization ?? 'float (no quantization)'}, not ${quantization}; use a new generation key to re-index with another quantization`,
        );
      }
      if (options.oversample !== undefined && !existing.quantization) {
        throw new TypeError(
          `oversample applies to a quantized generation; ${JSON.stringify(gen)} uses exact float search`,
        );
      }
      if (options.oversample !== undefined) {
        // Oversampling only changes how search reads the index: it may change.
        c.stmt('setOversample', () => `UPDATE ${t.gens} SET oversample = ? WHERE id = ?`).run(
          oversample,
          existing.id,
        );
      }
      if (!existing.reclaimed) return c.gen(gen);
      // A reclaimed generation is rebuilt.
      setState(c, existing.key, state);
      c.stmt(
        'unreclaim',
        () => `UPDATE ${t.gens} SET reclaimed = 0, centre = NULL WHERE id = ?`,
      ).run(existing.id);
      const row = c.gen(gen);
      storedIndex(c, row).create();
      return row;
    }
    if (options.oversample !== undefined && !quantization) {
      throw new TypeError('oversample applies to a quantized generation; set quantization too');
    }
    try {
      c.stmt(
        'insertGen',
        () =>
          `INSERT INTO ${t.gens} (key, generation, fingerprint, dimensions, state, quantization, oversample) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        gen,
        JSON.stringify(generation),
        fp,
        generation.dimensions,
        state,
        quantization ?? null,
        quantization ? oversample : null,
      );
    } catch (e) {
      throw conflict(c, e, gen, state);
    }
    const row = c.gen(gen);
    storedIndex(c, row).create();
    return row;
  });
  return toInfo(run.immediate());
}

/** Sets a generation's state; the one-active / one-building unique indexes refuse a second. */
export function setState(c: SqliteContext, key: string, state: GenerationState): void {
  try {
    c.stmt('setState', () => setStateSql(c.n, slots(SQLITE))).run({ state, key });
  } catch (e) {
    throw conflict(c, e, key, state);
  }
}

/** A unique violation (recognised by its code) as the lifecycle error that names the other generation. */
function conflict(c: SqliteContext, e: unknown, gen: string, state: string): unknown {
  if (!SQLITE.isUniqueViolation(e)) return e;
  const other = c
    .stmt('genInState', () => `SELECT key FROM ${c.t.gens} WHERE state = ?`)
    .pluck()
    .get(state) as string | undefined;
  return stateConflict(gen, state, other);
}

/** The public description of a generation row. */
export function toInfo(row: GenRow): SqliteGenerationInfo {
  return {
    ...generationInfo(row),
    ...(row.quantization
      ? {
          quantization: row.quantization,
          oversample: row.oversample ?? defaultOversample(row.quantization),
          ...(row.quantization === 'binary' ? { centered: row.centre !== null } : {}),
        }
      : {}),
  };
}

function validateOptions(options: SqliteGenerationOptions): {
  quantization: Quantization | undefined;
  oversample: number;
} {
  const { quantization, oversample } = options;
  if (quantization !== undefined && !QUANTIZATIONS.includes(quantization)) {
    throw new TypeError(
      `quantization must be one of ${QUANTIZATIONS.join(', ')} (or absent for exact float search), got ${JSON.stringify(quantization)}`,
    );
  }
  if (oversample !== undefined) positiveInteger(oversample, 'oversample');
  return {
    quantization,
    oversample: oversample ?? (quantization ? defaultOversample(quantization) : 1),
  };
}
