import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { assertDistFresh } from '../support/dist.js';

// The workers run dist/: refuse to test a build older than src/.
assertDistFresh();

export const WORKER = join(import.meta.dirname, 'fill-worker.mjs');
export const SCHEMA = {
  docsTable: 'docs',
  idColumn: 'id',
  contentColumn: 'content',
  revisionColumn: 'revision',
  vectorsPrefix: 'vf',
};

export function startWorker(opts: Record<string, unknown>): ChildProcess {
  return spawn(process.execPath, [WORKER, JSON.stringify(opts)], {
    stdio: [opts.waitForGo ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
}

/** Resolves once `child` has written the line `line` to stdout. */
export function printed(child: ChildProcess, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer) => {
      out += chunk.toString('utf8');
      if (out.split('\n').includes(line)) {
        child.stdout?.off('data', onData);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`exited with ${String(code)} before printing ${line}`)),
    );
  });
}

/**
 * The integrity checks a crash must never break: SQLite's own check, every
 * chunk row has its vector and every vector its chunk row, every stamp is
 * for an existing document and counts the chunk rows it stamped.
 */
export function integrityProblems(db: Database.Database, genId = 1): string[] {
  const problems: string[] = [];
  const integrity = db.prepare('PRAGMA integrity_check').pluck().all() as string[];
  if (integrity.join() !== 'ok') problems.push(`integrity_check: ${integrity.join('; ')}`);
  const vec = `vf_vec_${genId}`;
  const chunkWithoutVector = db
    .prepare(
      `SELECT count(*) FROM vf_chunks c WHERE c.gen = ? AND NOT EXISTS (SELECT 1 FROM ${vec} v WHERE v.rowid = c.id)`,
    )
    .pluck()
    .get(genId) as number;
  if (chunkWithoutVector) problems.push(`${chunkWithoutVector} chunk rows without a vector`);
  const vectorWithoutChunk = db
    .prepare(
      `SELECT count(*) FROM ${vec} v WHERE NOT EXISTS (SELECT 1 FROM vf_chunks c WHERE c.id = v.rowid)`,
    )
    .pluck()
    .get() as number;
  if (vectorWithoutChunk) problems.push(`${vectorWithoutChunk} vectors without a chunk row`);
  const orphanStamps = db
    .prepare(
      'SELECT count(*) FROM vf_stamps s WHERE NOT EXISTS (SELECT 1 FROM docs d WHERE d.id = s.doc)',
    )
    .pluck()
    .get() as number;
  if (orphanStamps) problems.push(`${orphanStamps} stamps for missing documents`);
  const miscounted = db
    .prepare(
      'SELECT count(*) FROM vf_stamps s WHERE s.chunks <> (SELECT count(*) FROM vf_chunks c WHERE c.gen = s.gen AND c.doc = s.doc)',
    )
    .pluck()
    .get() as number;
  if (miscounted)
    problems.push(`${miscounted} stamps whose chunk count disagrees with the chunk rows`);
  const unstampedChunks = db
    .prepare(
      'SELECT count(DISTINCT c.doc) FROM vf_chunks c WHERE NOT EXISTS (SELECT 1 FROM vf_stamps s WHERE s.gen = c.gen AND s.doc = c.doc)',
    )
    .pluck()
    .get() as number;
  if (unstampedChunks) problems.push(`${unstampedChunks} documents with chunk rows but no stamp`);
  return problems;
}

/** Documents with a current stamp whose stored vector differs from the clean vector of their current content. */
export function wrongVectors(
  db: Database.Database,
  dims: number,
  embed: (t: string, d: number) => Float32Array,
  genId = 1,
): number {
  const rows = db
    .prepare(
      `SELECT d.content AS content, v.embedding AS embedding FROM vf_chunks c JOIN docs d ON d.id = c.doc JOIN vf_vec_${genId} v ON v.rowid = c.id JOIN vf_stamps s ON s.gen = c.gen AND s.doc = c.doc AND s.revision IS d.revision WHERE c.gen = ?`,
    )
    .all(genId) as { content: string; embedding: Buffer }[];
  let wrong = 0;
  for (const r of rows) {
    const stored = new Float32Array(r.embedding.buffer, r.embedding.byteOffset, dims);
    const clean = embed(r.content, dims);
    for (let i = 0; i < dims; i++) {
      if (stored[i] !== clean[i]) {
        wrong++;
        break;
      }
    }
  }
  return wrong;
}
