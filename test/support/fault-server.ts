import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { embed } from './hash-encoder.js';

/** What the fault-injecting server may do to one request. */
export type Fault =
  | 'ok'
  | '429'
  | '500'
  | 'hang'
  | 'truncated'
  | 'nan'
  | 'reset'
  /** Provider-wide refusals: a bad key (401), a forbidden model (403), a wrong model or URL (404), a wrong endpoint (405), a proxy (407). */
  | '401'
  | '403'
  | '404'
  | '405'
  | '407'
  /** HTTP 200 with every vector all zeros. */
  | 'zeros'
  /** HTTP 200 with every vector's components at 1e39 (overflows float32 to Infinity). */
  | 'overflow';

export interface FaultServerOptions {
  dimensions: number;
  /** Decides the fault of each request (by request number and the texts in it). */
  decide: (request: number, texts: string[]) => Fault;
  /** Texts containing this marker always get a 400 (the poison document). */
  poisonMarker?: string;
  /** Retry-After seconds sent with 429s. */
  retryAfter?: number;
  /** Milliseconds every request takes, like a real model's latency. */
  delayMs?: number;
}

export interface FaultServer {
  url: string;
  /** Every request received: its number, texts, and the fault served. */
  log: {
    request: number;
    texts: string[];
    fault: Fault | '400';
    authorization: string | undefined;
  }[];
  close(): Promise<void>;
}

/**
 * A real OpenAI-compatible `/embeddings` server on 127.0.0.1 that injects
 * faults: 429 with Retry-After, 500, a hang (the client's timeout must cut
 * it), truncated JSON, NaN components (sent as the bare token NaN, which is
 * not JSON), and connection resets. Vectors are the deterministic hash
 * embedding of each input, so results can be checked exactly.
 */
export async function startFaultServer(opts: FaultServerOptions): Promise<FaultServer> {
  const log: FaultServer['log'] = [];
  const hanging = new Set<ServerResponse>();
  let count = 0;
  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    const request = ++count;
    let texts: string[] = [];
    try {
      const parsed = JSON.parse(body) as { input: string | string[] };
      texts = Array.isArray(parsed.input) ? parsed.input : [parsed.input];
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'request body is not JSON' } }));
      return;
    }
    const authorization = req.headers.authorization;
    if (opts.poisonMarker && texts.some((t) => t.includes(opts.poisonMarker!))) {
      log.push({ request, texts, fault: '400', authorization });
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ error: { message: 'This input is not allowed by the content policy.' } }),
      );
      return;
    }
    const fault = opts.decide(request, texts);
    log.push({ request, texts, fault, authorization });
    if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
    const data = texts.map((t, index) => ({
      object: 'embedding',
      index,
      embedding: Array.from(embed(t, opts.dimensions)),
    }));
    switch (fault) {
      case '401':
      case '403':
      case '404':
      case '405':
      case '407':
        res.writeHead(Number(fault), { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `refused with ${fault}` } }));
        return;
      case 'zeros':
      case 'overflow': {
        const value = fault === 'zeros' ? 0 : 1e39;
        for (const d of data) d.embedding = d.embedding.map(() => value);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ object: 'list', data, model: 'fault' }));
        return;
      }
      case '429':
        res.writeHead(429, {
          'retry-after': String(opts.retryAfter ?? 0),
          'content-type': 'application/json',
        });
        res.end(JSON.stringify({ error: { message: 'rate limited' } }));
        return;
      case '500':
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'internal error' } }));
        return;
      case 'hang':
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      case 'reset':
        req.socket.destroy();
        return;
      case 'truncated': {
        const full = JSON.stringify({ object: 'list', data, model: 'fault' });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(full.slice(0, Math.floor(full.length / 2)));
        return;
      }
      case 'nan': {
        const text = JSON.stringify({ object: 'list', data, model: 'fault' }).replace(
          /\[(-?[0-9.e-]+),/,
          '[NaN,',
        );
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(text);
        return;
      }
      default:
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            object: 'list',
            data,
            model: 'fault',
            usage: { prompt_tokens: 0, total_tokens: 0 },
          }),
        );
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    log,
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}
