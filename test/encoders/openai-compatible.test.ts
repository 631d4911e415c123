import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeBatched, PermanentEncodeError } from '../../src/core/index.js';
import {
  EncoderConfigError,
  isPermanentEncodeError,
  openAICompatible,
  TransientEncodeError,
} from '../../src/encoders/index.js';
import { parseRetryAfter } from '../../src/encoders/retry.js';
import { rejectsWith } from '../support/thrown.js';

const KEY = 'sk-test-SECRET-0123456789abcdef';
type Handler = (
  body: { input: string[]; model: string; dimensions?: number },
  req: IncomingMessage,
  res: ServerResponse,
  n: number,
) => void;

let server: Server | undefined;
let requests: {
  input: string[];
  at: number;
  auth: string | undefined;
  dimensions: number | undefined;
}[] = [];

async function serve(handler: Handler): Promise<string> {
  requests = [];
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => {
      raw += c.toString();
    });
    req.on('end', () => {
      const body = JSON.parse(raw) as { input: string[]; model: string; dimensions?: number };
      requests.push({
        input: body.input,
        at: Date.now(),
        auth: req.headers.authorization,
        dimensions: body.dimensions,
      });
      handler(body, req, res, requests.length);
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}/v1`;
}

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

const vec = (t: string, dims = 4) => Array.from({ length: dims }, (_, i) => t.length + i + 1);
function ok(res: ServerResponse, body: { input: string[] }, dims = 4, reorder = false): void {
  let data = body.input.map((t, index) => ({
    object: 'embedding',
    index,
    embedding: vec(t, dims),
  }));
  if (reorder) data = data.reverse();
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ object: 'list', data, model: 'm' }));
}
function fail(
  res: ServerResponse,
  status: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify({ error: { message } }));
}
const base = { model: 'test-embed', apiKey: KEY, dimensions: 4, retryBaseMs: 5 };

describe('openAICompatible', () => {
  it('embeds a batch, sends the key and the requested dimensions, and names the generation', async () => {
    const baseURL = await serve((b, _q, res) => ok(res, b));
    const enc = await openAICompatible({ ...base, baseURL, prefix: 'search_document: ' });
    const out = await enc.encode(['a', 'bbb'], {});
    expect(out).toEqual([vec('search_document: a'), vec('search_document: bbb')]);
    expect(requests[0]!.auth).toBe(`Bearer ${KEY}`);
    expect(requests[0]!.dimensions).toBe(4);
    expect(enc.generation).toEqual({
      model: 'test-embed',
      dimensions: 4,
      params: { api: 'openai-embeddings', prefix: 'search_document: ', requestedDimensions: 4 },
    });
  });

  it('splits over-large batches into requests of at most maxBatch', async () => {
    const baseURL = await serve((b, _q, res) => ok(res, b));
    const enc = await openAICompatible({ ...base, baseURL, maxBatch: 3 });
    const texts = Array.from({ length: 8 }, (_, i) => 'x'.repeat(i + 1));
    const out = await enc.encode(texts, {});
    expect(requests.map((r) => r.input.length)).toEqual([3, 3, 2]);
    expect(out).toEqual(texts.map((t) => vec(t)));
  });

  it('puts results back in input order by the response index', async () => {
    const baseURL = await serve((b, _q, res) => ok(res, b, 4, true));
    const enc = await openAICompatible({ ...base, baseURL });
    expect(await enc.encode(['a', 'bb', 'ccc'], {})).toEqual([vec('a'), vec('bb'), vec('ccc')]);
  });

  it('honours Retry-After on a 429 (measured) and then succeeds', async () => {
    const baseURL = await serve((b, _q, res, n) =>
      n === 1 ? fail(res, 429, 'slow down', { 'retry-after': '1' }) : ok(res, b),
    );
    const enc = await openAICompatible({ ...base, baseURL });
    expect(await enc.encode(['a'], {})).toEqual([vec('a')]);
    expect(requests).toHaveLength(2);
    expect(requests[1]!.at - requests[0]!.at).toBeGreaterThanOrEqual(950);
  });

  it('parses Retry-After as seconds or an HTTP-date', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    const now = Date.parse('2026-11-25T10:00:00Z');
    expect(parseRetryAfter('Wed, 25 Nov 2026 10:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });

  it('retries a 500 and then succeeds', async () => {
    const baseURL = await serve((b, _q, res, n) => (n === 1 ? fail(res, 500, 'oops') : ok(res, b)));
    const enc = await openAICompatible({ ...base, baseURL });
    expect(await enc.encode(['a'], {})).toEqual([vec('a')]);
    expect(requests).toHaveLength(2);
  });

  it('turns a 400 into PermanentEncodeError with status and message after exactly one request', async () => {
    const baseURL = await serve((_b, _q, res) =>
      fail(res, 400, `input too long (key ${KEY} was used)`),
    );
    const enc = await openAICompatible({ ...base, baseURL });
    const err = await enc.encode(['a'], {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentEncodeError);
    expect((err as PermanentEncodeError).status).toBe(400);
    expect((err as Error).message).toMatch(/input too long/);
    expect((err as Error).message).not.toContain(KEY);
    expect(isPermanentEncodeError(err)).toBe(true);
    expect(requests).toHaveLength(1);
  });

  it('retries malformed JSON and gives up with a clear transient error', async () => {
    const baseURL = await serve((_b, _q, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"data": [ {"index": 0, "embedd');
    });
    const enc = await openAICompatible({ ...base, baseURL, maxRetries: 2 });
    const err = await enc.encode(['a'], {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientEncodeError);
    expect((err as Error).message).toMatch(/malformed JSON/);
    expect(isPermanentEncodeError(err)).toBe(false);
    expect(requests).toHaveLength(3);
  });

  it('refuses a wrong vector count and wrong dimensions with clear errors', async () => {
    const short = await serve((b, _q, res) => ok(res, { input: b.input.slice(1) }));
    const enc = await openAICompatible({ ...base, baseURL: short, maxRetries: 1 });
    await rejectsWith(
      enc.encode(['a', 'b'], {}),
      TransientEncodeError,
      /asked for 2 embeddings, got 1/,
    );
    await new Promise<void>((r) => server!.close(() => r()));
    const wide = await serve((b, _q, res) => ok(res, b, 8));
    const enc8 = await openAICompatible({ ...base, baseURL: wide });
    const err = await enc8.encode(['a'], {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EncoderConfigError);
    expect((err as Error).message).toMatch(/8-dimensional .* 4/);
  });

  it('learns the dimensions with one probe when none are given', async () => {
    const baseURL = await serve((b, _q, res) => ok(res, b, 6));
    const enc = await openAICompatible({ baseURL, model: 'probe-me' });
    expect(enc.generation.dimensions).toBe(6);
    expect(requests[0]!.dimensions).toBeUndefined();
  });

  it('cuts off a hanging server with the per-request timeout', async () => {
    const baseURL = await serve(() => {
      /* never answers */
    });
    const enc = await openAICompatible({ ...base, baseURL, timeoutMs: 100, maxRetries: 1 });
    const started = Date.now();
    const err = await enc.encode(['a'], {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientEncodeError);
    expect((err as Error).message).toMatch(/no response within 100 ms/);
    expect(requests).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
  });

  it('returns promptly when aborted during a backoff', async () => {
    const baseURL = await serve((_b, _q, res) => fail(res, 503, 'down', { 'retry-after': '30' }));
    const enc = await openAICompatible({ ...base, baseURL });
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(new Error('user cancelled')), 100);
    await rejectsWith(enc.encode(['a'], { signal: controller.signal }), Error, 'user cancelled');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(requests).toHaveLength(1);
  });

  it('never puts the API key in any error message', async () => {
    const messages: string[] = [];
    for (const status of [400, 401, 404, 422, 500]) {
      const baseURL = await serve((_b, _q, res) => fail(res, status, `bad key ${KEY}`));
      const enc = await openAICompatible({ ...base, baseURL, maxRetries: 0 });
      const err = (await enc.encode(['a'], {}).catch((e: unknown) => e)) as Error;
      messages.push(err.message, String(err.stack), JSON.stringify(err));
      await new Promise<void>((r) => server!.close(() => r()));
    }
    const unreachable = await openAICompatible({
      ...base,
      baseURL: 'http://127.0.0.1:9/v1',
      maxRetries: 0,
    });
    const net = (await unreachable.encode(['a'], {}).catch((e: unknown) => e)) as Error;
    messages.push(net.message);
    expect(net).toBeInstanceOf(TransientEncodeError);
    for (const m of messages) expect(m).not.toContain(KEY);
    expect(messages.join('\n')).toContain('[redacted]');
  });

  it('sends a key padded with whitespace trimmed, and masks it in every form a header shows it', async () => {
    const baseURL = await serve((_b, q, res) =>
      fail(res, 400, `bad header: ${q.headers.authorization ?? ''}`),
    );
    const enc = await openAICompatible({ ...base, baseURL, apiKey: `  ${KEY}\n` });
    const err = (await enc.encode(['a'], {}).catch((e: unknown) => e)) as Error;
    expect(requests[0]!.auth).toBe(`Bearer ${KEY}`);
    expect(err.message).toMatch(/bad header: Bearer \[redacted\]/);
    expect(err.message).not.toContain(KEY);
    // A key no header can carry is refused before any request, without being repeated.
    const broken = await openAICompatible({
      ...base,
      baseURL,
      apiKey: 'sk-live\nsplit-4242',
    }).catch((e: unknown) => e);
    expect(broken).toBeInstanceOf(EncoderConfigError);
    expect((broken as Error).message).toMatch(/cannot be sent in an HTTP header/);
    expect((broken as Error).message).not.toContain('split-4242');
    expect(requests).toHaveLength(1);
  });

  it('works under encodeBatched with concurrency, in order', async () => {
    const baseURL = await serve((b, _q, res) => setTimeout(() => ok(res, b), Math.random() * 20));
    const enc = await openAICompatible({ ...base, baseURL });
    const texts = Array.from({ length: 30 }, (_, i) => 'y'.repeat(i + 1));
    const out = await encodeBatched(enc.encode, texts, { batchSize: 4, concurrency: 3 });
    expect(out.map((v) => v[0])).toEqual(texts.map((t) => t.length + 1));
  });
});
