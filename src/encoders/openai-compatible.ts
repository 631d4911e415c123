import {
  type EncodeFn,
  type Generation,
  PermanentEncodeError,
  VecfillError,
} from '../core/index.js';
import type { Encoder } from './encoder.js';
import { backoffMs, parseRetryAfter, sleep } from './retry.js';

export interface OpenAICompatibleOptions {
  /** The API root, e.g. `https://api.openai.com/v1` or `http://127.0.0.1:11434/v1` (Ollama). */
  baseURL: string;
  model: string;
  /** Sent as `Authorization: Bearer …`; never logged, never in an error. */
  apiKey?: string;
  /**
   * Vector length. Requested from the provider (models with shortenable
   * embeddings honour it) and verified on every response. When absent, one
   * probe request learns it.
   */
  dimensions?: number;
  /** Send `dimensions` in the request (default true when `dimensions` is set). */
  sendDimensions?: boolean;
  /** Texts per HTTP request; larger batches are split. Default 96. */
  maxBatch?: number;
  /** Retries after a 429, a 5xx, a timeout, a network error or a malformed response. Default 5. */
  maxRetries?: number;
  /** Per-request timeout. Default 60 000 ms. */
  timeoutMs?: number;
  /** First backoff delay; doubles per retry, with jitter. Default 500 ms. */
  retryBaseMs?: number;
  /** Longest `Retry-After` honoured. Default 120 000 ms. */
  maxRetryAfterMs?: number;
  /** Extra headers (e.g. an organization or project id). */
  headers?: Record<string, string>;
  /**
   * Prepended to every document text `fill` embeds (e.g. `search_document: `
   * for nomic-embed-text, `passage: ` for e5); part of the generation. Also
   * prepended to queries unless `queryPrefix` is set.
   */
  prefix?: string;
  /**
   * Prepended to every query `search` encodes (e.g. `search_query: ` for
   * nomic-embed-text, `query: ` for e5). Default: `prefix`. Part of the
   * generation, so changing it makes a new fingerprint.
   */
  queryPrefix?: string;
}

/** The provider kept failing in a way that might pass: rate limits, 5xx, timeouts, network errors. */
export class TransientEncodeError extends VecfillError {
  readonly status: number | undefined;
  /** How long the provider asked to wait (`Retry-After`), when it said. */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, status?: number, cause?: unknown, retryAfterMs?: number) {
    super('TRANSIENT_ENCODE', message, cause === undefined ? undefined : { cause });
    this.status = status;
    this.retryAfterMs = retryAfterMs;
  }
}

/** The encoder is misconfigured for this provider (e.g. it returns another vector length). Stops a fill. */
export class EncoderConfigError extends VecfillError {
  constructor(message: string) {
    super('ENCODER_CONFIG', message);
  }
}

interface EmbeddingResponse {
  data?: { index?: number; embedding?: unknown }[];
}

/**
 * An encoder for any server speaking the OpenAI `/embeddings` wire format:
 * OpenAI, Ollama, llama.cpp server, vLLM, LM Studio, Together, Mistral.
 *
 * Retries 429s, 5xx, timeouts, network errors and malformed responses with
 * exponential backoff and jitter, honouring `Retry-After` (seconds or an
 * HTTP-date). Any other 4xx is a `PermanentEncodeError` carrying the status
 * and the provider's message, with no retry. Results are put back in input
 * order by the response's `index`. The caller's signal stops waiting and
 * retrying at once. The API key never appears in an error.
 *
 * @example
 * ```ts
 * const openai = await openAICompatible({
 *   baseURL: 'https://api.openai.com/v1',
 *   model: 'text-embedding-3-small',
 *   apiKey: process.env.OPENAI_API_KEY,
 *   dimensions: 512,
 * });
 * const ollama = await openAICompatible({ baseURL: 'http://127.0.0.1:11434/v1', model: 'nomic-embed-text' });
 * ```
 */
