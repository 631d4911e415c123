import fc from 'fast-check';

/**
 * fast-check runs with a fixed seed, so a failing property fails the same
 * way on every run and on every machine. `FC_SEED=<n>` picks another seed
 * (the global setup prints the one in use); a failure prints its seed and
 * path too, so it can be replayed exactly.
 */
export const DEFAULT_FC_SEED = 20_261_126;

export function fcSeed(): number {
  const raw = process.env.FC_SEED;
  if (raw === undefined || raw === '') return DEFAULT_FC_SEED;
  const seed = Number(raw);
  if (!Number.isSafeInteger(seed))
    throw new Error(`FC_SEED must be an integer, got ${JSON.stringify(raw)}`);
  return seed;
}

fc.configureGlobal({ ...fc.readConfigureGlobal(), seed: fcSeed() });
