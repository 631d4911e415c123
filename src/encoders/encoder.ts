import type { EncodeFn, Generation } from '../core/index.js';

/**
 * An encoder: the generation it produces vectors for, and the function that
 * produces them. `generation` names every setting that changes the vector
 * space, so its fingerprint changes whenever the vectors would.
 */
export interface Encoder {
  generation: Generation;
  encode: EncodeFn;
  /**
   * A `split` chunk size (characters) that fits the model's input window,
   * for encoders that know it (`transformers`); `fill` callers pass it as
   * `split: { maxChars }` so no chunk is truncated.
   */
  maxChars?: number;
}
