import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { wordVectors } from '../../src/encoders/index.js';
import { loadWordTable } from '../../src/encoders/word-vectors-cache.js';

/** The cache shared by the suite (converted once per machine). */
const shared = process.env.VECFILL_CACHE_DIR ?? join(tmpdir(), 'vecfill-test-cache');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A private copy of the good cache, damaged by `damage`; returns its folder. */
function damagedCopy(damage: (bytes: Buffer) => void): string {
  const good = loadWordTable({ cacheDir: shared }).cachePath;
  const dir = mkdtempSync(join(tmpdir(), 'vecfill-wv-'));
  dirs.push(dir);
  const copy = join(dir, basename(good));
  copyFileSync(good, copy);
  const bytes = readFileSync(copy);
  damage(bytes);
  writeFileSync(copy, bytes);
  return dir;
}

/** Where the float vectors start: the last count × 100 × 4 bytes before the 32-byte checksum. */
function vectorsStart(bytes: Buffer): number {
  const count = loadWordTable({ cacheDir: shared }).table.count;
  return bytes.length - 32 - count * 100 * 4;
}

class RebuildStarted extends Error {}

/** True when loading from `dir` refuses the cache and starts converting the package again. */
function rebuildStarts(dir: string): boolean {
  try {
    loadWordTable({
      cacheDir: dir,
      onProgress: (p) => {
        if (p.phase === 'parse') throw new RebuildStarted();
      },
    });
    return false;
  } catch (e) {
    if (e instanceof RebuildStarted) return true;
    throw e;
  }
}

describe('the word-vector cache is checksummed', () => {
  it('rebuilds a cache with one flipped byte, and the rebuilt one loads clean', async () => {
    const dir = damagedCopy((b) => {
      b[vectorsStart(b) + 4 * 100 * 5 + 1]! ^= 0x10;
    });
    const loaded = loadWordTable({ cacheDir: dir });
    expect(loaded.converted).toBe(true);
    expect(loadWordTable({ cacheDir: dir }).converted).toBe(false);
    const enc = await wordVectors({ cacheDir: dir });
    const [v] = await enc.encode(['the quick brown fox'], {});
    expect(Array.from(v!).every(Number.isFinite)).toBe(true);
  });

  it('refuses a cache with 64 KiB zeroed', () => {
    const dir = damagedCopy((b) => {
      b.fill(0, vectorsStart(b) + 1_000_000, vectorsStart(b) + 1_000_000 + 65_536);
    });
    expect(rebuildStarts(dir)).toBe(true);
  });

  it('refuses a cache with a NaN written into a vector', () => {
    const dir = damagedCopy((b) => {
      b.writeFloatLE(Number.NaN, vectorsStart(b) + 4 * 100 * 3);
    });
    expect(rebuildStarts(dir)).toBe(true);
  });
});
