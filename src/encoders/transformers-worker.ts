/**
 * The worker thread behind `transformers()`: loads a feature-extraction model
 * with transformers.js (tokenizer + ONNX model) and answers encode requests,
 * so tokenizing and running the model never block the caller's event loop
 * (Ctrl-C, searches and progress stay responsive during a fill).
 *
 * Protocol (structured-clone messages):
 *   parent → worker: `{ type: 'encode', id, texts }`
 *   worker → parent: `{ type: 'ready', info }` once, or `{ type: 'fatal', code, message }`;
 *                    `{ type: 'progress', … }` while files load;
 *                    `{ type: 'result', id, vectors, truncated }` or `{ type: 'failed', id, message }`.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';

/** What the parent asks the worker to load (plain data: it crosses the thread boundary). */
export interface WorkerInit {
  model: string;
  dtype: string;
  revision?: string;
  cacheDir?: string;
  localOnly: boolean;
  pooling: 'mean' | 'cls' | 'last';
  normalize: boolean;
  maxTokens?: number;
}

/** What the worker learned while loading: enough for the generation to name the vector space. */
export interface WorkerInfo {
  /** Maximum tokens per input, special tokens included; longer inputs are truncated. */
  maxTokens: number;
  /** Model files (relative to the model root) and the SHA-256 of each one found on disk. */
  files: { file: string; sha256?: string }[];
  modelType?: string;
}

type Transformers = typeof import('@huggingface/transformers');

// Anything the model libraries print is diagnostics: send it to stderr, so a
// process whose stdout is a protocol (`vecfill mcp`, `--json`) stays clean.
for (const method of ['log', 'info', 'debug'] as const) console[method] = console.error;

const port = parentPort!;
const init = workerData as WorkerInit;

async function load() {
  let tf: Transformers;
  try {
    tf = await import('@huggingface/transformers');
  } catch (e) {
    port.postMessage({
      type: 'fatal',
      code: 'MISSING_PEER',
      message: `the transformers encoder needs the \`@huggingface/transformers\` package: npm install @huggingface/transformers (${(e as Error).message})`,
    });
    return;
  }
  const isPath = isAbsolute(init.model) || init.model.startsWith('.') || existsSync(init.model);
  const modelRef = isPath ? resolve(init.model) : init.model;
  if (init.cacheDir) tf.env.cacheDir = init.cacheDir;
  if (init.localOnly) tf.env.allowRemoteModels = false;
  const progress = (p: { status?: string; file?: string; loaded?: number; total?: number }) => {
    if (p.status === 'progress' || p.status === 'download' || p.status === 'done')
      port.postMessage({
        type: 'progress',
        status: p.status,
        file: p.file,
        loaded: p.loaded,
        total: p.total,
      });
  };
  const common = {
    ...(init.revision ? { revision: init.revision } : {}),
    ...(init.localOnly ? { local_files_only: true } : {}),
    progress_callback: progress,
  };
  let tokenizer: Tokenizer;
  let model: Awaited<ReturnType<Transformers['AutoModel']['from_pretrained']>>;
  try {
    tokenizer = await loadTokenizer(tf, modelRef, isPath, common);
    model = await tf.AutoModel.from_pretrained(modelRef, {
      ...common,
      dtype: init.dtype as 'fp32',
      device: 'cpu',
    });
  } catch (e) {
    const message = (e as Error).message;
    port.postMessage({
      type: 'fatal',
      code: 'MODEL_UNAVAILABLE',
      message: `cannot load model ${init.model}: ${message}${init.localOnly ? ' (localOnly: nothing is downloaded; put the model in the cache or pass a folder)' : ''}`,
    });
    return;
  }
  const config = model.config as { max_position_embeddings?: number; model_type?: string };
  const tokenizerMax = tokenizer.model_max_length as number;
  const limits = [
    init.maxTokens,
    Number.isFinite(tokenizerMax) && tokenizerMax > 0 && tokenizerMax < 1e6
      ? tokenizerMax
      : undefined,
    config.max_position_embeddings,
  ].filter((n): n is number => typeof n === 'number' && n > 0);
  const maxTokens = init.maxTokens ?? (limits.length ? Math.min(...limits) : 512);
  let fileNames: string[] = [];
  try {
    fileNames = await tf.ModelRegistry.get_model_files(modelRef, {
      config: model.config,
      dtype: init.dtype as 'fp32',
    });
  } catch {
    fileNames = [];
  }
  const files: WorkerInfo['files'] = [];
  for (const file of fileNames) {
    const onDisk = locate(tf, modelRef, isPath, file);
    files.push(onDisk ? { file, sha256: await sha256(onDisk) } : { file });
  }
  const info: WorkerInfo = { maxTokens, files };
  if (config.model_type) info.modelType = config.model_type;
  port.postMessage({ type: 'ready', info });

  // One request at a time: ONNX Runtime already uses every core for one run,
  // and queued requests keep memory bounded by the caller's batch size.
  let chain: Promise<void> = Promise.resolve();
  port.on('message', (msg: { type: 'encode'; id: number; texts: string[] }) => {
    if (msg.type !== 'encode') return;
    chain = chain.then(async () => {
      try {
        const { vectors, truncated } = await encode(tokenizer, model, msg.texts, maxTokens);
        port.postMessage(
          { type: 'result', id: msg.id, vectors, truncated },
          vectors.map((v) => v.buffer as ArrayBuffer),
        );
      } catch (e) {
        port.postMessage({ type: 'failed', id: msg.id, message: (e as Error).message });
      }
    });
  });
}

