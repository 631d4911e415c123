// Shared helpers of the benchmarks: seeded data, timing, percentiles.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The documents table the store benchmarks share — `docs (id, content, rev)`,
 * vectors under the prefix `vf` — without full text (a row that measures
 * hybrid search turns it on).
 */
export const SCHEMA = {
  docsTable: 'docs',
  idColumn: 'id',
  contentColumn: 'content',
  revisionColumn: 'rev',
  vectorsPrefix: 'vf',
  fullText: false,
};

/** Saves rows [from, n) of `flat` as documents 1…n (one chunk each, revision 1), 5,000 a `saveMany`. */
export function saveAll(store, gen, flat, n, dims, from = 0) {
  for (let k = from; k < n; k += 5000) {
    const items = [];
    for (let i = k; i < Math.min(n, k + 5000); i++) {
      const vector = flat.subarray(i * dims, (i + 1) * dims);
      items.push({
        doc: i + 1,
        revision: 1,
        vectors: [{ chunkIndex: 0, start: 0, end: 1, vector }],
      });
    }
    store.saveMany(gen, items);
  }
}

/** The `k` rows of `flat` (0-based) with the largest dot product with `q`, best first. */
export function exactTop(flat, n, dims, q, k = 10) {
  const scores = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    const o = i * dims;
    for (let j = 0; j < dims; j++) s += flat[o + j] * q[j];
    scores[i] = s;
  }
  return [...scores.keys()].sort((a, b) => scores[b] - scores[a]).slice(0, k);
}

/** A seeded PRNG (LCG): the same data every run. */
export function rng(seed) {
  let x = seed >>> 0;
  return () => {
    x = (x * 1664525 + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

function gaussian(random) {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

function normalize(v) {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n) || 1;
  for (let i = 0; i < v.length; i++) v[i] /= n;
  return v;
}

/** `n` uniform random unit vectors: the worst case for quantization. */
export function randomUnitVectors(n, dims, random) {
  const out = new Array(n);
  for (let i = 0; i < n; i++) {
    const v = new Float32Array(dims);
    for (let j = 0; j < dims; j++) v[j] = gaussian(random);
    out[i] = normalize(v);
  }
  return out;
}

/**
 * `n` unit vectors from a mixture of `clusters` Gaussian clusters, flattened.
 * Pass `pick` to draw points from the same centers with another stream.
 */
export function clusteredVectors(n, dims, clusters, random, spread = 0.05, pick = random) {
  const centers = randomUnitVectors(clusters, dims, random);
  const flat = new Float32Array(n * dims);
  for (let i = 0; i < n; i++) {
    const c = centers[Math.floor(pick() * clusters)];
    const v = new Float32Array(dims);
    for (let j = 0; j < dims; j++) v[j] = c[j] + spread * gaussian(pick);
    flat.set(normalize(v), i * dims);
  }
  return flat;
}

export function toBuffer(v) {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** Runs `fn` `n` times and returns each duration in ms. */
export function timeIt(n, fn) {
  const times = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    fn(i);
    times.push(performance.now() - t0);
  }
  return times;
}

timeIt.async = async (n, fn) => {
  const times = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    times.push(performance.now() - t0);
  }
  return times;
};

export function pct(times, p) {
  const sorted = [...times].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/**
 * Real English sentences, offline: the Markdown files and doc comments of
 * the packages installed in node_modules (READMEs, Node's and TypeScript's
 * API docs). Deduplicated, code stripped, at least six words each; the same
 * set on every machine with the same package-lock.
 */
export function realSentences(root) {
  const files = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(md|d\.ts)$/.test(e.name)) files.push(p);
    }
  };
  walk(join(root, 'node_modules'));
  files.sort();
  const seen = new Set();
  for (const f of files) {
    let text = readFileSync(f, 'utf8');
    if (f.endsWith('.d.ts')) {
      text = (text.match(/^\s*\*\s.*$/gm) ?? []).map((l) => l.replace(/^\s*\*\s/, '')).join('\n');
    }
    text = text
      .replace(/```[\s\S]*?```/g, ' ')
      .replace(/`[^`]*`/g, ' ')
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/[#>*_|]/g, ' ');
    for (const s of text.split(/(?<=[.!?])\s+|\n\s*\n/)) {
      const clean = s.replace(/\s+/g, ' ').trim();
      if (clean.split(' ').length >= 6 && /[a-z]/.test(clean)) seen.add(clean);
    }
  }
  return [...seen];
}

/**
 * Real embeddings: the offline encoder over real English sentences (the
 * Markdown and doc comments of the installed packages, see `realSentences`).
 * Every 200th sentence is held out as a query.
 */
export async function realEmbeddings(max, root) {
  try {
    const { wordVectors } = await import('../dist/encoders/index.js');
    const { isPermanentEncodeError } = await import('../dist/encoders/index.js');
    const enc = await wordVectors();
    const dims = enc.generation.dimensions;
    const data = [];
    const queries = [];
    for (const [i, sentence] of realSentences(root).entries()) {
      let v;
      try {
        [v] = await enc.encode([sentence]);
      } catch (e) {
        if (isPermanentEncodeError(e)) continue; // no known word
        throw e;
      }
      if (i % 200 === 7) queries.push(v);
      else if (data.length < max) data.push(v);
    }
    const flat = new Float32Array(data.length * dims);
    for (const [i, v] of data.entries()) flat.set(v, i * dims);
    return { flat, n: data.length, dims, queries: queries.slice(0, 100) };
  } catch (e) {
    console.error(`(real embeddings unavailable: ${e.message})`);
    return undefined;
  }
}
