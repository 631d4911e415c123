import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..', '..');

/**
 * Tests that run `dist/` in a child process (workers, the CLI, a second
 * reader) would otherwise test whatever build happens to be on the disk.
 * This throws, naming the first file at fault, when any `src/` file is
 * newer than its compiled `dist/` file or was never compiled. `npm test`
 * builds first (`pretest`); a targeted `npx vitest run` needs `npm run build`.
 */
export function assertDistFresh(): void {
  const stale: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) {
        const rel = relative(join(root, 'src'), path);
        const out = join(root, 'dist', rel.replace(/\.ts$/, '.js'));
        let built: number;
        try {
          built = statSync(out).mtimeMs;
        } catch {
          stale.push(`dist/${relative(join(root, 'dist'), out)} is missing`);
          continue;
        }
        if (statSync(path).mtimeMs > built)
          stale.push(`src/${rel} is newer than dist/${relative(join(root, 'dist'), out)}`);
      }
    }
  };
  walk(join(root, 'src'));
  if (stale.length > 0) {
    throw new Error(
      `dist/ is older than src/ (${stale.slice(0, 3).join('; ')}${stale.length > 3 ? `; and ${stale.length - 3} more` : ''}): this test runs dist/ in a child process, so run \`npm run build\` first (npm test does it)`,
    );
  }
}
