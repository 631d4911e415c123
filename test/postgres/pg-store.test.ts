import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type EncodeFn,
  fill,
  InvalidIdentifierError,
  LifecycleError,
  type Pending,
  search,
} from '../../src/core/index.js';
import { type PgClient, type PgKey, PgStore } from '../../src/postgres/index.js';
import { validatePgSchema } from '../../src/postgres/pg-schema.js';
import { embed } from '../support/hash-encoder.js';
import { caught, rejectsWith, throwsWith } from '../support/thrown.js';
import { ENGINE, pgHarness, startEngine, type TestEngine } from './helpers.js';

let engine: TestEngine;
let db: TestEngine['client'];
beforeAll(async () => {
  engine = await startEngine();
  db = engine.client;
});
afterAll(async () => {
  await engine?.close();
});

describe(`PgStore (Postgres specifics) on ${ENGINE}`, () => {
  it('refuses injection in every identifier, including each part of a schema-qualified name', () => {
    const base = {
      docsTable: 'app.docs',
      idColumn: 'id',
      contentColumn: 'content',
      vectorsPrefix: 'app.vf',
    };
    for (const [field, bad] of [
      ['docsTable', 'app.docs; DROP TABLE x'],
      ['docsTable', 'a"b.docs'],
      ['docsTable', 'a.b.c'],
      ['idColumn', 'id --'],
      ['contentColumn', "c' OR 1=1"],
      ['revisionColumn', 'rev;'],
      ['embedGenColumn', 'ｅ'],
      ['vectorsPrefix', 'x.y; DROP'],
    ] as const) {
      const e = caught(() => validatePgSchema({ ...base, [field]: bad }));
      // Two schema qualifiers are a TypeError; every other bad name an InvalidIdentifierError.
      expect(e, `${field}=${bad}`).toBeInstanceOf(
        bad === 'a.b.c' ? TypeError : InvalidIdentifierError,
      );
      expect(e.message, `${field}=${bad}`).toMatch(
        /not a valid SQL identifier|at most one schema qualifier/,
      );
    }
    expect(() => validatePgSchema({ ...base, idColumn: 'id"' })).toThrow(InvalidIdentifierError);
    expect(validatePgSchema(base).docs).toBe('"app"."docs"');
  });

  it('refuses a generation option instead of ignoring it (PostgreSQL has none)', async () => {
    const h = await pgHarness(db);
    try {
      const options = { quantization: 'binary' } as Parameters<PgStore['ensureGeneration']>[3];
      await rejectsWith(
        h.pgStore.ensureGeneration('q', { model: 'hash', dimensions: 16 }, 'building', options),
        TypeError,
        /no generation options \(got quantization\)/,
      );
      expect(await h.pgStore.generations()).toEqual([]);
    } finally {
      await h.close();
    }
  });

  it('says which table is missing', async () => {
    await rejectsWith(
      PgStore.open(db, {
        docsTable: 'nowhere.docs',
        idColumn: 'id',
        contentColumn: 'c',
        vectorsPrefix: 'vf',
      }),
      LifecycleError,
      /documents table nowhere\.docs does not exist/,
    );
  });

  it('two fill workers on one table embed every document exactly once (leases)', async () => {
    const h = await pgHarness(db, { leaseMs: 60_000 });
    try {
      for (let i = 1; i <= 120; i++) await h.insert(i, `document ${i} about ${i % 9}`);
      await h.store.ensureGeneration('g', { model: 'hash', dimensions: 16 }, 'active');
      // A second store instance on the same tables: another worker.
      const second = await PgStore.open(db, h.schema);
      const saves = new Map<unknown, number>();
      const counting = (store: PgStore): PgStore => {
        const save = store.saveMany!.bind(store);
        store.saveMany = async (gen, items) => {
          const out = await save(gen, items);
          items.forEach((it, i) => {
            if (out[i] === null) saves.set(it.doc, (saves.get(it.doc) ?? 0) + 1);
          });
          return out;
        };
        return store;
      };
      const encode: EncodeFn = async (texts) => {
        await new Promise((r) => setTimeout(r, 2));
        return texts.map((t) => embed(t, 16));
      };
      const [a, b] = await Promise.all([
        fill(counting(h.pgStore), 'g', encode, {
          scanBatch: 10,
          batch: { batchSize: 10 },
        }),
        fill(counting(second), 'g', encode, { scanBatch: 10, batch: { batchSize: 10 } }),
      ]);
      expect(a.documents + b.documents).toBe(120);
      expect(a.documents).toBeGreaterThan(0);
      expect(b.documents).toBeGreaterThan(0);
      expect(saves.size).toBe(120);
      expect([...saves.values()].every((n) => n === 1)).toBe(true);
      expect(await h.store.coverage('g')).toEqual({ embedded: 120, skipped: 0, backlog: 0 });
    } finally {
      await h.close();
    }
  });

  it('uses the HNSW index with iterative scans for the KNN', async () => {
    const h = await pgHarness(db);
    try {
      for (let i = 1; i <= 50; i++) await h.insert(i, `row ${i}`);
      await h.store.ensureGeneration('g', { model: 'hash', dimensions: 16 }, 'active');
      await fill(h.store, 'g', async (texts) => texts.map((t) => embed(t, 16)));
      const indexes = await db.query(
        "SELECT indexdef AS def FROM pg_indexes WHERE indexname LIKE 'vf_vec_%_hnsw'",
      );
      expect(
        indexes.rows.some((r) => /USING hnsw \(embedding vector_cosine_ops\)/.test(String(r.def))),
      ).toBe(true);
      const hits = await h.store.queryGeneration('g', embed('row 7', 16), 3);
      expect(hits[0]!.doc).toBe(7);
      expect(hits[0]!.score).toBeCloseTo(1, 4);
    } finally {
      await h.close();
    }
  });

  it('refuses a vectorsPrefix whose derived names PostgreSQL would truncate, saying the maximum length', async () => {
    const base = { docsTable: 'docs', idColumn: 'id', contentColumn: 'content' };
    for (const prefix of ['p'.repeat(44), `app.${'p'.repeat(57)}`]) {
      throwsWith(
        () => validatePgSchema({ ...base, vectorsPrefix: prefix }),
        InvalidIdentifierError,
        /at most 43 bytes/,
      );
    }
    // At the limit every derived name is distinct: generations 1 and 12 get their own tables.
    const h = await pgHarness(db);
    const ns = h.schema.docsTable.split('.')[0]!;
    const prefix = `${ns}.${'p'.repeat(43)}`;
    try {
      for (let i = 1; i <= 5; i++) await h.insert(i, `row ${i}`);
      const store = await PgStore.open(db, { ...h.schema, vectorsPrefix: prefix });
      await store.ensureGeneration('one', { model: 'hash', dimensions: 16 }, 'active');
      await db.query(`SELECT setval('${ns}.${'p'.repeat(43)}_generations_id_seq', 11)`);
      await store.ensureGeneration('twelve', { model: 'hash', dimensions: 8 });
      const encode =
        (d: number): EncodeFn =>
        async (texts) =>
          texts.map((t) => embed(t, d));
      await fill(store, 'one', encode(16));
      await fill(store, 'twelve', encode(8));
      await store.activate('twelve');
      await store.reclaim('one');
      expect(await store.coverage('twelve')).toEqual({ embedded: 5, skipped: 0, backlog: 0 });
      expect((await store.queryGeneration('twelve', embed('row 3', 8), 1))[0]!.doc).toBe(3);
    } finally {
      await h.close();
    }
  });

  it('searches with a NUL byte in the hybrid text instead of failing with an encoding error', async () => {
    const h = await pgHarness(db);
    try {
      for (let i = 1; i <= 5; i++) await h.insert(i, `rocket launch ${i} orbit`);
      await h.store.ensureGeneration('g', { model: 'hash', dimensions: 16 }, 'active');
      await fill(h.store, 'g', async (texts) => texts.map((t) => embed(t, 16)));
      const hits = await h.store.queryGeneration('g', embed('rocket', 16), 3, {
        hybrid: true,
        text: 'rocket\u0000launch',
      });
      expect(hits).toHaveLength(3);
    } finally {
      await h.close();
    }
  });

  it('runs a search filter read-only: it can neither write nor change a session setting', async () => {
    const h = await pgHarness(db);
    const ns = h.schema.docsTable.split('.')[0]!;
    // One connection, so the setting checked afterwards is the one the search ran on.
    const one: PgClient = engine.server
      ? new pg.Pool({ connectionString: engine.url, max: 1 })
      : db;
    try {
      await db.query(`CREATE SEQUENCE ${ns}.s1`);
      for (let i = 1; i <= 3; i++) await h.insert(i, `note ${i}`);
      const store = await PgStore.open(one, h.schema);
      await store.ensureGeneration('g', { model: 'hash', dimensions: 16 }, 'active');
      await fill(store, 'g', async (texts) => texts.map((t) => embed(t, 16)));
      await rejectsWith(
        store.queryGeneration('g', embed('note', 16), 3, {
          filter: { where: `setval('${ns}.s1', 999) > 0` },
        }),
        Error,
        /read-only transaction/,
      );
      const seq = await db.query(`SELECT last_value, is_called FROM ${ns}.s1`);
      expect(seq.rows[0]).toMatchObject({ is_called: false });
      const before = String((await one.query('SHOW TimeZone')).rows[0]!.TimeZone);
      const hits = await store.queryGeneration('g', embed('note', 16), 3, {
        filter: { where: `set_config('TimeZone', 'Asia/Kathmandu', false) IS NOT NULL` },
      });
      expect(hits).toHaveLength(3);
      expect(String((await one.query('SHOW TimeZone')).rows[0]!.TimeZone)).toBe(before);
    } finally {
      if (one !== db) await (one as pg.Pool).end();
      await h.close();
    }
  });
});