export async function openAICompatible(opts: OpenAICompatibleOptions): Promise<Encoder> {
  const base = opts.baseURL.replace(/\/+$/, '');
  let url: URL;
  try {
    url = new URL(`${base}/embeddings`);
  } catch {
    throw new TypeError(
      `baseURL ${JSON.stringify(opts.baseURL)} is not a valid URL (e.g. http://127.0.0.1:11434/v1)`,
    );
  }
  if (!opts.model) throw new TypeError('model is required');
  const maxBatch = opts.maxBatch ?? 96;
  const maxRetries = opts.maxRetries ?? 5;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const retryBaseMs = opts.retryBaseMs ?? 500;
  const maxRetryAfterMs = opts.maxRetryAfterMs ?? 120_000;
  const sendDimensions = opts.sendDimensions ?? opts.dimensions !== undefined;
  const prefix = opts.prefix ?? '';
  const queryPrefix = opts.queryPrefix ?? prefix;
  const key = opts.apiKey;
  const redact = (text: string) => (key ? text.split(key).join('[redacted]') : text);

  const request = async (
    texts: string[],
    signal: AbortSignal | undefined,
    dims: number | undefined,
    textPrefix = prefix,
  ): Promise<number[][]> => {
    const body: Record<string, unknown> = {
      model: opts.model,
      input: texts.map((t) => textPrefix + t),
      encoding_format: 'float',
    };
    if (sendDimensions && opts.dimensions !== undefined) body.dimensions = opts.dimensions;
    const headers: Record<string, string> = { 'content-type': 'application/json', ...opts.headers };
    if (key) headers.authorization = `Bearer ${key}`;
    let last: TransientEncodeError | undefined;
    for (let attempt = 0; attempt <= maxRetries; attempt++) {
      signal?.throwIfAborted();
      if (attempt > 0) {
        const wait = last?.retryAfterMs ?? backoffMs(attempt - 1, retryBaseMs);
        await sleep(Math.min(wait, maxRetryAfterMs), signal);
      }
      const outcome = await attemptOnce(
        url,
        headers,
        body,
        texts.length,
        dims,
        signal,
        timeoutMs,
        redact,
      );
      if (outcome.vectors) return outcome.vectors;
      last = outcome.transient;
    }
    throw new TransientEncodeError(
      `${opts.model} at ${url.origin}: gave up after ${maxRetries + 1} attempts; last error: ${last?.message ?? 'unknown'}`,
      last?.status,
      last,
    );
  };

  let dimensions = opts.dimensions;
  if (dimensions === undefined) {
    const [probe] = await request(['dimension probe'], undefined, undefined);
    dimensions = probe!.length;
  }
  const fixedDims = dimensions;
  const params: Record<string, string | number | boolean> = { api: 'openai-embeddings' };
  if (prefix) params.prefix = prefix;
  // Only a query prefix that differs from the document prefix is recorded, so
  // generations made before queryPrefix existed keep their fingerprints.
  if (queryPrefix !== prefix) {
    if (queryPrefix) params.queryPrefix = queryPrefix;
    else params.plainQueries = true;
  }
  if (sendDimensions && opts.dimensions !== undefined) params.requestedDimensions = opts.dimensions;
  const generation: Generation = { model: opts.model, dimensions: fixedDims, params };

  const encode: EncodeFn = async (texts, o = {}) => {
    const out: number[][] = [];
    for (let i = 0; i < texts.length; i += maxBatch) {
      out.push(
        ...(await request(
          texts.slice(i, i + maxBatch),
          o.signal,
          fixedDims,
          o.kind === 'query' ? queryPrefix : prefix,
        )),
      );
    }
    return out;
  };
  return { generation, encode };
}

type Attempt =
  | { vectors: number[][]; transient?: undefined }
  | { vectors?: undefined; transient: TransientEncodeError };

async function attemptOnce(
  url: URL,
  headers: Record<string, string>,
  body: Record<string, unknown>,
  expected: number,
  dims: number | undefined,
  signal: AbortSignal | undefined,
  timeoutMs: number,
  redact: (s: string) => string,
): Promise<Attempt> {
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const transient = (message: string, status?: number, retryAfterMs?: number): Attempt => {
    const err = new TransientEncodeError(redact(message), status) as TransientEncodeError & {
      retryAfterMs?: number;
    };
    if (retryAfterMs !== undefined) err.retryAfterMs = retryAfterMs;
    return { transient: err };
  };
  try {
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal: controller.signal,
      });
      text = await res.text();
    } catch (e) {
      if (signal?.aborted) throw signal.reason;
      if (timedOut) return transient(`no response within ${timeoutMs} ms`);
      const cause =
        e instanceof Error ? ((e.cause as Error | undefined)?.message ?? e.message) : String(e);
      return transient(`network error: ${cause}`);
    }
    if (res.status === 429 || res.status >= 500) {
      return transient(
        `HTTP ${res.status}: ${providerMessage(text)}`,
        res.status,
        parseRetryAfter(res.headers.get('retry-after')),
      );
    }
    if (!res.ok) {
      throw new PermanentEncodeError(
        redact(`provider refused the input (HTTP ${res.status}): ${providerMessage(text)}`),
        {
          status: res.status,
        },
      );
    }
    let parsed: EmbeddingResponse;
    try {
      parsed = JSON.parse(text) as EmbeddingResponse;
    } catch {
      return transient(`malformed JSON in the response (${text.length} bytes)`, res.status);
    }
    const data = parsed?.data;
    if (!Array.isArray(data)) return transient('response has no "data" array', res.status);
    if (data.length !== expected) {
      return transient(`asked for ${expected} embeddings, got ${data.length}`, res.status);
    }
    const out: number[][] = new Array(expected);
    for (let i = 0; i < data.length; i++) {
      const item = data[i]!;
      const index = typeof item.index === 'number' ? item.index : i;
      const emb = item.embedding;
      if (!Number.isInteger(index) || index < 0 || index >= expected || out[index] !== undefined) {
        return transient(
          `response has an invalid or repeated index ${String(item.index)}`,
          res.status,
        );
      }
      if (!Array.isArray(emb) || !emb.every((x) => typeof x === 'number' && Number.isFinite(x))) {
        return transient(`embedding ${index} is not an array of finite numbers`, res.status);
      }
      if (dims !== undefined && emb.length !== dims) {
        throw new EncoderConfigError(
          `${String(body.model)} returned ${emb.length}-dimensional vectors, but this generation has ${dims}; set dimensions to match the model (or check that the server honours the dimensions parameter)`,
        );
      }
      out[index] = emb as number[];
    }
    return { vectors: out };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

function providerMessage(text: string): string {
  try {
    const j = JSON.parse(text) as { error?: { message?: string } | string; message?: string };
    const m = typeof j.error === 'string' ? j.error : (j.error?.message ?? j.message);
    if (m) return String(m).slice(0, 500);
  } catch {
    // not JSON
  }
  return text.slice(0, 200) || '(empty body)';
}