type Tokenizer = Awaited<ReturnType<Transformers['AutoTokenizer']['from_pretrained']>>;

/**
 * The model's tokenizer, as transformers.js loads it. A folder that has a
 * `tokenizer.json` but no `tokenizer_config.json` (which transformers.js
 * requires) still loads: the settings that file would hold (padding token,
 * window) are read from `tokenizer.json` itself.
 */
async function loadTokenizer(
  tf: Transformers,
  modelRef: string,
  isPath: boolean,
  common: Record<string, unknown>,
): Promise<Tokenizer> {
  try {
    return await tf.AutoTokenizer.from_pretrained(modelRef, common);
  } catch (e) {
    const json = locate(tf, modelRef, isPath, 'tokenizer.json');
    if (!json || locate(tf, modelRef, isPath, 'tokenizer_config.json')) throw e;
    const spec = JSON.parse(readFileSync(json, 'utf8')) as {
      added_tokens?: { content: string; special?: boolean }[];
      padding?: { pad_token?: string } | null;
      truncation?: { max_length?: number } | null;
    };
    const config: Record<string, unknown> = {};
    const pad =
      spec.padding?.pad_token ??
      spec.added_tokens?.find((t) => /^(\[PAD\]|<pad>)$/i.test(t.content))?.content;
    if (pad) config.pad_token = pad;
    if (spec.truncation?.max_length) config.model_max_length = spec.truncation.max_length;
    return new tf.PreTrainedTokenizer(spec, config) as Tokenizer;
  }
}

/** Tokenizes (padding, truncation at `maxTokens`), runs the model and pools each input's token vectors. */
async function encode(
  tokenizer: Awaited<ReturnType<Transformers['AutoTokenizer']['from_pretrained']>>,
  model: Awaited<ReturnType<Transformers['AutoModel']['from_pretrained']>>,
  texts: string[],
  maxTokens: number,
): Promise<{ vectors: Float32Array[]; truncated: number }> {
  // Count the inputs that lose tokens to truncation. Every token covers at
  // least one character, so only texts longer than the window need a look.
  let truncated = 0;
  for (const t of texts)
    if (t.length > maxTokens - 2 && tokenizer.encode(t).length > maxTokens) truncated++;
  const inputs = tokenizer(texts, { padding: true, truncation: true, max_length: maxTokens });
  const output = (await model(inputs)) as Record<string, InstanceType<Transformers['Tensor']>>;
  let hidden = output.last_hidden_state ?? output.token_embeddings ?? Object.values(output)[0];
  if (!hidden) throw new Error('the model returned no output');
  if (hidden.type !== 'float32') hidden = hidden.to('float32');
  const shape = hidden.dims as number[];
  if (shape[0] !== texts.length || (shape.length !== 3 && shape.length !== 2))
    throw new Error(`unexpected model output shape [${shape.join(', ')}]`);
  // A [batch, dims] output is already one vector per input (a pooled export).
  const [batch, seq, dims] = (shape.length === 2 ? [shape[0], 1, shape[1]] : shape) as [
    number,
    number,
    number,
  ];
  const pooled = shape.length === 2;
  const data = hidden.data as Float32Array;
  const mask = (inputs.attention_mask as InstanceType<Transformers['Tensor']>)
    .data as BigInt64Array;
  const vectors: Float32Array[] = [];
  for (let b = 0; b < batch; b++) {
    const v = new Float32Array(dims);
    if (pooled || init.pooling === 'cls') {
      v.set(data.subarray(b * seq * dims, b * seq * dims + dims));
    } else if (init.pooling === 'last') {
      let last = 0;
      for (let s = 0; s < seq; s++) if (mask[b * seq + s] !== 0n) last = s;
      v.set(data.subarray((b * seq + last) * dims, (b * seq + last + 1) * dims));
    } else {
      let count = 0;
      for (let s = 0; s < seq; s++) {
        if (mask[b * seq + s] === 0n) continue;
        count++;
        const base = (b * seq + s) * dims;
        for (let d = 0; d < dims; d++) v[d]! += data[base + d]!;
      }
      for (let d = 0; d < dims; d++) v[d]! /= Math.max(count, 1);
    }
    if (init.normalize) {
      let norm = 0;
      for (let d = 0; d < dims; d++) norm += v[d]! * v[d]!;
      norm = Math.sqrt(norm);
      if (norm > 0) for (let d = 0; d < dims; d++) v[d]! /= norm;
    }
    vectors.push(v);
  }
  return { vectors, truncated };
}

/** Where transformers.js keeps `file` of `model` on disk: the folder itself, its local model path, or its cache. */
function locate(
  tf: Transformers,
  model: string,
  isPath: boolean,
  file: string,
): string | undefined {
  const candidates = isPath
    ? [join(model, file)]
    : [
        ...(tf.env.allowLocalModels && tf.env.localModelPath
          ? [join(tf.env.localModelPath, model, file)]
          : []),
        ...(init.revision && init.revision !== 'main'
          ? [join(tf.env.cacheDir ?? '', model, init.revision, file)]
          : [join(tf.env.cacheDir ?? '', model, file)]),
      ];
  return candidates.find((p) => existsSync(p) && statSync(p).isFile());
}

function sha256(path: string): Promise<string> {
  return new Promise((ok, fail) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', fail)
      .on('end', () => ok(hash.digest('hex')));
  });
}

load().catch((e: Error) => {
  port.postMessage({ type: 'fatal', code: 'MODEL_UNAVAILABLE', message: e.message });
});