describe(`a building generation's HNSW index is built after the load on ${ENGINE}`, () => {
  const encode: EncodeFn = async (texts) => texts.map((t) => embed(t, 16));
  const vectorsOf = (p: Pending<PgKey>) => ({
    doc: p.doc,
    revision: p.revision,
    vectors: [{ chunkIndex: 0, start: 0, end: p.content.length, vector: embed(p.content, 16) }],
  });
  async function seeded(n: number) {
    const h = await pgHarness(db);
    const values = Array.from(
      { length: n },
      (_, i) => `(${i + 1}, 'note ${i + 1} about ${i % 7}')`,
    );
    await db.query(`INSERT INTO ${h.schema.docsTable} (id, content) VALUES ${values.join(',')}`);
    return h;
  }

  it('fills without the index, builds it when the backlog reaches zero, and status shows it', async () => {
    const h = await seeded(120);
    try {
      await h.store.ensureGeneration('a', { model: 'hash', dimensions: 16 }, 'active');
      await fill(h.store, 'a', encode);
      await h.store.ensureGeneration('b', { model: 'hash', dimensions: 16, params: { v: 2 } });
      expect(await h.pgStore.indexStatus('a')).toMatchObject({ present: true, valid: true });
      expect(await h.pgStore.indexStatus('b')).toEqual({ present: false, valid: false, bytes: 0 });
      // Part of the backlog: still no index, and searches of it are exact.
      const part = await h.store.pendingForGeneration('b', 50);
      await h.store.saveMany!('b', part.map(vectorsOf));
      expect((await h.pgStore.stats('b')).index).toMatch(/^none \(deferred/);
      expect((await h.store.queryGeneration('b', embed(part[7]!.content, 16), 1))[0]!.doc).toBe(
        part[7]!.doc,
      );
      const progress: string[] = [];
      h.pgStore.onIndexProgress = (p) => progress.push(p.phase);
      await fill(h.store, 'b', encode);
      const built = await h.pgStore.indexStatus('b');
      expect(built.valid).toBe(true);
      expect(built.bytes).toBeGreaterThan(0);
      expect(progress.at(-1)).toBe('done');
      expect(await h.pgStore.stats('b')).toMatchObject({ index: 'hnsw' });
      expect((await h.store.queryGeneration('b', embed('note 33 about 4', 16), 1))[0]!.doc).toBe(
        33,
      );
    } finally {
      await h.close();
    }
  });

  it('activate builds a missing or invalid index first, so an active generation always has it', async () => {
    const h = await seeded(60);
    const ns = h.schema.docsTable.split('.')[0]!;
    try {
      await h.store.ensureGeneration('b', { model: 'hash', dimensions: 16 });
      // Saved without a scan that comes back empty: nothing has built the index yet.
      const pending = await h.store.pendingForGeneration('b', 100);
      await h.store.saveMany!('b', pending.map(vectorsOf));
      expect((await h.pgStore.indexStatus('b')).present).toBe(false);
      await h.store.activate('b');
      expect(await h.pgStore.indexStatus('b')).toMatchObject({ valid: true });
      // A build killed half-way leaves an invalid index: the next activate rebuilds it.
      const [{ id }] = (await db.query(`SELECT id FROM ${ns}.vf_generations WHERE key = 'b'`))
        .rows as [{ id: number }];
      await db.query(
        `UPDATE pg_index SET indisvalid = false WHERE indexrelid = '${ns}.vf_vec_${id}_hnsw'::regclass`,
      );
      expect(await h.pgStore.indexStatus('b')).toMatchObject({ present: true, valid: false });
      expect((await h.pgStore.stats('b')).index).toMatch(/invalid/);
      await h.store.activate('b');
      expect(await h.pgStore.indexStatus('b')).toMatchObject({ present: true, valid: true });
    } finally {
      await h.close();
    }
  });

  if (process.env.VECFILL_TEST_PG_URL) {
    it('a build cancelled half-way leaves an invalid index, which activate rebuilds (server)', async () => {
      const h = await pgHarness(db);
      const ns = h.schema.docsTable.split('.')[0]!;
      try {
        const n = 4000;
        const values = Array.from(
          { length: n },
          (_, i) => `(${i + 1}, 'entry ${i + 1} about ${i % 13}')`,
        );
        await db.query(`INSERT INTO ${ns}.docs (id, content) VALUES ${values.join(',')}`);
        await h.store.ensureGeneration('b', { model: 'hash', dimensions: 16 });
        for (;;) {
          const page = await h.store.pendingForGeneration('b', 1000);
          if (page.length === 0) break;
          await h.store.saveMany!('b', page.map(vectorsOf));
        }
        // Drop what the empty scan built, then build again and cancel the server's build.
        const [{ id }] = (await db.query(`SELECT id FROM ${ns}.vf_generations WHERE key = 'b'`))
          .rows as [{ id: number }];
        await db.query(`DROP INDEX ${ns}.vf_vec_${id}_hnsw`);
        let cancelled = false;
        const canceller = (async () => {
          for (let i = 0; i < 400 && !cancelled; i++) {
            const { rows } = await db.query(
              `SELECT pid FROM pg_stat_progress_create_index WHERE relid = '${ns}.vf_vec_${id}'::regclass`,
            );
            if (rows[0]) {
              await db.query('SELECT pg_cancel_backend($1)', [rows[0].pid]);
              cancelled = true;
            }
            await new Promise((r) => setTimeout(r, 5));
          }
        })();
        await rejectsWith(h.pgStore.buildIndex('b'), Error, /cancel/);
        await canceller;
        expect(await h.pgStore.indexStatus('b')).toMatchObject({ present: true, valid: false });
        await h.store.activate('b');
        expect(await h.pgStore.indexStatus('b')).toMatchObject({ present: true, valid: true });
        expect(
          (await h.store.queryGeneration('b', embed(`entry 77 about ${76 % 13}`, 16), 1))[0]!.doc,
        ).toBe(77);
      } finally {
        await h.close();
      }
    });
  }

  it('two stores finishing the same generation build its index once', async () => {
    const h = await seeded(80);
    try {
      await h.store.ensureGeneration('b', { model: 'hash', dimensions: 16 });
      const pending = await h.store.pendingForGeneration('b', 100);
      await h.store.saveMany!('b', pending.map(vectorsOf));
      const other = await PgStore.open(db, h.schema);
      const results = await Promise.all([h.pgStore.buildIndex('b'), other.buildIndex('b')]);
      expect(results.map((r) => r.built).sort()).toEqual([false, true]);
      expect(await other.indexStatus('b')).toMatchObject({ valid: true });
    } finally {
      await h.close();
    }
  });
});

describe(`vectors are saved exactly, by binary COPY where the client has it, on ${ENGINE}`, () => {
  it('stores the very float32 values saved; node-postgres loads them with COPY, PGlite with INSERT', async () => {
    const h = await pgHarness(db);
    const ns = h.schema.docsTable.split('.')[0]!;
    const copies: string[] = [];
    const query = pg.Client.prototype.query;
    // Record the COPY statements node-postgres runs (the store's only way to reach the driver is query()).
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const q = args[0] as { text?: unknown } | undefined;
      if (typeof q?.text === 'string' && q.text.startsWith('COPY')) copies.push(q.text);
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof query;
    try {
      await db.query(
        `INSERT INTO ${h.schema.docsTable} (id, content) VALUES (1, 'one'), (2, 'two')`,
      );
      await h.store.ensureGeneration('b', { model: 'hash', dimensions: 4 });
      const awkward = [
        Float32Array.of(Math.fround(1 / 3), -0.5, 1e-30, 12345.678),
        Float32Array.of(-Math.fround(Math.PI), 2 ** -20, 0, -7.25e12),
        Float32Array.of(0.1, 0.2, 0.3, 0.4),
      ];
      const pending = await h.store.pendingForGeneration('b', 10);
      const results = await h.store.saveMany!(
        'b',
        pending.map((p, d) => ({
          doc: p.doc,
          revision: p.revision,
          vectors: (d === 0 ? awkward.slice(0, 2) : awkward.slice(2)).map((vector, i) => ({
            chunkIndex: i,
            start: 0,
            end: 3,
            vector,
          })),
        })),
      );
      expect(results).toEqual([null, null]);
      const [{ id }] = (await db.query(`SELECT id FROM ${ns}.vf_generations WHERE key = 'b'`))
        .rows as [{ id: number }];
      const stored = async (doc: number, index: number, v: Float32Array) =>
        (
          await db.query(
            `SELECT count(*)::int AS n FROM ${ns}.vf_vec_${id} v JOIN ${ns}.vf_chunks c ON c.id = v.id
             WHERE c.doc = $1 AND c.chunk_index = $2 AND v.embedding = $3::vector`,
            [doc, index, `[${Array.from(v).join(',')}]`],
          )
        ).rows[0]?.n;
      expect(await stored(1, 0, awkward[0]!)).toBe(1);
      expect(await stored(1, 1, awkward[1]!)).toBe(1);
      expect(await stored(2, 0, awkward[2]!)).toBe(1);
      expect(copies.length > 0).toBe(engine.server);
    } finally {
      pg.Client.prototype.query = query;
      await h.close();
    }
  });
});

describe(`revisions compare independent of session settings on ${ENGINE}`, () => {
  const settingsA = {
    TimeZone: 'UTC',
    DateStyle: 'ISO, MDY',
    extra_float_digits: '1',
    IntervalStyle: 'postgres',
    bytea_output: 'hex',
  };
  const settingsB = {
    TimeZone: 'Pacific/Chatham',
    DateStyle: 'SQL, DMY',
    extra_float_digits: '0',
    IntervalStyle: 'sql_standard',
    bytea_output: 'escape',
  };
  /** A client whose session has `settings`: its own pool on a server, PGlite after SET. */
  async function session(settings: Record<string, string>): Promise<{
    client: PgClient;
    end(): Promise<void>;
  }> {
    if (engine.server) {
      const options = Object.entries(settings)
        .map(([k, v]) => `-c ${k}=${v.replaceAll(' ', '')}`)
        .join(' ');
      const pool = new pg.Pool({ connectionString: engine.url, max: 3, options });
      return { client: pool, end: () => pool.end() };
    }
    for (const [k, v] of Object.entries(settings)) await db.query(`SET ${k} = '${v}'`);
    return { client: db, end: async () => {} };
  }

  for (const [type, value] of [
    ['timestamptz', `'2026-03-29 01:30:00.123456+00'::timestamptz + {i} * interval '1 minute'`],
    ['timestamp', `'2026-03-29 01:30:00.5'::timestamp + {i} * interval '1 hour'`],
    ['date', `'2026-02-01'::date + {i}`],
    ['double precision', '{i} + 0.1::float8 + 0.2::float8'],
    ['interval', `{i} * interval '1 day 3 hours'`],
    ['bytea', `decode(md5({i}::text), 'hex')`],
  ] as const) {
    it(`a ${type} revision written in one session is current in another`, async () => {
      const h = await pgHarness(db);
      const ns = h.schema.docsTable.split('.')[0]!;
      const schema = { ...h.schema, revisionColumn: 'rev' };
      const a = await session(settingsA);
      let b: { client: PgClient; end(): Promise<void> } | undefined;
      try {
        await db.query(`ALTER TABLE ${ns}.docs ADD COLUMN rev ${type}`);
        for (let i = 1; i <= 6; i++) await h.insert(i, `note ${i} about ${type}`);
        await db.query(`UPDATE ${ns}.docs SET rev = ${value.replaceAll('{i}', 'id')}`);
        const encode: EncodeFn = async (texts) => texts.map((t) => embed(t, 16));
        const storeA = await PgStore.open(a.client, schema);
        await storeA.ensureGeneration('g', { model: 'hash', dimensions: 16 }, 'active');
        expect((await fill(storeA, 'g', encode)).documents).toBe(6);
        b = await session(settingsB);
        const storeB = await PgStore.open(b.client, schema);
        expect(await storeB.coverage('g')).toEqual({ embedded: 6, skipped: 0, backlog: 0 });
        expect(await storeB.pendingForGeneration('g', 10)).toEqual([]);
        const hits = await search(storeB, `note 4 about ${type}`, {
          encoderFor: () => encode,
          limit: 6,
        });
        expect(hits).toHaveLength(6);
        expect(hits[0]!.doc).toBe(4);
        expect((await fill(storeB, 'g', encode)).documents).toBe(0);
        // A real change is still seen, from either session.
        await b.client.query(
          `UPDATE ${ns}.docs SET rev = (${value.replaceAll('{i}', '99')}) WHERE id = 2`,
        );
        expect((await storeB.pendingForGeneration('g', 10)).map((p) => p.doc)).toEqual([2]);
        if (engine.server) expect(await storeA.coverage('g')).toMatchObject({ backlog: 1 });
        expect((await fill(storeB, 'g', encode)).documents).toBe(1);
      } finally {
        await b?.end();
        await a.end();
        if (!engine.server) await db.query('RESET ALL');
        await h.close();
      }
    });
  }

  it('upgrades stamps written in the old text form once, without re-embedding', async () => {
    const h = await pgHarness(db);
    const ns = h.schema.docsTable.split('.')[0]!;
    const schema = { ...h.schema, revisionColumn: 'rev' };
    try {
      await db.query(`ALTER TABLE ${ns}.docs ADD COLUMN rev timestamptz NOT NULL DEFAULT now()`);
      for (let i = 1; i <= 4; i++) await h.insert(i, `note ${i}`);
      const encode: EncodeFn = async (texts) => texts.map((t) => embed(t, 16));
      const store = await PgStore.open(db, schema);
      await store.ensureGeneration('g', { model: 'hash', dimensions: 16 }, 'active');
      await fill(store, 'g', encode);
      // What an older vecfill wrote: the revision's text in the writer's session.
      await db.query(
        `UPDATE ${ns}.vf_stamps st SET revision = d.rev::text FROM ${ns}.docs d WHERE d.id = st.doc`,
      );
      await db.query(`COMMENT ON COLUMN ${ns}.vf_stamps.revision IS NULL`);
      const reopened = await PgStore.open(db, schema);
      expect(await reopened.coverage('g')).toEqual({ embedded: 4, skipped: 0, backlog: 0 });
      const stamps = await db.query(`SELECT revision FROM ${ns}.vf_stamps`);
      expect(stamps.rows.every((r) => /^[0-9a-f]{16}$/.test(String(r.revision)))).toBe(true);
    } finally {
      await h.close();
    }
  });
});
