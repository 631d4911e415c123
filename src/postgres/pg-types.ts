import type { GenerationStats } from '../core/index.js';

/** A document key as the driver returns it (int4 → number, int8/text → string). */
export type PgKey = string | number;

/**
 * A metadata filter: trusted SQL over the documents table aliased `d`, with
 * `$1…$n` placeholders numbered from 1 for its own `params` (they are bound
 * first; vecfill numbers its own values after them and never rewrites the
 * text). Applied before the limit.
 *
 * @example
 * ```ts
 * { where: 'd.lang = $1 AND d.created_at > $2', params: ['en', '2026-01-01'] }
 * ```
 */
export interface PgFilter {
  where: string;
  params?: readonly unknown[];
}

/** What the server's pgvector offers, detected once when the store opens. */
export interface PgvectorInfo {
  /** `extversion` of the `vector` extension, e.g. `'0.8.6'`. */
  version: string;
  /** pgvector 0.8+: `hnsw.iterative_scan` keeps an index scan going past `ef_search`. */
  iterativeScan: boolean;
}

/** A generation's HNSW index, as `indexStatus` and `vecfill status` report it. */
export interface PgIndexStatus {
  /** The index exists (it may still be building, or be left invalid by an interrupted build). */
  present: boolean;
  /** The index exists and the planner may use it. */
  valid: boolean;
  /** Size on disk. */
  bytes: number;
}

/** Progress of an HNSW index build, read from `pg_stat_progress_create_index`. */
export interface PgIndexProgress {
  generation: string;
  /** The server's phase, e.g. `'building index: loading tuples'`, then `'done'`. */
  phase: string;
  /** Tuples (or blocks) done and their total, when the server reports them. */
  done: number;
  total: number;
}

/** Options of `buildIndex`. */
export interface PgBuildIndexOptions {
  /** Called about twice a second while the server builds (needs a Pool: progress is read on a second connection). */
  onProgress?: (progress: PgIndexProgress) => void;
  /** `maintenance_work_mem` for the build, e.g. `'1GB'`. Default: enough for the whole graph (64 MB – 2 GB). */
  maintenanceWorkMem?: string;
  /** `max_parallel_maintenance_workers` for the build. Default 2. */
  parallelWorkers?: number;
}

/** A generation's storage, as `PgStore.stats` reports it; `indexBytes` is its HNSW index. */
export interface PgGenerationStats extends GenerationStats {
  /** `hnsw`, `hnsw (building, or invalid: rebuilt at activate)`, `none (deferred: built when filled)`. */
  index: string;
}
