import { Worker } from 'node:worker_threads';
import { type EncodeFn, type ErrorCode, type Generation, VecfillError } from '../core/index.js';
import type { Encoder } from './encoder.js';
import type { WorkerInfo, WorkerInit } from './transformers-worker.js';

/** Weight formats transformers.js can load (`onnx/model.onnx`, `onnx/model_quantized.onnx`, …). */
export type TransformersDtype = (typeof TRANSFORMERS_DTYPES)[number];
/** Every {@link TransformersDtype}. */
export const TRANSFORMERS_DTYPES = [
  'fp32',
  'fp16',
  'q8',
  'int8',
  'uint8',
  'q4',
  'q4f16',
  'bnb4',
] as const;

export interface TransformersOptions {
  /** A Hugging Face model id with ONNX weights (`Xenova/all-MiniLM-L6-v2`) or a local folder in the same layout. */
  model: string;
  /** Which weights to load. Default `fp32` (`onnx/model.onnx`); `q8` loads the smaller quantized file. */
  dtype?: TransformersDtype;
  /** A branch, tag or commit of the model repository. Default `main`. */
  revision?: string;
  /**
   * How token vectors become one vector: `mean` over the real tokens (default,
   * sentence-transformers models), the first token (`cls`, BGE) or the last
   * real one (`last`, decoder models such as Qwen3-Embedding).
   */
  pooling?: 'mean' | 'cls' | 'last';
  /** L2-normalize the vectors. Default true. */
  normalize?: boolean;
  /** Prepended to every document text (e.g. `search_document: ` for nomic-embed-text). */
  documentPrefix?: string;
  /** Prepended to query texts (e.g. `search_query: `, or BGE's instruction). */
  queryPrefix?: string;
  /** Where downloaded models are kept. Default: transformers.js's own cache (`node_modules/@huggingface/transformers/.cache`). */
  cacheDir?: string;
  /** Never download: load from `cacheDir` or the folder only. */
  localOnly?: boolean;
  /** Tokens per input (special tokens included); longer inputs are truncated. Default: the smaller of the tokenizer's `model_max_length` and the model's `max_position_embeddings`. */
  maxTokens?: number;
  /** Reports model files as they download or load. */
  onProgress?: (p: { status: string; file?: string; loaded?: number; total?: number }) => void;
}

/** A transformers.js encoder: an {@link Encoder} that also knows queries, its window, and how to stop. */
export interface TransformersEncoder extends Encoder {
  /** Encodes query texts (with `queryPrefix`). `encode(texts, { kind: 'query' })` does the same. */
  encodeQuery: EncodeFn;
  /** Tokens per input; longer inputs are truncated. */
  maxTokens: number;
  /**
   * A chunk size for `split` that fits the window: `maxTokens × 3` characters
   * (English WordPiece/BPE text averages about 4 characters per token, so 3
   * leaves room for the special tokens, the prefix and denser text).
   */
  maxChars: number;
  /** How many inputs so far were longer than `maxTokens` and were truncated. */
  truncated(): number;
  /** Stops the worker thread. Later calls to `encode` reject. */
  close(): Promise<void>;
}

/** Characters per token assumed when sizing chunks for a model's window (see {@link TransformersEncoder.maxChars}). */
export const CHARS_PER_TOKEN = 3;

type FromWorker =
  | { type: 'ready'; info: WorkerInfo }
  | { type: 'fatal'; code: ErrorCode; message: string }
  | { type: 'progress'; status: string; file?: string; loaded?: number; total?: number }
  | { type: 'result'; id: number; vectors: Float32Array[]; truncated: number }
  | { type: 'failed'; id: number; message: string };

/**
 * Runs a Hugging Face feature-extraction model on this machine with
 * transformers.js (ONNX Runtime), in a worker thread. `@huggingface/transformers`
 * is an optional peer dependency, loaded only here. The first use of a hub
 * model id downloads its tokenizer, config and ONNX weights into the cache;
 * later runs (or `localOnly`) need no network.
 *
 * The generation names everything that changes the vectors: the model, its
 * revision and the SHA-256 of its weight file, the dtype, pooling,
 * normalization, both prefixes and the token window.
 *
 * @example
 * ```ts
 * const minilm = await transformers({ model: 'Xenova/all-MiniLM-L6-v2' });
 * store.ensureGeneration('minilm', minilm.generation, 'building');
 * await fill(store, 'minilm', minilm.encode, { split: { maxChars: minilm.maxChars } });
 * const hits = await search(store, 'how do tides work', { encoderFor: () => minilm.encodeQuery });
 * await minilm.close();
 * ```
 */
