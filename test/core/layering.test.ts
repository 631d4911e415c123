import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
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

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found = [
    ...text.matchAll(
      /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g,
    ),
  ];
  return found.map((m) => (m[1] ?? m[2])!);
}

describe('layering', () => {
  it('nothing under src/core imports a database driver, an HTTP client or another layer', () => {
    const allowedNode = new Set(['node:crypto']);
    const offenders: string[] = [];
    for (const file of sources(join(root, 'core'))) {
      for (const spec of imports(file)) {
        const ok = spec.startsWith('./') ? !spec.includes('..') : allowedNode.has(spec);
        if (!ok) offenders.push(`${file.slice(root.length + 1)} imports ${spec}`);
        if (spec.startsWith('../'))
          offenders.push(`${file.slice(root.length + 1)} reaches out of core: ${spec}`);
      }
      const text = readFileSync(file, 'utf8');
      if (/\bfetch\s*\(|require\s*\(/.test(text)) offenders.push(`${file} uses fetch/require`);
    }
    expect(offenders).toEqual([]);
  });

  it('a backend never imports another backend, and encoders import no driver', () => {
    const rules: Record<string, RegExp> = {
      sqlite: /(^|\/)(postgres|encoders|cli)\/|^(pg|@electric-sql\/.*)$/,
      postgres: /(^|\/)(sqlite|encoders|cli)\/|^(better-sqlite3|sqlite-vec)$/,
      encoders: /(^|\/)(sqlite|postgres|cli)\/|^(better-sqlite3|sqlite-vec|pg|@electric-sql\/.*)$/,
      langchain:
        /(^|\/)(sqlite|postgres|cli|encoders)\/|^(better-sqlite3|sqlite-vec|pg|@electric-sql\/.*)$/,
    };
    const offenders: string[] = [];
    for (const [layer, forbidden] of Object.entries(rules)) {
      let files: string[] = [];
      try {
        files = sources(join(root, layer));
      } catch {
        continue;
      }
      for (const file of files) {
        for (const spec of imports(file))
          if (forbidden.test(spec)) offenders.push(`${layer}: ${file} imports ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('the layering check itself catches a forbidden import', () => {
    expect(imports(join(root, 'core', 'fill.ts')).length).toBeGreaterThan(0);
    const fake = "import Database from 'better-sqlite3';\nexport { x } from '../sqlite/index.js';";
    const specs = [...fake.matchAll(/(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]/g)].map(
      (m) => m[1],
    );
    expect(specs).toEqual(['better-sqlite3', '../sqlite/index.js']);
  });
});
