import { unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { DEMO_QUERIES } from '../../src/cli/commands/demo.js';
import { statusOf, tableFlags, tempDir, writeFolder } from './helpers.js';
import { runCli, runJson, startCli } from './run-cli.js';

const dir = tempDir('vecfill-cli-');

interface SearchOut {
  results: {
    id: string;
    score: number;
    passage: string;
    chunk: { start?: number; end?: number };
  }[];
}
interface IndexOut {
  index: { added: number; changed: number; unchanged: number; removed: number };
  fill: { documents: number; generation: string }[];
}

/** The id of the best search result for `query` in database `db`. */
async function topHit(db: string, query: string): Promise<string | undefined> {
  const s = await runJson<SearchOut>(['search', query, '--db', db, '--limit', '2']);
  return s.results[0]?.id;
}

/** Four notes (one in a subfolder, one .txt) and a file index leaves out. */
const NOTES = {
  'tides.md': '# Tides\n\nTides rise and fall twice a day, pulled by the gravity of the moon.\n',
  'bread.md': '# Bread\n\nKnead the dough and let it rise in a warm kitchen before baking.\n',
  'sub/chess.txt': 'The opening gambit sacrifices a pawn for rapid development of the pieces.',
  'sub/guitar.md': 'Three chords are enough to play many folk songs on the guitar.',
  'ignored.js': 'console.log("not a note")',
};

/** The notes in a folder `<name>` and the path of a database `<db>` beside it (not yet indexed). */
function notesFolder(name: string, db = `${name}.db`): { folder: string; db: string } {
  return { folder: writeFolder(join(dir, name), NOTES), db: join(dir, db) };
}

/** The notes in a folder `<name>`, indexed into `<db>` with the offline encoder. */
async function indexedFolder(name: string, db?: string): Promise<{ folder: string; db: string }> {
  const out = notesFolder(name, db);
  await runJson<IndexOut>(['index', out.folder, '--db', out.db]);
  return out;
}

describe('vecfill demo', () => {
  it('builds the demo database offline and finds the expected documents', async () => {
    const db = join(dir, 'demo.db');
    const out = await runJson<{
      searches: { query: string; results: { id: string }[] }[];
      fill: { documents: number }[];
    }>(['demo', '--db', db]);
    expect(out.fill[0]!.documents).toBeGreaterThan(200);
    for (const { query, expect: folder } of DEMO_QUERIES) {
      const s = out.searches.find((x) => x.query === query)!;
      expect(s.results[0]!.id.startsWith(folder), `${query} -> ${s.results[0]!.id}`).toBe(true);
    }
    const text = await runCli(['demo', '--db', db]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('search: "which way does a comet\'s tail point"');
    expect(text.stdout).toMatch(/astronomy\/.*\((similarity [0-9.]+|full-text match)/);
    expect(text.stdout).toContain('«comet»');
  });
});

describe('vecfill index', () => {
  it('re-embeds exactly the edited file, and forgets a deleted file', async () => {
    const { folder, db } = notesFolder('notes');
    const first = await runJson<IndexOut>(['index', folder, '--db', db]);
    expect(first.index).toMatchObject({ added: 4, changed: 0, removed: 0 });
    expect(first.fill[0]!.documents).toBe(4);

    writeFileSync(
      join(folder, 'bread.md'),
      '# Bread\n\nSourdough needs a lively starter and a long cold proof.\n',
    );
    const second = await runJson<IndexOut>(['index', folder, '--db', db]);
    expect(second.index).toMatchObject({ added: 0, changed: 1, unchanged: 3, removed: 0 });
    expect(second.fill[0]!.documents).toBe(1);

    const found = await runJson<SearchOut>([
      'search',
      'sourdough starter proof',
      '--db',
      db,
      '--limit',
      '1',
    ]);
    expect(found.results[0]!.id).toBe('bread.md');

    unlinkSync(join(folder, 'tides.md'));
    const third = await runJson<IndexOut>(['index', folder, '--db', db]);
    expect(third.index).toMatchObject({ removed: 1, changed: 0, added: 0 });
    expect(third.fill[0]!.documents).toBe(0);
    const after = await runJson<SearchOut>(['search', 'moon gravity tides', '--db', db]);
    expect(after.results.map((r) => r.id)).not.toContain('tides.md');
    expect(after.results).toHaveLength(3);
  });

  it('honours --include and --exclude globs', async () => {
    const { folder, db } = notesFolder('globbed');
    const out = await runJson<IndexOut>([
      'index',
      folder,
      '--db',
      db,
      '--include',
      '**/*.md',
      '--exclude',
      'sub/**',
    ]);
    expect(out.index.added).toBe(2);
  });
});

describe('vecfill fill and search on any table', () => {
  it('saves the table settings on the first fill so later commands need no flags', async () => {
    const db = join(dir, 'app.db');
    const raw = new Database(db);
    raw.exec(
      'CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, updated_at INTEGER, lang TEXT)',
    );
    const ins = raw.prepare('INSERT INTO notes (body, updated_at, lang) VALUES (?, 1, ?)');
    ins.run('The orchestra tuned before the symphony began.', 'en');
    ins.run('Les marées montent deux fois par jour.', 'fr');
    ins.run('Compound interest grows savings over decades.', 'en');
    ins.run('   ', 'en');
    raw.close();
    const first = await runJson<{ generations: { documents: number; skipped: number }[] }>([
      'fill',
      '--db',
      db,
      ...tableFlags(),
      '--revision',
      'updated_at',
    ]);
    expect(first.generations[0]).toMatchObject({ documents: 4, skipped: 1 });
    const again = await runJson<{ generations: { documents: number }[] }>(['fill', '--db', db]);
    expect(again.generations[0]!.documents).toBe(0);
    const hits = await runJson<SearchOut>([
      'search',
      'symphony orchestra',
      '--db',
      db,
      '--limit',
      '2',
    ]);
    expect(hits.results[0]!.id).toBe(1);
    const filtered = await runJson<SearchOut>([
      'search',
      'orchestra',
      '--db',
      db,
      '--where',
      "d.lang = 'fr'",
    ]);
    expect(filtered.results.map((r) => r.id)).toEqual([2]);
    const hybrid = await runJson<SearchOut>([
      'search',
      'compound interest',
      '--db',
      db,
      '--hybrid',
      '--limit',
      '1',
    ]);
    expect(hybrid.results[0]!.id).toBe(3);
  });
});

describe('vecfill migrate', () => {
  it('keeps search answering throughout a migration and ends with one active generation', async () => {
    const { db } = await indexedFolder('migrate-notes', 'migrate.db');
    const before = await statusOf(db);
    expect(before.generations.map((g) => g.state)).toEqual(['active']);
    // How searches scan it, and the memory that takes: int8 codes, a byte a dimension and more.
    const [only] = before.generations;
    expect(only).toMatchObject({ scan: 'int8' });
    expect(only!.residentBytes).toBeGreaterThan(only!.chunks * 100);
    const text = await runCli(['status', '--db', db]);
    expect(text.stdout).toMatch(/SCAN[\s\S]*int8 in memory \(/);

    // Search in a loop while the migration runs in another process.
    const migrate = startCli([
      'migrate',
      '--db',
      db,
      '--weighting',
      'mean',
      '--generation',
      'words-mean',
    ]);
    const migrated = new Promise<number | null>((r) => migrate.on('close', r));
    let searches = 0;
    let running = true;
    void migrated.then(() => {
      running = false;
    });
    while (running || searches < 2) {
      expect(await topHit(db, 'guitar chords folk songs')).toBe('sub/guitar.md');
      searches++;
    }
    expect(await migrated).toBe(0);

    const mid = await statusOf(db);
    expect(mid.generations.find((g) => g.generation === 'words-mean')).toMatchObject({
      state: 'building',
      backlog: 0,
    });
    await runJson(['activate', '--db', db]);
    const after = await statusOf(db);
    expect(after.generations.filter((g) => g.state === 'active').map((g) => g.generation)).toEqual([
      'words-mean',
    ]);
    expect(after.generations.filter((g) => g.state === 'retired')).toHaveLength(1);
    const s = await runJson<SearchOut>(['search', 'tides moon', '--db', db, '--limit', '1']);
    expect(s.results[0]!.id).toBe('tides.md');
    const retired = after.generations.find((g) => g.state === 'retired')!.generation;
    await runJson(['reclaim', retired, '--db', db]);
    const last = await statusOf(db);
    expect(last.generations.find((g) => g.generation === retired)!.state).toBe('reclaimed');
    // A reclaimed generation is never filled again: status shows no backlog for it (issue 17 #9).
    expect(last.generations.find((g) => g.generation === retired)!.backlog).toBe(0);
  });

  it('migrates to a binary-quantized generation that answers like the float one', async () => {
    const { db } = await indexedFolder('quantized-notes', 'quantized.db');
    const bad = await runCli(['migrate', '--db', db, '--quantization', 'pq']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/binary, int8/);
    const zero = await runCli([
      'migrate',
      '--db',
      db,
      '--quantization',
      'binary',
      '--oversample',
      '0',
    ]);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toMatch(/--oversample must be a positive integer/);
    await runJson(['migrate', '--db', db, '--quantization', 'binary', '--activate']);
    const status = await runJson<{
      generations: { state: string; index: string; indexBytes: number }[];
    }>(['status', '--db', db]);
    const active = status.generations.find((g) => g.state === 'active')!;
    expect(active.index).toBe('binary x40');
    expect(active.indexBytes).toBeGreaterThan(0);
    expect(await topHit(db, 'guitar chords folk songs')).toBe('sub/guitar.md');
    // The table already has a generation: fill does not re-index it behind the user's back.
    const refill = await runCli(['fill', '--db', db, '--quantization', 'int8']);
    expect(refill.code).toBe(2);
    expect(refill.stderr).toMatch(/vecfill migrate --quantization/);
  });

  it('refuses to activate a generation with a backlog (exit 4) and says what to do', async () => {
    const { db } = await indexedFolder('backlog-notes', 'backlog.db');
    await runJson([
      'migrate',
      '--db',
      db,
      '--weighting',
      'mean',
      '--no-fill',
      '--generation',
      'next',
    ]);
    const r = await runCli(['activate', 'next', '--db', db]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/4 document\(s\) are not embedded yet.*vecfill fill/);
  });
});

describe('vecfill errors', () => {
  it('gives a clear message and a non-zero exit for bad flags and a missing database', async () => {
    const missing = await runCli(['search', 'anything', '--db', join(dir, 'nope.db')]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/no database at .*nope\.db; create one with `vecfill index/);
    const badFlag = await runCli(['search', 'x', '--bogus']);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toMatch(/unknown option '--bogus'/);
    const badLimit = await runCli(['search', 'x', '--limit', 'ten', '--db', join(dir, 'demo.db')]);
    expect(badLimit.code).toBe(2);
    expect(badLimit.stderr).toMatch(/--limit must be a whole number/);
    const notSetUp = join(dir, 'empty.db');
    new Database(notSetUp).close();
    const fillNoFlags = await runCli(['fill', '--db', notSetUp]);
    expect(fillNoFlags.code).toBe(2);
    expect(fillNoFlags.stderr).toMatch(/pass --table, --id and --content/);
    const injection = await runCli([
      'fill',
      '--db',
      notSetUp,
      ...tableFlags('x; DROP TABLE y', 'id', 'c'),
    ]);
    expect(injection.code).toBe(2);
    expect(injection.stderr).toMatch(/not a valid SQL identifier/);
    const blank = await runCli(['search', '   ', '--db', join(dir, 'demo.db')]);
    expect(blank.code).toBe(2);
    expect(blank.stderr).toMatch(/query is blank/);
    const help = await runCli(['fill', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--revision <column>/);
  });
});
