import { type EncodeFn, type Generation, VecfillError } from '../core/index.js';
import type { Encoder } from './encoder.js';

/** The parts of an AI SDK embedding model vecfill reads (any `EmbeddingModel` fits). */
export interface AiSdkEmbeddingModel {
  readonly provider?: string;
  readonly modelId?: string;
}

/** The parts of a LangChain `Embeddings` vecfill calls. */
export interface LangChainEmbeddings {
  embedDocuments(documents: string[]): Promise<number[][]>;
  /** Used for search queries (models with query instructions embed them differently). */
  embedQuery?(document: string): Promise<number[]>;
}

type EmbedMany = (o: {
  model: never;
  values: string[];
  abortSignal?: AbortSignal;
  maxRetries?: number;
}) => Promise<{ embeddings: number[][] }>;

/**
 * Wraps a Vercel AI SDK embedding model (`openai.embedding('text-embedding-3-small')`,
 * `ollama.embedding(…)`, …) as an encoder, using the SDK's own `embedMany`
 * (with its batching and retries). `ai` is an optional peer dependency: it is
 * imported only when this adapter is used. Without `dimensions`, one probe
 * call learns the vector length.
 *
 * @example
 * ```ts
 * import { openai } from '@ai-sdk/openai';
 * const encoder = await fromAiSdk(openai.embedding('text-embedding-3-small'));
 * ```
 */
export async function fromAiSdk(
  model: AiSdkEmbeddingModel,
  opts: {
    dimensions?: number;
    maxRetries?: number;
    params?: Record<string, string | number | boolean>;
  } = {},
): Promise<Encoder> {
  let embedMany: EmbedMany;
  try {
    ({ embedMany } = (await import('ai')) as unknown as { embedMany: EmbedMany });
  } catch (e) {
    throw new VecfillError('MISSING_PEER', 'fromAiSdk needs the `ai` package: npm install ai', {
      cause: e,
    });
  }
  const encode: EncodeFn = async (texts, o = {}) => {
    const call: Parameters<EmbedMany>[0] = { model: model as never, values: texts };
    if (o.signal) call.abortSignal = o.signal;
    if (opts.maxRetries !== undefined) call.maxRetries = opts.maxRetries;
    return (await embedMany(call)).embeddings;
  };
  const name = `${model.provider ?? 'ai-sdk'}/${model.modelId ?? 'unknown'}`;
  return { generation: await describeGeneration(name, encode, opts), encode };
}

/**
 * Wraps a LangChain `Embeddings` (OpenAIEmbeddings, OllamaEmbeddings, …) as
 * an encoder: documents go through `embedDocuments`, search queries through
 * `embedQuery` (where LangChain applies a model's query instruction, e.g.
 * for e5 or bge). `@langchain/core` is only needed by the
 * object you pass in. Name the model: LangChain objects do not say which
 * vector space they produce.
 *
 * @example
 * ```ts
 * const encoder = await fromLangChain(new OllamaEmbeddings({ model: 'nomic-embed-text' }), { model: 'ollama/nomic-embed-text' });
 * ```
 */
export async function fromLangChain(
  embeddings: LangChainEmbeddings,
  opts: { model: string; dimensions?: number; params?: Record<string, string | number | boolean> },
): Promise<Encoder> {
  if (!opts?.model)
    throw new TypeError('fromLangChain needs opts.model: the name of the vector space it produces');
  const encode: EncodeFn = async (texts, o = {}) => {
    o.signal?.throwIfAborted();
    if (o.kind === 'query' && embeddings.embedQuery) {
      const embedQuery = embeddings.embedQuery.bind(embeddings);
      return Promise.all(texts.map((t) => embedQuery(t)));
    }
    return embeddings.embedDocuments(texts);
  };
  return { generation: await describeGeneration(opts.model, encode, opts), encode };
}

async function describeGeneration(
  model: string,
  encode: EncodeFn,
  opts: { dimensions?: number; params?: Record<string, string | number | boolean> },
): Promise<Generation> {
  let dimensions = opts.dimensions;
  if (dimensions === undefined) {
    const [probe] = await encode(['dimension probe'], {});
    dimensions = probe?.length ?? 0;
  }
  return opts.params ? { model, dimensions, params: opts.params } : { model, dimensions };
}
