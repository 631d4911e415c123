/**
 * `vecfill/encoders`: turn text into vectors. Each encoder returns
 * `{ generation, encode }`: the generation names every setting that changes
 * the vector space; `encode` is an `EncodeFn` for `fill` and `search`.
 */

export { EncoderConfigError, TransientEncodeError } from '../core/index.js';
export {
  type AiSdkEmbeddingModel,
  fromAiSdk,
  fromLangChain,
  type LangChainEmbeddings,
} from './adapters.js';
export { isPermanentEncodeError, skipPermanentErrors } from './classify.js';
export type { Encoder } from './encoder.js';
export {
  type OpenAICompatibleOptions,
  openAICompatible,
  type RetryNotice,
} from './openai-compatible.js';
export {
  TRANSFORMERS_DTYPES,
  type TransformersDtype,
  type TransformersEncoder,
  type TransformersOptions,
  transformers,
} from './transformers.js';
export { WORD_VECTORS_MODEL, type WordVectorsOptions, wordVectors } from './word-vectors.js';
export type { ConversionProgress } from './word-vectors-cache.js';