export async function transformers(opts: TransformersOptions): Promise<TransformersEncoder> {
  if (!opts?.model || typeof opts.model !== 'string')
    throw new TypeError('transformers needs opts.model: a model id or a local folder');
  if (opts.pooling !== undefined && !['mean', 'cls', 'last'].includes(opts.pooling))
    throw new RangeError(`transformers: pooling must be mean, cls or last, got ${opts.pooling}`);
  if (opts.maxTokens !== undefined && (!Number.isSafeInteger(opts.maxTokens) || opts.maxTokens < 2))
    throw new RangeError(`transformers: maxTokens must be an integer >= 2, got ${opts.maxTokens}`);
  const init: WorkerInit = {
    model: opts.model,
    dtype: opts.dtype ?? 'fp32',
    localOnly: Boolean(opts.localOnly),
    pooling: opts.pooling ?? 'mean',
    normalize: opts.normalize ?? true,
    ...(opts.revision ? { revision: opts.revision } : {}),
    ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}),
    ...(opts.maxTokens ? { maxTokens: opts.maxTokens } : {}),
  };
  // The worker gets the process's Node options except those a worker refuses
  // (`node --input-type=module -e …` would otherwise fail to start it).
  const worker = new Worker(workerUrl(), {
    workerData: init,
    execArgv: process.execArgv.filter((a) => !a.startsWith('--input-type')),
  });
  const pending = new Map<
    number,
    { ok: (v: FromWorker & { type: 'result' }) => void; fail: (e: Error) => void }
  >();
  let nextId = 0;
  let truncated = 0;
  let dead: Error | undefined;
  const info = await new Promise<WorkerInfo>((ok, fail) => {
    worker.on('message', (msg: FromWorker) => {
      if (msg.type === 'ready') ok(msg.info);
      else if (msg.type === 'fatal') fail(new VecfillError(msg.code, msg.message));
      else if (msg.type === 'progress') opts.onProgress?.(msg);
      else if (msg.type === 'result' || msg.type === 'failed') {
        const p = pending.get(msg.id);
        if (!p) return;
        pending.delete(msg.id);
        if (pending.size === 0) worker.unref();
        if (msg.type === 'result') p.ok(msg);
        else
          p.fail(new VecfillError('ENCODE_FAILED', `transformers (${opts.model}): ${msg.message}`));
      }
    });
    const onExit = (e: Error) => {
      dead = e;
      fail(e);
      for (const p of pending.values()) p.fail(e);
      pending.clear();
    };
    worker.on('error', onExit);
    worker.on('exit', () =>
      onExit(new VecfillError('ENCODER_CLOSED', 'the transformers encoder was closed')),
    );
  }).catch(async (e: Error) => {
    await worker.terminate();
    throw e;
  });
  worker.unref();

  const run = (texts: string[], prefix: string | undefined, signal?: AbortSignal) => {
    if (dead) return Promise.reject(dead);
    signal?.throwIfAborted();
    const id = nextId++;
    return new Promise<Float32Array[]>((ok, fail) => {
      const onAbort = () => {
        pending.delete(id);
        if (pending.size === 0) worker.unref();
        fail(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      pending.set(id, {
        ok: (r) => {
          signal?.removeEventListener('abort', onAbort);
          truncated += r.truncated;
          ok(r.vectors);
        },
        fail: (e) => {
          signal?.removeEventListener('abort', onAbort);
          fail(e);
        },
      });
      worker.ref();
      worker.postMessage({
        type: 'encode',
        id,
        texts: prefix ? texts.map((t) => prefix + t) : texts,
      });
    });
  };
  const encodeQuery: EncodeFn = (texts, o = {}) => run(texts, opts.queryPrefix, o.signal);
  const encode: EncodeFn = (texts, o = {}) =>
    run(texts, o.kind === 'query' ? opts.queryPrefix : opts.documentPrefix, o.signal);

  const [probe] = await run(['dimension probe'], opts.documentPrefix);
  const weights = info.files.find((f) => f.file.endsWith('.onnx')) ?? info.files[0];
  const params: Record<string, string | number | boolean> = {
    runtime: 'transformers.js',
    dtype: init.dtype,
    pooling: init.pooling,
    normalize: init.normalize,
    maxTokens: info.maxTokens,
  };
  if (opts.revision) params.revision = opts.revision;
  if (weights) params.file = weights.file;
  if (weights?.sha256) params.sha256 = weights.sha256;
  if (opts.documentPrefix) params.documentPrefix = opts.documentPrefix;
  if (opts.queryPrefix) params.queryPrefix = opts.queryPrefix;
  const generation: Generation = {
    model: modelName(opts.model),
    dimensions: probe!.length,
    params,
  };
  return {
    generation,
    encode,
    encodeQuery,
    maxTokens: info.maxTokens,
    maxChars: info.maxTokens * CHARS_PER_TOKEN,
    truncated: () => truncated,
    close: async () => {
      dead ??= new VecfillError('ENCODER_CLOSED', 'the transformers encoder was closed');
      await worker.terminate();
    },
  };
}

/**
 * A hub id names itself; a local folder is named by its last path segment
 * (its weights' SHA-256 in the params is what pins it), so moving the folder
 * does not change the generation.
 */
function modelName(model: string): string {
  if (/^(\/|\.|[A-Za-z]:\\)/.test(model) || model.split('/').length > 2) {
    const parts = model.split(/[\\/]/).filter(Boolean);
    return `local/${parts[parts.length - 1] ?? 'model'}`;
  }
  return model;
}

/** The compiled worker beside this module (from the sources under test, the built one in dist/). */
function workerUrl(): URL {
  const here = import.meta.url;
  return here.endsWith('.ts')
    ? new URL('../../dist/encoders/transformers-worker.js', here)
    : new URL('./transformers-worker.js', here);
}
