import {
  type Generation,
  GenerationConflictError,
  type GenerationInfo,
  type GenerationState,
  LifecycleError,
} from '../core/index.js';
import type { Dialect, Slots } from './dialect.js';
import type { SqlNames } from './names.js';

/** A generation row as both backends store it (each adds its own columns). */
export interface GenRowBase {
  id: number;
  key: string;
  /** The `Generation` as JSON. */
  generation: string;
  fingerprint: string;
  dimensions: number;
  state: GenerationState;
  /** SQLite stores 0/1, Postgres a boolean. */
  reclaimed: number | boolean;
  created_at: string | Date;
}

/**
 * The rules for ensuring a known key again: the same key must mean the same
 * vector space. Another dimension or fingerprint is refused with
 * `GenerationConflictError` (a new model or setting needs a new key).
 */
export function checkExistingGeneration(
  existing: Pick<GenRowBase, 'dimensions' | 'fingerprint' | 'generation'>,
  gen: string,
  generation: Generation,
  fp: string,
): void {
  if (Number(existing.dimensions) !== generation.dimensions) {
    throw new GenerationConflictError(
      gen,
      `${existing.dimensions} dimensions, not ${generation.dimensions}`,
    );
  }
  if (existing.fingerprint !== fp) {
    throw new GenerationConflictError(
      gen,
      `fingerprint ${existing.fingerprint} (${existing.generation}), not ${fp}`,
    );
  }
}

/** A non-empty string key. */
export function checkGenerationKey(gen: unknown): asserts gen is string {
  if (typeof gen !== 'string' || gen === '')
    throw new TypeError('generation key must be a non-empty string');
}

/**
 * Why a state change was refused by the "one active, one building" unique
 * index; `other` names the generation already in that state when known.
 */
export function stateConflict(gen: string, state: string, other?: string): LifecycleError {
  const who = other === undefined ? 'another generation' : JSON.stringify(other);
  return new LifecycleError(
    `generation ${JSON.stringify(gen)} cannot be ${state}: ${who} already is (at most one active and one building); ${state === 'building' ? 'activate or retire it first' : 'create the new one as building, fill it, then activate it'}`,
  );
}

/** Using a reclaimed generation's vectors is refused. */
export function reclaimedError(gen: string): LifecycleError {
  return new LifecycleError(
    `generation ${JSON.stringify(gen)} was reclaimed: its vectors are gone; ensure it again to rebuild it`,
  );
}

/** Only a retired generation's storage may be reclaimed. */
export function checkReclaimable(gen: string, state: GenerationState): void {
  if (state !== 'retired') {
    throw new LifecycleError(
      `generation ${JSON.stringify(gen)} is ${state}; retire it before reclaiming its storage`,
    );
  }
}

/** Building first, then active: the most preferred generation leads. */
export function liveGenerationsSql(names: SqlNames): string {
  return `SELECT key FROM ${names.gens} WHERE state IN ('building', 'active') ORDER BY CASE state WHEN 'building' THEN 0 ELSE 1 END`;
}

/** Activation's switch: every other live generation retires. Slot `gen` (the id). */
export function retireOthersSql(names: SqlNames, p: Slots): string {
  return `UPDATE ${names.gens} SET state = 'retired' WHERE state IN ('building', 'active') AND id <> ${p.slot('gen')}`;
}

/** A state change. Slots `state, key`. */
export function setStateSql(names: SqlNames, p: Slots): string {
  return `UPDATE ${names.gens} SET state = ${p.slot('state')} WHERE key = ${p.slot('key')}`;
}

/** Reclaim's row work after the vector table is dropped: chunks, stamps, then the mark. Slot `gen` (the id). */
export function reclaimSql(names: SqlNames, dialect: Dialect, p: Slots): string[] {
  return [
    `DELETE FROM ${names.chunks} WHERE gen = ${p.slot('gen')}`,
    `DELETE FROM ${names.stamps} WHERE gen = ${p.slot('gen')}`,
    `UPDATE ${names.gens} SET reclaimed = ${dialect.true} WHERE id = ${p.slot('gen')}`,
  ];
}

/** The base `GenerationInfo` of a row; a backend spreads its own fields over it. */
export function generationInfo(row: GenRowBase): GenerationInfo<string> {
  return {
    key: row.key,
    generation: JSON.parse(row.generation) as Generation,
    fingerprint: row.fingerprint,
    dimensions: Number(row.dimensions),
    state: row.state,
    reclaimed: Boolean(Number(row.reclaimed)),
    createdAt:
      row.created_at instanceof Date ? row.created_at.toISOString() : String(row.created_at),
  };
}
