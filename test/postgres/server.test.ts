import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PgQueryable } from '../../src/postgres/index.js';
import { embed } from '../support/hash-encoder.js';
import { createTestDatabase, ENGINE, pgHarness, TEST_PG_URL } from './helpers.js';

/**
 * What only a PostgreSQL server can show: two sessions at once. PGlite is one
 * session, so these tests need a server (VECFILL_TEST_PG_URL, set by CI and
 * by `VECFILL_TEST_PG_URL=$(../shared/scripts/pg-test-server.sh start) npm test`).
 */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.runIf(TEST_PG_URL)(`PgStore on ${ENGINE}: two sessions`, () => {
  let storeConn: pg.Client;
  let editor: pg.Client;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    storeConn = new pg.Client({ connectionString: db.url });
    editor = new pg.Client({ connectionString: db.url });
    await storeConn.connect();
    await editor.connect();
  });
  afterAll(async () => {
    await storeConn?.end();
    await editor?.end();
    await drop?.();
  });

  it('an edit landing between the revision check and the stamp waits for the save (row lock), so the document stays pending', async () => {
    // The store's session, with a hook: when the save writes its first chunk
    // (after it checked the revision), another session edits the row.
    let armed = false;
    let edit: Promise<unknown> | undefined;
    let table = '';
    const client: PgQueryable = {
      query: async (text, params) => {
        if (armed && /INSERT INTO \S*_chunks/.test(text)) {
          armed = false;
          edit = editor.query(
            `UPDATE ${table} SET content = 'edited during the save', revision = revision + 1 WHERE id = 1`,
          );
          // Without a row lock the edit commits right here, before the stamp.
          await sleep(300);
        }
        return storeConn.query(text, params);
      },
    };
    const h = await pgHarness(client);
    table = h.schema.docsTable;
    try {
      await h.insert(1, 'original text of the document');
      await h.store.ensureGeneration('a', { model: 'hash-bow', dimensions: 16 }, 'active');
      const [p] = await h.store.pendingForGeneration('a', 1);
      armed = true;
      await h.store.saveVectors('a', p!.doc, p!.revision, [
        { chunkIndex: 0, start: 0, end: p!.content.length, vector: embed(p!.content, 16) },
      ]);
      await edit;
      // The stamp names revision 1 and the row is at revision 2: pending, not
      // served as fresh with the vectors of the text it no longer has.
      const pending = await h.store.pendingForGeneration('a', 10);
      expect(pending.map((x) => x.doc)).toEqual([h.key(1)]);
      expect(pending[0]!.content).toBe('edited during the save');
      expect(await h.store.coverage('a')).toEqual({ embedded: 0, skipped: 0, backlog: 1 });
      expect(
        await h.store.queryGeneration('a', embed('original text of the document', 16), 5),
      ).toEqual([]);
    } finally {
      await h.close();
    }
  });
});
