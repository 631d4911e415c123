import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..', 'src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sources(join(dir, e.name))
      : e.name.endsWith('.ts')
        ? [join(dir, e.name)]
        : [],
  );
}

/**
 * Every module a source text loads, found by TypeScript's own scanner, not a
 * regular expression: `import x from`, `import type`, side-effect imports
 * (`import 'pg'`), `export … from`, `import()`, `require()` and
 * `import x = require()`.
 */
function imports(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
}

const allowedNode = new Set(['node:crypto']);

/** What is wrong with one file of src/core: every import that leaves the core or loads a driver. */
function coreOffenders(name: string, text: string): string[] {
  const offenders: string[] = [];
  for (const spec of imports(text)) {
    const ok = spec.startsWith('./') ? !spec.includes('..') : allowedNode.has(spec);
    if (!ok) offenders.push(`${name} imports ${spec}`);
  }
  if (/\bfetch\s*\(|\brequire\s*\(/.test(text)) offenders.push(`${name} uses fetch/require`);
  return offenders;
}

const rules: Record<string, RegExp> = {
  sqlite: /(^|\/)(postgres|encoders|cli)\/|^(pg|@electric-sql\/.*)$/,
  postgres: /(^|\/)(sqlite|encoders|cli)\/|^(better-sqlite3|sqlite-vec)$/,
  encoders: /(^|\/)(sqlite|postgres|cli)\/|^(better-sqlite3|sqlite-vec|pg|@electric-sql\/.*)$/,
  langchain:
    /(^|\/)(sqlite|postgres|cli|encoders)\/|^(better-sqlite3|sqlite-vec|pg|@electric-sql\/.*)$/,
  // The shared SQL layer: text and decisions only, for both backends, so it
  // loads neither backend nor any driver (only the core).
  sql: /(^|\/)(sqlite|postgres|encoders|cli|langchain)\/|^[^.]/,
};

/** Whether a module specifier of a file in src/<layer>/… reaches the shared SQL layer src/sql. */
function reachesSql(spec: string): boolean {
  return /^(\.\.\/)+sql\//.test(spec);
}

function layerOffenders(layer: string, name: string, text: string): string[] {
  return imports(text)
    .filter((spec) => rules[layer]!.test(spec))
    .map((spec) => `${layer}: ${name} imports ${spec}`);
}

describe('layering', () => {
  it('nothing under src/core imports a database driver, an HTTP client or another layer', () => {
    const offenders = sources(join(root, 'core')).flatMap((file) =>
      coreOffenders(file.slice(root.length + 1), readFileSync(file, 'utf8')),
    );
    expect(offenders).toEqual([]);
  });

  it('a backend never imports another backend, and encoders import no driver', () => {
    const offenders: string[] = [];
    for (const layer of Object.keys(rules)) {
      for (const file of sources(join(root, layer)))
        offenders.push(...layerOffenders(layer, file, readFileSync(file, 'utf8')));
    }
    expect(offenders).toEqual([]);
  });

  it('both SQL backends build their SQL with the shared layer src/sql, and never import each other', () => {
    for (const backend of ['sqlite', 'postgres']) {
      const files = sources(join(root, backend));
      const users = files.filter((f) => imports(readFileSync(f, 'utf8')).some(reachesSql));
      expect(users.length, `${backend} imports src/sql`).toBeGreaterThan(0);
    }
    // The "never each other" half is the rules above; pin that they say it.
    expect(layerOffenders('sqlite', 'x.ts', "import '../postgres/pg-store.js';")).toHaveLength(1);
    expect(layerOffenders('postgres', 'x.ts', "import '../sqlite/sqlite-store.js';")).toHaveLength(
      1,
    );
    expect(layerOffenders('sql', 'x.ts', "import '../sqlite/sqlite-store.js';")).toHaveLength(1);
    expect(layerOffenders('sql', 'x.ts', "import Database from 'better-sqlite3';")).toHaveLength(1);
    expect(layerOffenders('sql', 'x.ts', "import '../core/index.js';\nimport './x.js';")).toEqual(
      [],
    );
    expect(reachesSql('../sql/index.js')).toBe(true);
    expect(reachesSql('../../sql/freshness.js')).toBe(true);
    expect(reachesSql('./sql/index.js')).toBe(false);
  });

  it('the layering check itself catches every form of a forbidden import', () => {
    // The real scanner and the real rules, on a file that breaks them every way.
    expect(imports(readFileSync(join(root, 'core', 'fill.ts'), 'utf8'))).toContain('./blank.js');
    const bad = [
      "import 'pg';",
      "import Database from 'better-sqlite3';",
      "import type { Pool } from 'pg-pool';",
      "export { SqliteStore } from '../sqlite/index.js';",
      "export * from './x/../../encoders/index.js';",
      "const http = await import('node:http');",
      "import cp = require('node:child_process');",
    ].join('\n');
    expect(coreOffenders('bad.ts', bad)).toEqual([
      'bad.ts imports pg',
      'bad.ts imports better-sqlite3',
      'bad.ts imports pg-pool',
      'bad.ts imports ../sqlite/index.js',
      'bad.ts imports ./x/../../encoders/index.js',
      'bad.ts imports node:http',
      'bad.ts imports node:child_process',
      'bad.ts uses fetch/require',
    ]);
    expect(
      coreOffenders('good.ts', "import { createHash } from 'node:crypto';\nimport './x.js';"),
    ).toEqual([]);
    expect(
      layerOffenders('sqlite', 'bad.ts', "import 'pg';\nimport '../postgres/pg-store.js';"),
    ).toEqual(['sqlite: bad.ts imports pg', 'sqlite: bad.ts imports ../postgres/pg-store.js']);
    expect(layerOffenders('encoders', 'bad.ts', "import 'better-sqlite3';")).toHaveLength(1);
  });
});
