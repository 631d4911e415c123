import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fill } from '../../src/core/index.js';
import { openDatabase, SqliteStore } from '../../src/sqlite/index.js';
import { runCli, runJson } from './run-cli.js';

interface Row {
  id: string;
  score: number;
  similarity: number | null;
  fused?: number;
  generation: string;
  passage: string;
}
interface Out {
  results: Row[];
}

let dir: string;
let db: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vecfill-scores-'));
  const notes = join(dir, 'notes');
  mkdirSync(notes);
  writeFileSync(
    join(notes, 'aaa-junk.md'),
    '# Invoices\nQuarterly invoice spreadsheet totals and tax forms.',
  );
  writeFileSync(
    join(notes, 'tides.md'),
    '# Tides\nThe tide rises because the moon pulls the ocean water toward it.',
  );
  writeFileSync(join(notes, 'bread.md'), '# Bread\nBake bread with flour, water, salt and yeast.');
  writeFileSync(
    join(notes, 'zebra.md'),
    `# Fish\n${'Small fish swim in rivers and lakes. '.repeat(30)}The zebrafish is used in genetics research.`,
  );
  for (let i = 0; i < 16; i++)
    writeFileSync(
      join(notes, `note-${i}.md`),
      `# Note ${i}\nGardening tips for spring number ${i}.`,
    );
  db = join(dir, 'n.db');
  const r = await runCli(['index', notes, '--db', db]);
  expect(r.code).toBe(0);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('scores (issue 17 #6, #7, #5)', () => {
  it('hybrid is the default; each hit has its raw similarity and the fused score apart', async () => {
    const hybrid = await runJson<Out>(['search', 'moon and ocean tides', '--db', db]);
    expect(hybrid.results[0]!.id).toBe('tides.md');
    for (const r of hybrid.results) {
      expect(r.fused).toBeTypeOf('number');
      expect(r.fused).toBeLessThan(0.1); // reciprocal-rank scale
    }
    expect(hybrid.results[0]!.similarity).toBeGreaterThan(0.3); // cosine scale
    const vector = await runJson<Out>([
      'search',
      'moon and ocean tides',
      '--db',
      db,
      '--no-hybrid',
    ]);
    expect(vector.results[0]!.fused).toBeUndefined();
    expect(vector.results[0]!.score).toBe(vector.results[0]!.similarity);
    expect(hybrid.results[0]!.similarity).toBeCloseTo(vector.results[0]!.similarity!, 3);
  });

  it('--min-score filters on the raw similarity; --generation searches one generation', async () => {
    const all = await runJson<Out>(['search', 'moon', '--db', db, '--no-hybrid']);
    const cut = (all.results[0]!.similarity! + all.results[1]!.similarity!) / 2;
    const some = await runJson<Out>([
      'search',
      'moon',
      '--db',
      db,
      '--no-hybrid',
      '--min-score',
      String(cut),
    ]);
    expect(some.results.length).toBeGreaterThan(0);
    expect(some.results.length).toBeLessThan(all.results.length);
    for (const r of some.results) expect(r.similarity).toBeGreaterThanOrEqual(cut);
    const gen = all.results[0]!.generation;
    const one = await runJson<Out>(['search', 'moon', '--db', db, '--generation', gen]);
    expect(one.results.every((r) => r.generation === gen)).toBe(true);
    const bad = await runCli(['search', 'moon', '--db', db, '--generation', 'nope']);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/not a live generation/);
  });

  it('a full-text hit shows the passage that matched, highlighted; scores do not change with --limit', async () => {
    const r = await runCli(['search', 'zebrafish', '--db', db]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/«zebrafish»/);
    const j = await runJson<Out>(['search', 'zebrafish', '--db', db, '--limit', '5']);
    // Exact-term matches come before hits found by their vectors only.
    const hasWord = j.results.map((x) => /zebrafish/i.test(x.passage));
    expect(hasWord[0]).toBe(true);
    expect(
      hasWord.indexOf(false) === -1 || hasWord.lastIndexOf(true) < hasWord.indexOf(false),
    ).toBe(true);
    const zebra = j.results.find((x) => x.id === 'zebra.md')!;
    expect(zebra.passage).toMatch(/zebrafish/);
    const j3 = await runJson<Out>(['search', 'zebrafish', '--db', db, '--limit', '3']);
    for (const row of j3.results)
      expect(row.score).toBe(j.results.find((x) => x.id === row.id)!.score);
  });

  it('during a migration a barely covered building generation does not outrank the active one on noise', async () => {
    const mig = await runCli(['migrate', '--db', db, '--weighting', 'mean', '--no-fill']);
    expect(mig.code).toBe(0);
    // Give the building generation one noise vector, for the junk file only.
    const sqlite = openDatabase(db);
    const store = SqliteStore.open(sqlite, {
      docsTable: 'documents',
      idColumn: 'path',
      contentColumn: 'content',
      revisionColumn: 'hash',
      vectorsPrefix: 'vecfill',
    });
    const building = (await store.generations()).find((g) => g.state === 'building')!;
    const info = await store.generations();
    expect(info.length).toBe(2);
    const dims = building.generation.dimensions;
    const ac = new AbortController();
    await fill(
      store,
      building.key,
      async (texts) =>
        texts.map(() => Float32Array.from({ length: dims }, () => Math.random() - 0.5)),
      {
        scanBatch: 1,
        batch: { batchSize: 1 },
        signal: ac.signal,
        onProgress: (p) => {
          if (p.documents >= 1) ac.abort();
        },
      },
    ).catch(() => {});
    const cov = await store.coverage(building.key);
    sqlite.close();
    expect(cov.embedded).toBeGreaterThanOrEqual(1);
    expect(cov.backlog).toBeGreaterThan(10);
    const s = await runJson<Out>(['search', 'moon and ocean tides', '--db', db, '--no-hybrid']);
    expect(s.results[0]!.id).toBe('tides.md');
    const junk = s.results.findIndex((x) => x.generation === building.key);
    if (junk >= 0) expect(junk).toBeGreaterThan(0);
    expect(s.results[0]!.similarity).toBeGreaterThan(0.3);
  }, 120_000);
});

