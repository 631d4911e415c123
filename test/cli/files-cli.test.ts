import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';
import { runCli } from './run-cli.js';

const dir = tempDir('vecfill-files-');

describe('files as a new user has them (issue 17 #3)', () => {
  it('binary and Latin-1 files are skipped with a reason; UTF-16 and BOM files are read; --max-bytes', async () => {
    const notes = join(dir, 'notes');
    mkdirSync(notes);
    const random = randomBytes(800);
    random[10] = 0;
    writeFileSync(join(notes, 'random.md'), random);
    writeFileSync(
      join(notes, 'latin1.md'),
      Buffer.from('# Menu\ncaf\xe9 cr\xe8me br\xfbl\xe9e\n', 'latin1'),
    );
    writeFileSync(
      join(notes, 'utf16.md'),
      Buffer.concat([
        Buffer.from([0xff, 0xfe]),
        Buffer.from('# Hello\nhello from utf-16 text', 'utf16le'),
      ]),
    );
    writeFileSync(
      join(notes, 'bom.md'),
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('# Titled\nbody text here')]),
    );
    writeFileSync(join(notes, 'big.md'), `# Big\n${'word '.repeat(400)}`);
    const db = join(dir, 'f.db');
    const r = await runCli(['index', notes, '--db', db, '--max-bytes', '1000', '--no-fill']);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/random\.md: binary file/);
    expect(r.stderr).toMatch(/latin1\.md: not valid UTF-8/);
    expect(r.stderr).toMatch(/big\.md: larger than 1000 bytes/);
    const raw = new Database(db, { readonly: true });
    const rows = raw.prepare('SELECT path, title, content FROM documents ORDER BY path').all() as {
      path: string;
      title: string;
      content: string;
    }[];
    raw.close();
    expect(rows.map((x) => x.path)).toEqual(['bom.md', 'utf16.md']);
    expect(rows[0]!.title).toBe('Titled');
    expect(rows[1]!.content).toContain('hello from utf-16 text');
    expect(rows[1]!.title).toBe('Hello');
    const bad = await runCli(['index', notes, '--db', db, '--max-bytes', 'x']);
    expect(bad.code).toBe(2);
    const help = await runCli(['index', '--help']);
    expect(help.stdout).toMatch(/node_modules/);
    expect(help.stdout).toMatch(/\*\*\/\*\.markdown/);
  }, 60_000);
});

describe('a moved folder (issue 17 #10)', () => {
  it('index <new place> --moved re-roots the database and embeds nothing unchanged', async () => {
    const { renameSync } = await import('node:fs');
    const a = join(dir, 'mv1');
    mkdirSync(a);
    writeFileSync(join(a, 'one.md'), '# One\nthe tide and the moon');
    writeFileSync(join(a, 'two.md'), '# Two\nbread and butter');
    const db = join(dir, 'mv.db');
    expect((await runCli(['index', a, '--db', db])).code).toBe(0);
    const b = join(dir, 'mv2');
    renameSync(a, b);
    const refused = await runCli(['index', b, '--db', db]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--moved');
    const moved = await runCli(['index', b, '--db', db, '--moved', '--json']);
    expect(moved.code).toBe(0);
    const out = JSON.parse(moved.stdout) as {
      index: { added: number; unchanged: number; removed: number };
      fill: { documents: number }[];
    };
    expect(out.index).toMatchObject({ added: 0, unchanged: 2, removed: 0 });
    expect(out.fill.every((f) => f.documents === 0)).toBe(true);
    expect((await runCli(['index', b, '--db', db])).code).toBe(0);
  }, 60_000);
});
