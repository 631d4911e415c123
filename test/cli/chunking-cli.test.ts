import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { splitMarkdown } from '../../src/cli/markdown-split.js';
import { tempDir } from './helpers.js';
import { runCli, runJson } from './run-cli.js';

const dir = tempDir('vecfill-chunking-');

const GUIDE = `# Guide

Welcome to the tool.

## Install

### Linux

${'Run the package manager with the right flags and wait. '.repeat(8)}

### Windows

Download the installer and double-click it.

\`\`\`sh
# not a heading
\`\`\`
`;

interface Status {
  generations: { generation: string; state: string; fingerprint: string }[];
}

describe('chunking from the CLI (issue 17 #4)', () => {
  it('the heading path is embedded, not stored, and keeps sections apart', () => {
    const chunks = splitMarkdown(GUIDE, { maxChars: 300 });
    const linux = chunks.filter((c) => c.text.startsWith('Guide › Install › Linux\n\n'));
    expect(linux.length).toBeGreaterThan(1);
    for (const c of chunks) {
      expect(GUIDE.slice(c.start, c.end)).not.toContain('›');
      expect(c.text.endsWith(GUIDE.slice(c.start, c.end).trim().slice(-10))).toBe(true);
    }
    const win = chunks.find((c) => c.text.includes('installer'))!;
    expect(win.text).toMatch(/^Guide › Install › Windows\n\n/);
    expect(win.text).toContain('# not a heading');
  });

  it('--split markdown --max-chars --overlap are saved with the generation and change its fingerprint; fill refuses them, migrate takes them', async () => {
    const notes = join(dir, 'notes');
    mkdirSync(notes);
    writeFileSync(join(notes, 'guide.md'), GUIDE);
    writeFileSync(join(notes, 'other.md'), '# Other\n\nBread and butter.');
    const db = join(dir, 'c.db');
    const r = await runCli([
      'index',
      notes,
      '--db',
      db,
      '--split',
      'markdown',
      '--max-chars',
      '300',
      '--overlap',
      '20',
    ]);
    expect(r.code).toBe(0);
    const cfg = await runJson<{ generations: Record<string, { chunking?: object }> }>([
      'config',
      '--db',
      db,
    ]);
    expect(Object.values(cfg.generations)[0]!.chunking).toEqual({
      maxChars: 300,
      overlap: 20,
      split: 'markdown',
    });
    const raw = new Database(db, { readonly: true });
    const n = raw
      .prepare("SELECT count(*) FROM vecfill_chunks WHERE doc = 'guide.md'")
      .pluck()
      .get() as number;
    raw.close();
    expect(n).toBeGreaterThan(3);
    const s = await runJson<{ results: { id: string; passage: string }[] }>([
      'search',
      'Linux install',
      '--db',
      db,
      '--no-hybrid',
    ]);
    expect(s.results[0]!.id).toBe('guide.md');
    expect(s.results[0]!.passage).not.toContain('›');

    const refused = await runCli(['fill', '--db', db, '--max-chars', '500']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/migrate/);
    const mig = await runCli(['migrate', '--db', db, '--max-chars', '500']);
    expect(mig.code).toBe(0);
    const st = await runJson<Status>(['status', '--db', db]);
    expect(st.generations).toHaveLength(2);
    expect(st.generations[0]!.fingerprint).not.toBe(st.generations[1]!.fingerprint);
    const bad = await runCli(['migrate', '--db', db, '--overlap', 'x']);
    expect(bad.code).toBe(2);
  }, 120_000);
});
