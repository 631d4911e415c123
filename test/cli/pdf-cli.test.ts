import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyPdf } from '../support/tiny-pdf.js';
import { runCli } from './run-cli.js';

let dir: string;
let notes: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vecfill-pdf-'));
  notes = join(dir, 'notes');
  mkdirSync(notes);
  writeFileSync(
    join(notes, 'tides.pdf'),
    tinyPdf(
      [['Tide tables for Brest', 'High water at noon'], ['Spring tides follow the full moon']],
      'Tides of Brest',
    ),
  );
  writeFileSync(join(notes, 'scan.pdf'), tinyPdf([[]], 'A scan'));
  writeFileSync(join(notes, 'broken.pdf'), 'this is not a PDF at all, only text in a .pdf file');
  writeFileSync(join(notes, 'note.md'), '# Note\nbread and butter');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('PDF files (issue 17 #3)', () => {
  it('are read through pdfjs-dist: the text layer, the title from the metadata; a scan or a broken file is skipped with why', async () => {
    const db = join(dir, 'pdf.db');
    const r = await runCli(['index', notes, '--db', db]);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/skipped scan\.pdf: PDF without a text layer/);
    expect(r.stderr).toMatch(/skipped broken\.pdf: not a readable PDF/);
    const raw = new Database(db, { readonly: true });
    const row = raw
      .prepare("SELECT title, content FROM documents WHERE path = 'tides.pdf'")
      .get() as { title: string; content: string };
    raw.close();
    expect(row.title).toBe('Tides of Brest');
    expect(row.content).toMatch(/Tide tables for Brest\s+High water at noon/);
    expect(row.content).toContain('Spring tides follow the full moon');
    // pdfjs-dist prints nothing of its own: --json stays one JSON document.
    const again = await runCli(['index', notes, '--db', db, '--json']);
    expect(JSON.parse(again.stdout).index.unchanged).toBe(2);
    const hits = await runCli(['search', 'Brest', '--db', db, '--json', '--limit', '1']);
    expect(hits.stdout).toMatch(/tides\.pdf/);
  }, 60_000);

  it('without the optional package, PDFs are left out with a clear message and the rest is indexed', async () => {
    // The CLI as installed without pdfjs-dist: its dist and every package but that one.
    const app = join(dir, 'app');
    const root = join(import.meta.dirname, '..', '..');
    cpSync(join(root, 'dist'), join(app, 'dist'), { recursive: true });
    cpSync(join(root, 'bin'), join(app, 'bin'), { recursive: true });
    cpSync(join(root, 'package.json'), join(app, 'package.json'));
    mkdirSync(join(app, 'node_modules'));
    for (const name of readdirSync(join(root, 'node_modules')))
      if (name !== 'pdfjs-dist')
        symlinkSync(join(root, 'node_modules', name), join(app, 'node_modules', name));
    const db = join(dir, 'nopdf.db');
    const r = await runCli(['index', notes, '--db', db, '--verbose'], {
      bin: join(app, 'bin', 'vecfill.js'),
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/indexed 1 files/);
    expect(r.stdout).toMatch(
      /3 PDF files \(reading PDFs needs the optional package pdfjs-dist: npm install pdfjs-dist\)/,
    );
    expect(r.stderr).toMatch(/left out tides\.pdf: no PDF reader/);
  }, 60_000);
});
