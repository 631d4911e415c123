import { fcSeed } from './fast-check-seed.js';

/** Runs once per `vitest run`: says which fast-check seed the properties use. */
export default function setup(): void {
  console.log(`fast-check seed ${fcSeed()} (FC_SEED=<n> to change it)`);
}
