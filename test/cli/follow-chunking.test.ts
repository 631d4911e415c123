import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli } from './run-cli.js';

let dir: string;
const children: ChildProcess[] = [];
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vecfill-follow-chunks-'));
});
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const GUIDE = `# Guide

Intro to the guide, a few words about what follows.

## Install

${'Download the package and unpack it into a folder of your choice. '.repeat(4)}

### Linux

${'Run the installer from a terminal with the right permissions. '.repeat(4)}

## Use

${'Open the program and pick a file to work on from the menu. '.repeat(4)}
`;

/** The chunk ranges (start-end) saved for `doc`, in order; empty while it has none. */
function chunksOf(db: string, doc: string): string[] {
  if (!existsSync(db)) return [];
  const raw = new Database(db, { readonly: true });
  try {
    return (
      raw
        .prepare('SELECT start, "end" FROM vecfill_chunks WHERE doc = ? ORDER BY chunk_index')
        .all(doc) as { start: number; end: number }[]
    ).map((c) => `${c.start}-${c.end}`);
  } catch {
    return [];
  } finally {
    raw.close();
  }
}

async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('watch honours the chunk settings (issue 17 #4)', () => {
  it('a file added while watching is cut with --split markdown --max-chars, exactly as index cuts it', async () => {
    const chunking = ['--split', 'markdown', '--max-chars', '200', '--overlap', '20'];
    // What `index` makes of the guide with these settings.
    const ref = join(dir, 'ref');
    mkdirSync(ref);
    writeFileSync(join(ref, 'guide.md'), GUIDE);
    const refDb = join(dir, 'ref.db');
    expect((await runCli(['index', ref, '--db', refDb, ...chunking])).code).toBe(0);
    const expected = chunksOf(refDb, 'guide.md');
    expect(expected.length).toBeGreaterThan(3);

    const notes = join(dir, 'watched');
    mkdirSync(notes);
    writeFileSync(join(notes, 'first.md'), '# First\nsomething short');
    const db = join(dir, 'watched.db');
    const child = startCli(['watch', notes, '--db', db, '--debounce', '50', ...chunking]);
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    await until(() => chunksOf(db, 'first.md').length > 0, 30_000, `the first fill (${stderr})`);
    writeFileSync(join(notes, 'guide.md'), GUIDE);
    await until(() => chunksOf(db, 'guide.md').length > 0, 30_000, `the new file (${stderr})`);
    expect(chunksOf(db, 'guide.md')).toEqual(expected);
    child.kill('SIGTERM');
    await new Promise((r) => child.once('close', r));
  }, 90_000);
});
