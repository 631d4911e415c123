import type Database from 'better-sqlite3';
import type { WaitForChangeOptions } from '../core/index.js';

/**
 * SQLite's `PRAGMA data_version`: a per-connection counter that moves when
 * another connection commits to the database file (never for this
 * connection's own writes). Reading it costs a few microseconds, so a
 * follower can poll it every 200 ms and sleep otherwise.
 */
export function dataVersion(db: Database.Database): number {
  return db.pragma('data_version', { simple: true }) as number;
}

/**
 * Polls `data_version` every `pollMs` until it differs from `since`;
 * resolves the new version, or `since` when `timeoutMs` passed first.
 * Rejects with the signal's reason on abort.
 */
export function waitForCommit(
  db: Database.Database,
  since: number,
  { signal, pollMs, timeoutMs }: WaitForChangeOptions,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const done = (fn: () => void) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => done(() => reject(signal.reason));
    const tick = () => {
      let v: number;
      try {
        v = db.open ? dataVersion(db) : since;
      } catch (e) {
        return done(() => reject(e));
      }
      if (v !== since) return done(() => resolve(v));
      const left = deadline - Date.now();
      if (left <= 0) return done(() => resolve(since));
      timer = setTimeout(tick, Math.min(pollMs, left));
    };
    if (signal.aborted) return reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    timer = setTimeout(tick, Math.min(pollMs, timeoutMs));
  });
}
