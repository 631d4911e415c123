import { DEFAULTS } from './defaults.js';
import type { Hit } from './store.js';

/** A document-level result: the best chunk of one document. */
export interface DocHit<K, G = unknown> {
  doc: K;
  score: number;
  /** The best-scoring chunk. */
  chunkIndex: number;
  start?: number;
  end?: number;
  /** How many of the document's chunks matched. */
  chunks: number;
  /**
   * The raw similarity of the best chunk (cosine for vector hits), whatever
   * `score` became after fusion or merging; absent on a full-text-only hit.
   */
  similarity?: number;
  /**
   * The generation the hit came from: `search` sets it on every hit, so a
   * caller can show or re-query it without mapping a list position back to
   * `liveGenerations()`. `merge` keeps whatever its input hits carry.
   */
  generation?: G;
}

/**
 * Collapses chunk hits to one result per document, keeping each document's
 * best chunk, best first. Ties keep the order of first appearance.
 */
export function rollupByDocument<K, G = unknown>(hits: readonly Hit<K>[]): DocHit<K, G>[] {
  const byDoc = new Map<K, DocHit<K, G>>();
  const order: DocHit<K, G>[] = [];
  for (const h of hits) {
    const seen = byDoc.get(h.doc);
    if (seen === undefined) {
      const d: DocHit<K, G> = { doc: h.doc, score: h.score, chunkIndex: h.chunkIndex, chunks: 1 };
      if (h.similarity !== undefined) d.similarity = h.similarity;
      if (h.start !== undefined) d.start = h.start;
      if (h.end !== undefined) d.end = h.end;
      byDoc.set(h.doc, d);
      order.push(d);
    } else {
      seen.chunks++;
      if (h.score > seen.score) {
        seen.score = h.score;
        seen.chunkIndex = h.chunkIndex;
        if (h.similarity !== undefined) seen.similarity = h.similarity;
        if (h.start !== undefined) seen.start = h.start;
        if (h.end !== undefined) seen.end = h.end;
      }
    }
  }
  return stableSortDesc(order);
}

export type MergeStrategy = 'normalized' | 'raw' | 'rrf';

export interface MergeOptions {
  /** Default `'normalized'`: min-max scale each list to [0, 1] so generations with different score ranges compare. */
  strategy?: MergeStrategy;
  /** The `k` of reciprocal rank fusion, `1 / (k + rank)`. Default `DEFAULTS.rankConstant` (60). */
  rankConstant?: number;
  limit?: number;
}

/**
 * Merges per-generation result lists into one ranking.
 *
 * Coverage is a union: a document found by any list is in the output. When a
 * document is in several lists the earliest list wins (its score and chunk
 * are used), because lists come most-preferred generation first. Strategies:
 * `normalized` (min-max per list; a single-valued list scores 1), `raw`
 * (scores as given, for lists already on one scale) and `rrf`
 * (`1 / (rankConstant + rank)`, rank from 1, in the winning list).
 *
 * @example
 * ```ts
 * merge([buildingHits, activeHits], { strategy: 'rrf', limit: 10 });
 * ```
 */
export function merge<K, G = unknown>(
  lists: readonly (readonly DocHit<K, G>[])[],
  opts: MergeOptions = {},
): DocHit<K, G>[] {
  const strategy = opts.strategy ?? 'normalized';
  const k = opts.rankConstant ?? DEFAULTS.rankConstant;
  if (!['normalized', 'raw', 'rrf'].includes(strategy)) {
    throw new RangeError(
      `merge: unknown strategy ${JSON.stringify(strategy)}; use 'normalized', 'raw' or 'rrf'`,
    );
  }
  if (!Number.isFinite(k) || k < 0)
    throw new RangeError(`merge: rankConstant must be >= 0, got ${k}`);
  const winners = new Map<K, DocHit<K, G>>();
  const out: DocHit<K, G>[] = [];
  for (const list of lists) {
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (const h of list) {
      if (h.score < min) min = h.score;
      if (h.score > max) max = h.score;
    }
    const span = max - min;
    const ranked = stableSortDesc([...list]);
    ranked.forEach((h, rank) => {
      if (winners.has(h.doc)) return;
      let score: number;
      if (strategy === 'raw') score = h.score;
      else if (strategy === 'rrf') score = 1 / (k + rank + 1);
      else score = span > 0 ? (h.score - min) / span : 1;
      const merged: DocHit<K, G> = { ...h, score };
      winners.set(h.doc, merged);
      out.push(merged);
    });
  }
  const sorted = stableSortDesc(out);
  return opts.limit === undefined ? sorted : sorted.slice(0, Math.max(0, opts.limit));
}

/**
 * Reciprocal rank fusion of ranked lists where a document present in several
 * lists accumulates `1 / (k + rank)` from each — the right fusion for
 * different signals about the same corpus (full-text and vector), unlike
 * `merge`, which fuses different generations.
 */
export function fuseRanks<K>(
  lists: readonly (readonly K[])[],
  rankConstant: number = DEFAULTS.rankConstant,
): { key: K; score: number }[] {
  const scores = new Map<K, number>();
  for (const list of lists) {
    list.forEach((key, rank) => {
      scores.set(key, (scores.get(key) ?? 0) + 1 / (rankConstant + rank + 1));
    });
  }
  return stableSortDesc([...scores].map(([key, score]) => ({ key, score })));
}

function stableSortDesc<T extends { score: number }>(items: T[]): T[] {
  return items
    .map((item, i) => ({ item, i }))
    .sort((a, b) => b.item.score - a.item.score || a.i - b.i)
    .map((x) => x.item);
}

/**
 * Hybrid search inside one generation: fuses ranked vector chunk hits with
 * ranked full-text documents by reciprocal rank, one hit per document. A
 * document found by both signals rises; a full-text-only document keeps
 * chunk 0 (no vector chunk matched). Both backends use this, so hybrid
 * ranking cannot drift between them.
 */
export function fuseHybrid<K>(
  vectorHits: readonly Hit<K>[],
  textDocs: readonly K[],
  limit: number,
  rankConstant: number = DEFAULTS.rankConstant,
): Hit<K>[] {
  const best = new Map<K, Hit<K>>();
  for (const h of vectorHits) if (!best.has(h.doc)) best.set(h.doc, h);
  return fuseRanks([[...best.keys()], textDocs], rankConstant)
    .slice(0, limit)
    .map(({ key, score }) => {
      const h = best.get(key);
      return h
        ? { ...h, score, similarity: h.similarity ?? h.score }
        : { doc: key, chunkIndex: 0, score };
    });
}
