import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';
import { runCli } from './run-cli.js';

const dir = tempDir('vecfill-folder-');

function rows(db: string): { path: string; title: string; content: string }[] {
  const raw = new Database(db, { readonly: true });
  try {
    return raw.prepare('SELECT path, title, content FROM documents ORDER BY path').all() as {
      path: string;
      title: string;
      content: string;
    }[];
  } finally {
    raw.close();
  }
}

describe('what index leaves out, and symlinks (issue 17 #3)', () => {
  it('prints one summary line of what the rules left out and why; --verbose lists each entry', async () => {
    const notes = join(dir, 'summary');
    mkdirSync(join(notes, 'node_modules', 'pkg'), { recursive: true });
    mkdirSync(join(notes, '.git'));
    writeFileSync(join(notes, 'a.md'), '# A\nthe tide and the moon');
    writeFileSync(join(notes, 'data.json'), '{}');
    writeFileSync(join(notes, 'b.json'), '{}');
    writeFileSync(join(notes, 'script.py'), 'print(1)');
    writeFileSync(join(notes, 'node_modules', 'pkg', 'README.md'), '# pkg');
    const db = join(dir, 'summary.db');
    const r = await runCli(['index', notes, '--db', db, '--no-fill']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /left out 3 files of other types \(\.json 2, \.py 1; --include takes them\), 2 excluded entries \((node_modules, \.git|\.git, node_modules)\); --verbose lists them/,
    );
    expect(r.stderr).not.toMatch(/data\.json/);

    const v = await runCli(['index', notes, '--db', db, '--no-fill', '--verbose']);
    expect(v.code).toBe(0);
    expect(v.stderr).toMatch(/left out data\.json: other type/);
    expect(v.stderr).toMatch(/left out script\.py: other type/);
    expect(v.stderr).toMatch(/left out node_modules: excluded/);
    expect(v.stdout).not.toMatch(/--verbose lists them/);

    const j = await runCli(['index', notes, '--db', db, '--no-fill', '--json']);
    const out = JSON.parse(j.stdout) as { index: { leftOut: Record<string, unknown> } };
    expect(out.index.leftOut).toEqual({
      otherTypes: { '.json': 2, '.py': 1 },
      excluded: 2,
      symlinksOutside: 0,
      symlinkLoops: 0,
      pdfsUnread: 0,
    });
    const jv = await runCli(['index', notes, '--db', db, '--no-fill', '--json', '--verbose']);
    const outv = JSON.parse(jv.stdout) as { index: { leftOut: { entries: unknown[] } } };
    expect(outv.index.leftOut.entries).toContainEqual({ path: 'b.json', reason: 'other type' });

    // Nothing left out: no summary line.
    const clean = join(dir, 'clean');
    mkdirSync(clean);
    writeFileSync(join(clean, 'a.md'), '# A');
    const c = await runCli(['index', clean, '--db', join(dir, 'clean.db'), '--no-fill']);
    expect(c.stdout).not.toMatch(/left out/);
  }, 60_000);

  it('follows symlinks that stay inside the folder, never one leading outside, and survives loops', async () => {
    const root = join(dir, 'links');
    const outside = join(dir, 'outside');
    mkdirSync(join(root, 'real', 'deep'), { recursive: true });
    mkdirSync(outside);
    writeFileSync(join(outside, 'secret.md'), '# Secret\nnot for this index');
    writeFileSync(join(root, 'real', 'deep', 'note.md'), '# Note\nunder a linked folder');
    writeFileSync(join(root, 'real', 'file.md'), '# File\nlinked file target');
    symlinkSync(join(root, 'real'), join(root, 'alias')); // folder inside: followed
    symlinkSync(join(root, 'real', 'file.md'), join(root, 'shortcut.md')); // file inside: followed
    symlinkSync(outside, join(root, 'away')); // folder outside: never
    symlinkSync(join(outside, 'secret.md'), join(root, 'secret.md')); // file outside: never
    symlinkSync('..', join(root, 'real', 'deep', 'up')); // a loop back to real/
    symlinkSync(root, join(root, 'real', 'top')); // a loop back to the root
    const db = join(dir, 'links.db');
    const r = await runCli(['index', root, '--db', db, '--verbose']);
    expect(r.code).toBe(0);
    const paths = rows(db).map((x) => x.path);
    expect(paths).toContain('shortcut.md');
    expect(paths).toContain('alias/deep/note.md');
    expect(paths).toContain('real/deep/note.md');
    expect(paths.some((p) => p.includes('secret') || p.startsWith('away'))).toBe(false);
    expect(paths.length).toBeLessThan(10);
    expect(r.stdout).toMatch(/2 symlinks leading outside the folder \(never followed\)/);
    expect(r.stdout).toMatch(/symlink loops \(not followed again\)/);
    expect(r.stderr).toMatch(/left out away: symlink outside the folder/);
    expect(r.stderr).toMatch(/left out secret\.md: symlink outside the folder/);
    const hits = await runCli(['search', 'linked folder', '--db', db, '--json']);
    expect(hits.code).toBe(0);
    expect(hits.stdout).not.toMatch(/secret/);
  }, 60_000);
});

describe('HTML files (issue 17 #3)', () => {
  it('are read through an HTML parser: text only, title from <title> or <h1>, headings kept', async () => {
    const root = join(dir, 'html');
    mkdirSync(root);
    writeFileSync(
      join(root, 'page.html'),
      `<!doctype html><html><head><title>Tide tables</title><style>p { color: red }</style>
       <script>var zebrafish = "hidden";</script></head>
       <body><h1>Tides</h1><p>High water &amp; low water at <b>Brest</b>.</p>
       <h2>Springs</h2><p>Spring tides follow the full moon<!-- a comment --></p></body></html>`,
    );
    writeFileSync(join(root, 'bare.htm'), '<p>no title here<h1>Only heading</h1><p>text');
    // Older pages in Latin-1: declared in a <meta>, or not declared at all
    // (read as browsers do, Windows-1252).
    writeFileSync(
      join(root, 'declared.html'),
      Buffer.from(
        '<html><head><meta charset="iso-8859-1"><title>Caf\xe9</title></head><body><p>cr\xe8me br\xfbl\xe9e</p></body></html>',
        'latin1',
      ),
    );
    writeFileSync(
      join(root, 'legacy.html'),
      Buffer.from(
        '<html><body><h1>Men\xfc</h1><p>\x93quoted\x94 caf\xe9</p></body></html>',
        'latin1',
      ),
    );
    const db = join(dir, 'html.db');
    const r = await runCli(['index', root, '--db', db]);
    expect(r.code).toBe(0);
    const [bare, declared, legacy, page] = rows(db);
    expect(declared!.title).toBe('Café');
    expect(declared!.content).toContain('crème brûlée');
    expect(legacy!.title).toBe('Menü');
    expect(legacy!.content).toContain('“quoted” café');
    expect(page!.title).toBe('Tide tables');
    expect(page!.content).toContain('High water & low water at Brest.');
    expect(page!.content).toContain('## Springs');
    expect(page!.content).not.toMatch(/zebrafish|color|<p>|comment/);
    expect(bare!.title).toBe('Only heading');
    const tides = await runCli(['search', 'Brest', '--db', db, '--json']);
    expect(tides.stdout).toMatch(/page\.html/);
  }, 60_000);
});
