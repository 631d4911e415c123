import {
  type EncodeFn,
  EncoderConfigError,
  type Generation,
  PermanentEncodeError,
  TransientEncodeError,
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
  /**
   * Longest `Retry-After` waited for. Default 120 000 ms. A provider asking
   * for a longer wait fails the call at once with a `TransientEncodeError`
   * that says until when, instead of being retried early (and refused again).
   */
  maxRetryAfterMs?: number;
  /**
   * Hears about every wait before a retry: what failed, how long it waits
   * and until when. The CLI prints the long ones, so a fill waiting on a
   * `Retry-After` never looks hung.
   */
  onRetry?: (notice: RetryNotice) => void;
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

/** A wait before a retry, as told to `onRetry`. */
export interface RetryNotice {
  /** The retry about to be made (1-based), of `maxRetries`. */
  attempt: number;
  maxRetries: number;
  /** How long it waits, and until when. */
  waitMs: number;
  until: Date;
  /** The failure being retried (never contains the API key). */
  reason: string;
  status: number | undefined;
  /** True when the provider set the wait (`Retry-After`). */
  retryAfter: boolean;
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
  const rawKey = opts.apiKey;
  // Header values are sent trimmed of surrounding whitespace (undici does the
  // same), so the trimmed key is the one that travels and must never print.
  const key = rawKey?.trim() || undefined;
  if (key !== undefined && !/^[\x21-\x7e][\x20-\x7e]*$/.test(key)) {
    throw new EncoderConfigError(
      'apiKey contains a character that cannot be sent in an HTTP header (a line break, a control or a non-ASCII character); check how the key was copied',
    );
  }
  const secrets = [rawKey, key].filter((k): k is string => Boolean(k));
  const redact = (text: string) => {
    let out = text;
    for (const k of secrets) out = out.split(k).join('[redacted]');
    return out;
  };

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
      if (attempt > 0 && last) {
        const asked = last.retryAfterMs;
        if (asked !== undefined && asked > maxRetryAfterMs) {
          throw new TransientEncodeError(
            `${opts.model} at ${url.origin}: ${last.message}; the provider asked to wait ${formatWait(asked)} (Retry-After), longer than maxRetryAfterMs (${formatWait(maxRetryAfterMs)}); try again after ${new Date(Date.now() + asked).toISOString()}`,
            last.status,
            last,
            asked,
          );
        }
        const wait = asked ?? backoffMs(attempt - 1, retryBaseMs);
        opts.onRetry?.({
          attempt,
          maxRetries,
          waitMs: wait,
          until: new Date(Date.now() + wait),
          reason: last.message,
          status: last.status,
          retryAfter: asked !== undefined,
        });
        await sleep(wait, signal);
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
    return {
      transient: new TransientEncodeError(redact(message), status, undefined, retryAfterMs),
    };
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
      const inner =
        e instanceof Error ? (e.cause as (Error & { code?: unknown }) | undefined) : undefined;
      if (inner instanceof Error && inner.message === '' && inner.code === undefined) {
        // fetch turns an HTTP 407 (proxy authentication) into a bare network
        // error with an empty cause; no socket failure looks like that.
        throw new EncoderConfigError(
          `${String(body.model)} at ${url.origin}${url.pathname}: HTTP 407 (the response was refused by fetch); ${CONFIG_STATUS[407]}. Nothing was skipped: fix it and run the fill again`,
          { status: 407 },
        );
      }
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
    const config = CONFIG_STATUS[res.status];
    if (config) {
      throw new EncoderConfigError(
        redact(
          `${String(body.model)} at ${url.origin}${url.pathname}: HTTP ${res.status} (${providerMessage(text)}); ${config}. Nothing was skipped: fix it and run the fill again`,
        ),
        { status: res.status },
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

/**
 * Statuses that say the request could never succeed with this configuration,
 * whatever the input: they stop a fill (`EncoderConfigError`) instead of
 * marking every document as rejected.
 */
const CONFIG_STATUS: Record<number, string> = {
  401: 'the provider did not accept the API key (missing, expired or revoked); set a valid one',
  403: 'the API key is not allowed to use this model or endpoint; check its permissions and the model name',
  404: 'no such model or endpoint; check the model name and the base URL (most servers end it in /v1)',
  405: 'the base URL does not point at an OpenAI-compatible embeddings API',
  407: 'a proxy between here and the provider wants authentication',
};

/** `90 s`, `12 min`, `10 h` */
export function formatWait(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1).replace(/\.0$/, '')} h`;
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
