import type { WaitForChangeOptions } from '../core/index.js';
import type { PgClient, PgQueryable } from './pg-client.js';
import type { ValidPgSchema } from './pg-schema.js';

/**
 * The change trigger `vecfill install-trigger` puts on the documents table:
 * after every statement that inserts, updates, deletes or truncates, it
 * advances a sequence (`<prefix>_changes`) and notifies the channel
 * `<prefix>_changes`. Followers LISTEN on the channel and also read the
 * sequence, which works where notifications do not reach them (a
 * transaction-mode pooler, PGlite's socket server). A statement-level
 * trigger costs one `nextval` and one `pg_notify` per statement, whatever
 * the number of rows.
 */
export interface ChangeObjects {
  /** The notification channel (also the sequence's name without schema). */
  channel: string;
  sequence: string;
  fn: string;
  trigger: string;
}

export function changeObjects(s: ValidPgSchema): ChangeObjects {
  const sequence = s.table('changes');
  return {
    channel: sequence.split('.').at(-1)!.replaceAll('"', ''),
    sequence,
    fn: s.table('notify'),
    trigger: s.indexName('notify'),
  };
}

export function installTriggerSql(s: ValidPgSchema): string[] {
  const o = changeObjects(s);
  return [
    `CREATE SEQUENCE IF NOT EXISTS ${o.sequence}`,
    // Identifiers are validated (letters, digits, underscores), so they embed safely in the literals.
    `CREATE OR REPLACE FUNCTION ${o.fn}() RETURNS trigger LANGUAGE plpgsql AS $vecfill$
BEGIN
  PERFORM nextval('${o.sequence}');
  PERFORM pg_notify('${o.channel}', TG_OP);
  RETURN NULL;
END
$vecfill$`,
    `DROP TRIGGER IF EXISTS ${o.trigger} ON ${s.docs}`,
    `CREATE TRIGGER ${o.trigger} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${s.docs} FOR EACH STATEMENT EXECUTE FUNCTION ${o.fn}()`,
  ];
}

export function uninstallTriggerSql(s: ValidPgSchema): string[] {
  const o = changeObjects(s);
  return [
    `DROP TRIGGER IF EXISTS ${o.trigger} ON ${s.docs}`,
    `DROP FUNCTION IF EXISTS ${o.fn}()`,
    `DROP SEQUENCE IF EXISTS ${o.sequence}`,
  ];
}

/** A pooled connection that can receive notifications (node-postgres `PoolClient`). */
interface ListeningConnection extends PgQueryable {
  release(): void;
  on(event: 'notification', fn: (msg: { channel: string }) => void): unknown;
}

/**
 * Change detection for `PgStore.waitForChange`. With the trigger installed
 * it polls the trigger's sequence every `pollMs` (one tiny query) and wakes
 * at once on a notification; a change is followed by one more wake-up a
 * second later, for a transaction that committed after the first scan.
 * Without the trigger every poll reports a change: the follower scans.
 */
export class ChangeWatcher {
  readonly #client: PgClient;
  readonly #objects: ChangeObjects;
  #seen: string | undefined;
  #recheckAt: number | undefined;
  #notified = false;
  #wake: (() => void) | undefined;
  #listening: Promise<void> | undefined;
  #stopListening: (() => Promise<void> | void) | undefined;

  constructor(client: PgClient, schema: ValidPgSchema) {
    this.#client = client;
    this.#objects = changeObjects(schema);
  }

  /** The sequence's state, or undefined when the trigger is not installed. */
  async #token(): Promise<string | undefined> {
    const { rows } = await this.#client.query(`SELECT to_regclass($1) IS NOT NULL AS installed`, [
      this.#objects.sequence,
    ]);
    if (!rows[0]?.installed) return undefined;
    const r = await this.#client.query(
      `SELECT last_value::text || ':' || is_called::text AS v FROM ${this.#objects.sequence}`,
    );
    return String(r.rows[0]?.v);
  }

  async wait({ signal, pollMs, timeoutMs }: WaitForChangeOptions): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let token = await this.#token();
    if (token === undefined) {
      // No trigger: the polling fallback (the follower scans every pollMs).
      await sleep(Math.min(pollMs, timeoutMs), signal);
      return true;
    }
    this.#listen(signal);
    this.#seen ??= token;
    for (;;) {
      if (this.#notified || token !== this.#seen) {
        this.#notified = false;
        this.#seen = token;
        this.#recheckAt = Date.now() + 1000;
        return true;
      }
      if (this.#recheckAt !== undefined && Date.now() >= this.#recheckAt) {
        this.#recheckAt = undefined;
        return true;
      }
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          this.#wake = undefined;
        };
        const onAbort = () => {
          done();
          reject(signal.reason);
        };
        const timer = setTimeout(
          () => {
            done();
            resolve();
          },
          Math.min(pollMs, left),
        );
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        this.#wake = () => {
          done();
          resolve();
        };
      });
      token = await this.#token();
      if (token === undefined) return true; // uninstalled meanwhile
    }
  }

  /** LISTENs once, on PGlite (`listen`) or a dedicated pooled connection; stops when `signal` aborts. */
  #listen(signal: AbortSignal): void {
    if (this.#listening) return;
    const onNotify = () => {
      this.#notified = true;
      this.#wake?.();
    };
    const client = this.#client as PgClient & {
      listen?: (channel: string, fn: () => void) => Promise<() => Promise<void>>;
      connect?: () => Promise<unknown>;
      totalCount?: number;
    };
    const channel = this.#objects.channel;
    this.#listening = (async () => {
      if (typeof client.listen === 'function') {
        this.#stopListening = await client.listen(channel, onNotify);
      } else if (typeof client.connect === 'function' && typeof client.totalCount === 'number') {
        const conn = (await client.connect()) as ListeningConnection;
        conn.on('notification', (msg) => {
          if (msg.channel === channel) onNotify();
        });
        await conn.query(`LISTEN "${channel}"`);
        this.#stopListening = async () => {
          await conn.query(`UNLISTEN "${channel}"`).catch(() => {});
          conn.release();
        };
      }
    })().catch(() => {
      // Notifications are a speed-up; the sequence poll still sees every change.
    });
    signal.addEventListener(
      'abort',
      () => {
        void this.close();
      },
      { once: true },
    );
  }

  /** Stops listening (releases the dedicated connection). */
  async close(): Promise<void> {
    const listening = this.#listening;
    if (!listening) return;
    await listening;
    const stop = this.#stopListening;
    this.#listening = undefined;
    this.#stopListening = undefined;
    await stop?.();
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
