/**
 * The lifecycle rules both backends share, written once: which transitions
 * are refused and what the refusal tells the user to do instead.
 */
import { describe, LifecycleError } from './errors.js';
import type { GenerationState } from './store.js';

/** Retiring the active generation leaves search with no complete index. */
export function refuseRetireActive(gen: unknown): LifecycleError {
  return new LifecycleError(
    `generation ${describe(gen)} is the active generation; retiring it would leave search without a complete generation. Activate another generation instead (that retires this one), or retire it anyway with { force: true } (vecfill retire --force ${String(gen)})`,
  );
}

/** Only a retired generation whose vectors still exist can come back. */
export function checkReopen(gen: unknown, state: GenerationState, reclaimed: boolean): void {
  if (reclaimed) {
    throw new LifecycleError(
      `generation ${describe(gen)} was reclaimed: its vectors are gone, so it cannot be reopened; create it again (ensureGeneration with the same generation, or vecfill migrate with the same encoder flags) and fill it from scratch`,
    );
  }
  if (state !== 'retired') {
    throw new LifecycleError(
      `generation ${describe(gen)} is ${state}, not retired; only a retired generation can be reopened`,
    );
  }
}

/** What `activate`'s refusal asks for, by the generation's state. */
export function uncoveredNext(state: GenerationState): string {
  return state === 'retired'
    ? 'it is retired, so fill skips it: reopen it (reopen(gen); vecfill reopen), fill it, then activate it'
    : 'run fill for it first';
}