describe('scores beyond 20 results (issue 17 #5)', () => {
  it("a document's score is the same at --limit 5, 30 and 100; more than 100 is refused", async () => {
    const notes = join(dir, 'many');
    mkdirSync(notes);
    // As on a real folder of READMEs: long notes whose many chunks crowd the
    // top of the vector list without the query's words, and short notes that
    // hold the words (first in full text) but rank below those chunks by
    // vector. At a small candidate count a short note gets only its
    // full-text share; with more candidates its vector share too.
    const crowd = 'flowers plants soil seeds bloom planting greenhouse orchard blossom hedge lawn';
    for (let i = 0; i < 10; i++)
      writeFileSync(
        join(notes, `crowd${i}.md`),
        `# Plants ${i}\n${Array.from({ length: 200 }, (_, j) => `${crowd.split(' ')[(i + j) % 11]} ${crowd}.`).join('\n')}`,
      );
    const other =
      'iron forge castle tower anvil hammer copper king moat gate harbour anchor violin';
    for (let i = 0; i < 20; i++)
      writeFileSync(
        join(notes, `target${i}.md`),
        `# Target ${i}\ncompost tulip garden ${other
          .split(' ')
          .slice(0, 3 + (i % 10))
          .join(' ')}`,
      );
    for (let i = 0; i < 100; i++)
      writeFileSync(
        join(notes, `filler${i}.md`),
        `# Filler ${i}\n${other
          .split(' ')
          .slice(i % 5)
          .join(' ')} bread ${i}`,
      );
    const many = join(dir, 'many.db');
    expect((await runCli(['index', notes, '--db', many])).code).toBe(0);
    const scores = async (limit: number) =>
      new Map(
        (
          await runJson<Out>([
            'search',
            'compost for the tulip garden',
            '--db',
            many,
            '--limit',
            String(limit),
          ])
        ).results.map((r) => [r.id, r.score]),
      );
    const [s5, s30, s100] = [await scores(5), await scores(30), await scores(100)];
    expect(s30.size).toBe(30);
    expect(s100.size).toBeGreaterThan(30);
    for (const [id, score] of s5) expect(s30.get(id)).toBe(score);
    for (const [id, score] of s30) expect(s100.get(id)).toBe(score);
    const over = await runCli(['search', 'garden', '--db', many, '--limit', '101']);
    expect(over.code).toBe(2);
    expect(over.stderr).toMatch(/--limit must be a whole number from 1 to 100/);
  });
});
