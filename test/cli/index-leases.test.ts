import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openaiFlags } from './helpers.js';
import { runCli } from './run-cli.js';

let dir: string;
let server: Server;
let base: string;
/** Every text the endpoint was asked to embed, in order. */
const embedded: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vecfill-leases-'));
  // An OpenAI-compatible endpoint slow enough (40 ms a request) that two
  // index runs started together are both embedding at the same time.
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      const input = (JSON.parse(body) as { input: string[] }).input;
      embedded.push(...input);
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            data: input.map((t, index) => ({
              index,
              embedding: Array.from({ length: 8 }, (_, i) => Math.sin(t.length + i) + 1.5),
            })),
          }),
        );
      }, 40);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('two index runs on one database at once (issue 17 #9)', () => {
  it('share the work through leases: each file is embedded once, not once per run', async () => {
    const notes = join(dir, 'notes');
    mkdirSync(notes);
    const files = 240;
    for (let i = 0; i < files; i++)
      writeFileSync(
        join(notes, `n${String(i).padStart(3, '0')}.md`),
        `# Note ${i}\nbody of note ${i}`,
      );
    const db = join(dir, 'shared.db');
    const encoder = [...openaiFlags(base, 'm', 8)];
    // The first run sets the database up; the two after it race over the backlog.
    expect((await runCli(['index', notes, '--db', db, '--no-fill', ...encoder])).code).toBe(0);
    embedded.length = 0;
    const args = ['index', notes, '--db', db, '--batch-size', '4', '--json', ...encoder];
    const [a, b] = await Promise.all([runCli(args), runCli(args)]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const docs = (r: { stdout: string }) =>
      (JSON.parse(r.stdout) as { fill: { documents: number }[] }).fill[0]!.documents;
    expect(docs(a) + docs(b)).toBe(files);
    // Without leases each run embedded all 240; with them, at most a batch is done twice.
    expect(embedded.length).toBeLessThanOrEqual(files + 8);
    const status = await runCli(['status', '--db', db, '--json']);
    expect(status.stdout).toMatch(/"backlog": 0/);

    // As text: the run that finds everything leased says who is doing it.
    for (let i = 0; i < files; i++)
      writeFileSync(
        join(notes, `n${String(i).padStart(3, '0')}.md`),
        `# Note ${i}\nedited body of note ${i}`,
      );
    const text = ['index', notes, '--db', db, '--batch-size', '4', ...encoder];
    const [c, d] = await Promise.all([runCli(text), runCli(text)]);
    expect(c.code, c.stderr).toBe(0);
    expect(d.code, d.stderr).toBe(0);
    expect(`${c.stdout}${d.stdout}`).toMatch(
      /document\(s\) still pending: another vecfill run is embedding them/,
    );
  }, 60_000);
});
