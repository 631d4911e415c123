import { describe, expect, it } from 'vitest';
import {
  type Fault,
  type FaultServer,
  type FaultServerOptions,
  startFaultServer,
} from '../support/fault-server.js';
import { indexedNotes, openaiFlags, statusOf, tempDir } from './helpers.js';
import { runCli, runJson, startCli } from './run-cli.js';

const DIMS = 16;
const TOPICS = ['tides and the moon', 'violin concertos', 'sourdough baking', 'chess openings'];

const dir = tempDir('vecfill-provider-');

/** A folder of `n` notes indexed with the offline encoder: one active generation. */
function indexedDb(name: string, n: number, poison: (i: number) => boolean = () => false) {
  return indexedNotes(
    dir,
    name,
    n,
    (i) => `Note ${i} is about ${TOPICS[i % TOPICS.length]}.${poison(i) ? ' POISON' : ''}`,
  );
}

async function faultServer(
  decide: FaultServerOptions['decide'],
  extra: Partial<FaultServerOptions> = {},
): Promise<{ server: FaultServer; options: FaultServerOptions }> {
  const options: FaultServerOptions = { dimensions: DIMS, decide, ...extra };
  return { server: await startFaultServer(options), options };
}

describe('vecfill against a failing provider', () => {
  it('migrate --activate on 401, 403, 404 and zero vectors: exit 1, nothing skipped, old generation active; once fixed, fill embeds everything', async () => {
    const db = await indexedDb('refusals', 30);
    let mode: Fault = '401';
    const { server } = await faultServer(() => mode);
    try {
      const migrate = [
        'migrate',
        '--db',
        db,
        ...openaiFlags(server.url, 'embed-x', DIMS),
        '--activate',
      ];
      for (const [fault, message] of [
        ['401', /HTTP 401 .*API key.*\$OPENAI_API_KEY/],
        ['403', /HTTP 403 .*not allowed/],
        ['404', /HTTP 404 .*check the model name and the base URL/],
        ['zeros', /unusable vector for every one of the 30 inputs.*all zeros/],
        ['overflow', /unusable vector for every one of the 30 inputs.*overflows float32/],
      ] as const) {
        mode = fault;
        const r = await runCli(migrate, { env: { OPENAI_API_KEY: 'sk-expired-key' } });
        expect(r.code, `${fault}: ${r.stderr}`).toBe(1);
        expect(r.stderr).toMatch(message);
        expect(r.stderr).not.toMatch(/^\s*skipped /m);
        expect(r.stderr + r.stdout).not.toContain('sk-expired-key');
        const s = await statusOf(db);
        expect(s.generations.find((g) => g.state === 'active')?.generation).toMatch(/^words-/);
        const building = s.generations.find((g) => g.state === 'building')!;
        expect(building).toMatchObject({ embedded: 0, skipped: 0, backlog: 30 });
      }
      // The key is fixed: a plain fill embeds every document, and activate works.
      mode = 'ok';
      const filled = await runJson<{ generations: { generation: string; documents: number }[] }>([
        'fill',
        '--db',
        db,
      ]);
      expect(filled.generations.find((g) => g.generation.startsWith('embed-x'))?.documents).toBe(
        30,
      );
      const activated = await runCli(['activate', '--db', db]);
      expect(activated.code, activated.stderr).toBe(0);
      const s = await statusOf(db);
      expect(s.generations.find((g) => g.state === 'active')).toMatchObject({
        embedded: 30,
        skipped: 0,
      });
    } finally {
      await server.close();
    }
  }, 120_000);

  it('activate refuses a generation that skipped over 1 % (how many and why), --force overrides, fill --retry-skipped re-attempts', async () => {
    const db = await indexedDb('skips', 30, (i) => i % 10 === 0);
    const { server, options } = await faultServer(() => 'ok', { poisonMarker: 'POISON' });
    try {
      const r = await runCli([
        'migrate',
        '--db',
        db,
        ...openaiFlags(server.url, 'embed-y', DIMS),
        '--activate',
      ]);
      expect(r.code, r.stderr).toBe(4);
      expect(r.stderr).toMatch(
        /3 of 30 documents \(10%\) were skipped after encoder errors \(3 × provider refused the input \(HTTP 400\): This input is not allowed by the content policy\.\).*vecfill fill --retry-skipped.*vecfill activate --force/,
      );
      let s = await statusOf(db);
      expect(s.generations.find((g) => g.state === 'active')?.generation).toMatch(/^words-/);
      expect((await runCli(['activate', '--db', db])).code).toBe(4);
      const skippedStatus = await runCli(['status', '--db', db]);
      expect(skippedStatus.stdout).toMatch(
        /embed-y-\w+: 3 documents skipped after encoder errors .*\n {2}3 × provider refused the input \(HTTP 400\)/,
      );
      const skippedJson = await runJson<{
        generations: { skipReasons: { reason: string; documents: number }[] }[];
      }>(['status', '--db', db]);
      expect(skippedJson.generations.flatMap((g) => g.skipReasons)).toEqual([
        {
          reason:
            'provider refused the input (HTTP 400): This input is not allowed by the content policy.',
          documents: 3,
        },
      ]);

      // Still rejected: retried, skipped again.
      const poisoned = server.log.filter((l) => l.fault === '400').length;
      const retried = await runJson<{ generations: { retried?: number; skipped: number }[] }>([
        'fill',
        '--db',
        db,
        '--retry-skipped',
      ]);
      expect(retried.generations.find((g) => g.retried)).toMatchObject({ retried: 3, skipped: 3 });
      expect(server.log.filter((l) => l.fault === '400').length).toBeGreaterThan(poisoned);

      const forced = await runCli(['activate', '--db', db, '--force']);
      expect(forced.code, forced.stderr).toBe(0);
      s = await statusOf(db);
      expect(s.generations.find((g) => g.state === 'active')).toMatchObject({
        embedded: 27,
        skipped: 3,
      });

      // The provider stops rejecting them: --retry-skipped embeds them.
      options.poisonMarker = undefined;
      const fixed = await runJson<{ generations: { retried?: number; skipped: number }[] }>([
        'fill',
        '--db',
        db,
        '--retry-skipped',
      ]);
      expect(fixed.generations[0]).toMatchObject({ retried: 3, skipped: 0 });
      s = await statusOf(db);
      expect(s.generations.find((g) => g.state === 'active')).toMatchObject({
        embedded: 30,
        skipped: 0,
      });
    } finally {
      await server.close();
    }
  }, 120_000);

  it('a long Retry-After is announced on stderr with until when, and Ctrl-C ends the wait', async () => {
    const db = await indexedDb('waits', 5);
    const { server } = await faultServer(() => '429', { retryAfter: 90 });
    try {
      const child = startCli(['migrate', '--db', db, ...openaiFlags(server.url, 'embed-z', DIMS)]);
      let stderr = '';
      child.stderr!.on('data', (c: Buffer) => {
        stderr += c.toString();
      });
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      const started = Date.now();
      while (!/waiting/.test(stderr) && Date.now() - started < 20_000) {
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(stderr).toMatch(
        /embed-z: HTTP 429: rate limited; waiting 90 s as the provider asked \(Retry-After\), until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z, before retry 1 of 5/,
      );
      const interrupted = Date.now();
      child.kill('SIGINT');
      expect(await exited).toBe(130);
      expect(Date.now() - interrupted).toBeLessThan(2000);
      expect(server.log).toHaveLength(1);
    } finally {
      await server.close();
    }
  }, 60_000);
});
