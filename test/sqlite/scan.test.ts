import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChangeLog } from '../../src/sqlite/index/change-log.js';
import { type GenerationSource, ScanIndexes } from '../../src/sqlite/index/scan-indexes.js';
import { VEC0_CHUNK_ROWS } from '../../src/sqlite/index/stored-index.js';
import {
  packBatches,
  readVec0Batch,
  readVec0Chunks,
  readVec0Rows,
} from '../../src/sqlite/index/vec0-rows.js';
import {
  type SqliteGenerationOptions as GenerationOptions,
  openDatabase,
  type ScanOptions,
  SqliteStore,
} from '../../src/sqlite/index.js';
import { cosine } from '../support/memory-store.js';
import { throwsWith } from '../support/thrown.js';
import { DOCS_DDL, SCHEMA, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => void;
beforeEach(() => {
  ({ dir, cleanup } = tempDir());
});
afterEach(() => cleanup());

function open(file: string, scan?: ScanOptions, create = false): SqliteStore {
  const db = openDatabase(join(dir, file));
  if (create) db.exec(DOCS_DDL);
  return SqliteStore.open(db, scan ? { ...SCHEMA, scan } : SCHEMA);
}

function save(store: SqliteStore, gen: string, id: number, v: Float32Array): void {
  store.db
    .prepare(
      'INSERT INTO docs (id, content) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET revision = revision + 1',
    )
    .run(id, `doc ${id}`);
  const revision = store.db.prepare('SELECT revision FROM docs WHERE id = ?').pluck().get(id);
  store.saveVectors(gen, id, revision as number, [{ chunkIndex: 0, start: 0, end: 1, vector: v }]);
}

/** Every kind of scan the store has, as (scan options, generation options). */
const KINDS: [string, ScanOptions | undefined, GenerationOptions][] = [
  ['int8 in memory, rescored (the default)', undefined, {}],
  ['float32 in memory', { float: 'float32' }, {}],
  ['sqlite-vec', { float: 'sqlite-vec' }, {}],
  ['binary quantization', undefined, { quantization: 'binary', oversample: 100 }],
  ['int8 quantization', undefined, { quantization: 'int8', oversample: 100 }],
];

describe('every scan kind', () => {
  it.each(KINDS)(
    '%s: returns exactly the float-exact top k when oversampling covers the generation',
    (_, scan, options) => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 40 }).chain((d) =>
            fc.record({
              d: fc.constant(d),
              vectors: fc.array(
                fc.array(fc.float({ min: -1, max: 1, noNaN: true }), {
                  minLength: d,
                  maxLength: d,
                }),
                { minLength: 1, maxLength: 30 },
              ),
              query: fc.array(fc.float({ min: -1, max: 1, noNaN: true }), {
                minLength: d,
                maxLength: d,
              }),
              limit: fc.integer({ min: 1, max: 8 }),
            }),
          ),
          ({ d, vectors, query, limit }) => {
            const usable = vectors
              .map((v) => Float32Array.from(v))
              .filter((v) => v.some((x) => Math.abs(x) > 1e-3));
            const q = Float32Array.from(query);
            if (usable.length === 0 || !q.some((x) => Math.abs(x) > 1e-3)) return;
            const file = `p${Math.random().toString(36).slice(2)}.db`;
            const store = open(file, scan, true);
            try {
              store.ensureGeneration('g', { model: 'm', dimensions: d }, 'active', options);
              for (const [i, v] of usable.entries()) save(store, 'g', i + 1, v);
              if (options.quantization === 'binary') store.recenter('g');
              const hits = store.queryGeneration('g', q, limit);
              const want = usable
                .map((v, i) => ({ doc: i + 1, score: cosine(v, q) }))
                .sort((a, b) => b.score - a.score)
                .slice(0, limit);
              expect(hits).toHaveLength(want.length);
              for (let i = 0; i < want.length; i++) {
                expect(hits[i]!.score).toBeCloseTo(want[i]!.score, 4);
                if (hits[i]!.doc !== want[i]!.doc) {
                  // Only an exact tie may swap two documents.
                  const other = cosine(usable[(hits[i]!.doc as number) - 1]!, q);
                  expect(other).toBeCloseTo(want[i]!.score, 6);
                }
              }
            } finally {
              store.db.close();
            }
          },
        ),
        { numRuns: 15 },
      );
    },
  );
});

describe('in-memory scans follow other connections through the change log', () => {
  const D = 16;
  const vec = (seed: number) =>
    Float32Array.from({ length: D }, (_, j) => Math.sin(seed * 12.9898 + j * 78.233));

  /**
   * A second connection to `file` reading generation `key` through its own
   * in-memory index, counting whole loads and rows read back.
   */
  function reader(file: string, key: string, rows: number) {
    const db = openDatabase(join(dir, file));
    const id = db.prepare('SELECT id FROM vf_generations WHERE key = ?').pluck().get(key) as number;
    const table = `vf_vec_${id}`;
    const counts = { loads: 0, read: 0 };
    const source: GenerationSource = {
      all: () => {
        counts.loads++;
        return readVec0Chunks(db, table, D)!;
      },
      some: (ids) => {
        counts.read += ids.length;
        return readVec0Rows(db, table, D, ids)!;
      },
      center: () => undefined,
      count: () => rows,
    };
    const scans = new ScanIndexes(db, 'vf', { float: 'float32' });
    const g = { id, dimensions: D, quantization: null };
    return { db, counts, fresh: () => scans.fresh(g, source)! };
  }

  it('another process rewriting 1 % of the rows costs a replay of those rows, not a reload', () => {
    const writer = open('log.db', undefined, true);
    writer.ensureGeneration('g', { model: 'm', dimensions: D }, 'active');
    for (let i = 1; i <= 500; i++) save(writer, 'g', i, vec(i));
    const r = reader('log.db', 'g', 500);
    const first = r.fresh();
    expect(r.counts.loads).toBe(1);
    expect(first.size).toBe(500);
    // Another connection re-embeds 5 documents (1 %) with new vectors.
    for (let i = 1; i <= 5; i++) save(writer, 'g', i, vec(1000 + i));
    const after = r.fresh();
    expect(r.counts.loads).toBe(1);
    expect(r.counts.read).toBe(5);
    expect(after.size).toBe(500);
    expect(after.candidates(vec(1003), 1)[0]![1]).toBeCloseTo(0, 5);
    // Nothing changed: nothing read.
    r.fresh();
    expect(r.counts.read).toBe(5);
    // Deleting a document removes its row from memory.
    writer.deleteVectors(7);
    expect(r.fresh().size).toBe(499);
    writer.db.close();
    r.db.close();
  });

  it("writes to another generation never trim this generation's log past a current reader", () => {
    const keep = [ChangeLog.KEEP, ChangeLog.TRIM_EVERY] as const;
    ChangeLog.KEEP = 40;
    ChangeLog.TRIM_EVERY = 8;
    try {
      const writer = open('trim.db', undefined, true);
      writer.ensureGeneration('a', { model: 'm', dimensions: D }, 'active');
      writer.ensureGeneration('b', { model: 'm2', dimensions: D }, 'building');
      for (let i = 1; i <= 30; i++) save(writer, 'a', i, vec(i));
      const r = reader('trim.db', 'a', 30);
      r.fresh();
      expect(r.counts.loads).toBe(1);
      // Far more than KEEP entries for generation b, then a few changes to a.
      const items = Array.from({ length: 200 }, (_, i) => ({
        doc: (i % 30) + 1,
        revision: 1,
        vectors: [{ chunkIndex: 0, start: 0, end: 1, vector: vec(500 + i) }],
      }));
      for (const item of items) writer.saveMany('b', [item]);
      // Five saves to a (ten entries): the shared sequence passes a trim point.
      for (let i = 1; i <= 5; i++) save(writer, 'a', i, vec(995 + i));
      const after = r.fresh();
      expect(r.counts.loads).toBe(1);
      expect(after.candidates(vec(999), 1)[0]![1]).toBeCloseTo(0, 5);
      // Past KEEP entries of its own generation, a reader that did not look reloads.
      for (let round = 0; round < 3; round++)
        for (let i = 1; i <= 30; i++) save(writer, 'a', i, vec(2000 + round * 100 + i));
      r.fresh();
      expect(r.counts.loads).toBe(2);
      writer.db.close();
      r.db.close();
    } finally {
      [ChangeLog.KEEP, ChangeLog.TRIM_EVERY] = keep;
    }
  });

  it('a search in another connection sees new, edited and deleted documents at once', () => {
    const writer = open('fresh.db', undefined, true);
    writer.ensureGeneration('g', { model: 'm', dimensions: D }, 'active');
    for (let i = 1; i <= 50; i++) save(writer, 'g', i, vec(i));
    const reader = open('fresh.db');
    expect(reader.queryGeneration('g', vec(3), 1)[0]).toMatchObject({ doc: 3 });
    save(writer, 'g', 3, vec(999)); // edited
    save(writer, 'g', 77, vec(3)); // new, at the old place of 3
    expect(reader.queryGeneration('g', vec(3), 1)[0]).toMatchObject({ doc: 77 });
    expect(reader.queryGeneration('g', vec(999), 1)[0]).toMatchObject({ doc: 3 });
    writer.deleteVectors(77);
    expect(reader.queryGeneration('g', vec(3), 1)[0]!.doc).not.toBe(77);
    writer.db.close();
    reader.db.close();
  });

  it('re-centring binary codes makes every reader reload (all codes changed)', () => {
    const writer = open('center.db', undefined, true);
    writer.ensureGeneration('b', { model: 'm', dimensions: D }, 'active', {
      quantization: 'binary',
    });
    for (let i = 1; i <= 40; i++) save(writer, 'b', i, vec(i));
    const reader = open('center.db');
    expect(reader.queryGeneration('b', vec(5), 1)[0]).toMatchObject({ doc: 5 });
    writer.recenter('b');
    expect(reader.queryGeneration('b', vec(5), 1)[0]).toMatchObject({ doc: 5 });
    expect(reader.generations()[0]!.centered).toBe(true);
    writer.db.close();
    reader.db.close();
  });
});

describe('the change log of a database made before its covering index', () => {
  const D = 8;
  const vec = (seed: number) =>
    Float32Array.from({ length: D }, (_, j) => Math.sin(seed * 7.31 + j * 1.7));
  const indexes = (store: SqliteStore) =>
    store.db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'vf_changes'")
      .pluck()
      .all();
  /** A file whose change log has the old (gen, seq) index only, as before. */
  function oldFile(): void {
    const old = open('old-log.db', undefined, true);
    old.ensureGeneration('g', { model: 'm', dimensions: D }, 'active');
    for (let i = 1; i <= 30; i++) save(old, 'g', i, vec(i));
    old.db.exec(`DROP INDEX vf_changes_gen_seq;
      CREATE INDEX vf_changes_gen ON vf_changes(gen, seq);`);
    old.db.close();
  }

  it('is given the covering index on open, and catch-up reads the log from the index alone', () => {
    oldFile();
    const store = open('old-log.db');
    expect(indexes(store)).toEqual(['vf_changes_gen_seq']);
    const plan = store.db
      .prepare(
        'EXPLAIN QUERY PLAN SELECT chunk, removed FROM vf_changes WHERE gen = 1 AND seq > 0 AND seq <= 9 ORDER BY seq',
      )
      .all() as { detail: string }[];
    expect(plan.map((p) => p.detail).join(' ')).toContain('COVERING INDEX vf_changes_gen_seq');
    expect(store.queryGeneration('g', vec(4), 1)[0]).toMatchObject({ doc: 4 });
    save(store, 'g', 4, vec(400));
    expect(store.queryGeneration('g', vec(400), 1)[0]).toMatchObject({ doc: 4 });
    store.db.close();
  });

  it('still opens read-only (keeping the old index) and follows the writers', () => {
    oldFile();
    const reader = SqliteStore.open(
      openDatabase(join(dir, 'old-log.db'), { readonly: true }),
      SCHEMA,
    );
    expect(indexes(reader)).toEqual(['vf_changes_gen']);
    expect(reader.queryGeneration('g', vec(9), 1)[0]).toMatchObject({ doc: 9 });
    const writer = open('old-log.db');
    save(writer, 'g', 9, vec(900));
    save(writer, 'g', 31, vec(9));
    expect(reader.queryGeneration('g', vec(900), 1)[0]).toMatchObject({ doc: 9 });
    expect(reader.queryGeneration('g', vec(9), 1)[0]).toMatchObject({ doc: 31 });
    writer.db.close();
    reader.db.close();
  });
});

describe('resident memory', () => {
  const D = 24;
  const vec = (seed: number) =>
    Float32Array.from({ length: D }, (_, j) => Math.cos(seed * 3.7 + j * 1.3));

  it('stats() reports each generation scan and its resident bytes', () => {
    const store = open('stats.db', undefined, true);
    store.ensureGeneration('g', { model: 'm', dimensions: D }, 'active');
    for (let i = 1; i <= 100; i++) save(store, 'g', i, vec(i));
    const before = store.stats('g').scan;
    expect(before.scan).toBe('int8');
    expect(before.residentBytes).toBeGreaterThan(100 * D);
    store.queryGeneration('g', vec(1), 3);
    const loaded = store.stats('g').scan;
    expect(loaded.scan).toBe('int8');
    expect(loaded.residentBytes).toBeGreaterThan(100 * D);
    store.db.close();
  });

  it('above the cap, a generation is scanned by sqlite-vec, results unchanged, and stats say why', () => {
    const capped = open('cap.db', { float: 'float32', maxResidentBytes: 1000 }, true);
    capped.ensureGeneration('g', { model: 'm', dimensions: D }, 'active');
    for (let i = 1; i <= 200; i++) save(capped, 'g', i, vec(i));
    const status = capped.stats('g').scan;
    expect(status.scan).toBe('sqlite-vec');
    expect(status.residentBytes).toBe(0);
    expect(status.note).toMatch(/float32 index .* would pass the 1000-byte memory cap/);
    const free = open('cap.db', { float: 'float32' });
    const q = vec(42.5);
    expect(capped.queryGeneration('g', q, 5).map((h) => h.doc)).toEqual(
      free.queryGeneration('g', q, 5).map((h) => h.doc),
    );
    expect(free.stats('g').scan.scan).toBe('float32');
    capped.db.close();
    free.db.close();
  });

  it('rejects a bad scan option with a message that says what is allowed', () => {
    throwsWith(
      () => open('bad.db', { float: 'fp16' as 'int8' }, true),
      TypeError,
      /scan.float must be one of int8, float32, sqlite-vec/,
    );
    throwsWith(
      () => open('bad2.db', { maxResidentBytes: -1 }, true),
      RangeError,
      /maxResidentBytes/,
    );
  });
});

describe('filtered search from memory', () => {
  it.each([
    ['1 % of rows: the matching chunks are listed in SQL and scored from memory', 'very', 10],
    [
      '5 % of rows: one scan, then rows in score order checked against the filter in SQL',
      'rare',
      20,
    ],
  ])('%s, the same answer as sqlite-vec', (_, category, every) => {
    const D = 12;
    const mem = open('filter.db', { float: 'float32' }, true);
    mem.ensureGeneration('g', { model: 'm', dimensions: D }, 'active');
    for (let i = 1; i <= 1000; i++) {
      save(
        mem,
        'g',
        i,
        Float32Array.from({ length: D }, (_, j) => Math.sin(i * 0.37 + j)),
      );
      mem.db
        .prepare('UPDATE docs SET category = ? WHERE id = ?')
        .run(i % 100 === 0 ? 'very' : i % 20 === 0 ? 'rare' : 'common', i);
    }
    const vecStore = open('filter.db', { float: 'sqlite-vec' });
    const q = Float32Array.from({ length: D }, (_, j) => Math.cos(j));
    const filter = { where: 'd.category = ?', params: [category] };
    const a = mem.queryGeneration('g', q, 7, { filter });
    const b = vecStore.queryGeneration('g', q, 7, { filter });
    expect(a).toHaveLength(7);
    expect(a.every((h) => (h.doc as number) % every === 0)).toBe(true);
    expect(a.map((h) => h.doc)).toEqual(b.map((h) => h.doc));
    for (let i = 0; i < 7; i++) expect(a[i]!.score).toBeCloseTo(b[i]!.score, 5);
    mem.db.close();
    vecStore.db.close();
  });
});

describe('loading a quantized generation (its floats in a plain table)', () => {
  it('packs the rows into batches as they are read: every row once, in order, bytes unchanged', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.float({ noNaN: true }), { maxLength: 300 }),
        (d, per, xs) => {
          const n = Math.floor(xs.length / d);
          const rows = Array.from({ length: n }, (_, i) => {
            const v = Float32Array.from(xs.slice(i * d, (i + 1) * d));
            return [BigInt(1000 + i * 3), Buffer.from(v.buffer)] as const;
          });
          const batches = [...packBatches(rows, d, per)];
          expect(batches.every((b) => b.ids.length <= per && b.ids.length > 0)).toBe(true);
          expect(batches.flatMap((b) => Array.from(b.ids))).toEqual(rows.map(([id]) => Number(id)));
          const bytes = Buffer.concat(
            batches.map((b) =>
              Buffer.from(b.vectors.buffer, b.vectors.byteOffset, b.vectors.byteLength),
            ),
          );
          expect(bytes.equals(Buffer.concat(rows.map(([, b]) => b)))).toBe(true);
        },
      ),
    );
  });
});

describe('loading a float generation', () => {
  it("reads vec0's chunk storage and gets exactly the rows a vec0 SELECT returns", async () => {
    const store = open('chunks.db', undefined, true);
    store.ensureGeneration('g', { model: 'm', dimensions: 5 }, 'active');
    for (let i = 1; i <= 2500; i++)
      save(
        store,
        'g',
        i,
        Float32Array.from({ length: 5 }, (_, j) => Math.sin(i + j)),
      );
    for (let i = 1; i <= 2500; i += 7) store.deleteVectors(i); // holes in the chunks
    const fast = [...readVec0Chunks(store.db, 'vf_vec_1', 5)!].flatMap(({ ids, vectors }) =>
      Array.from(ids, (id, i) => [id, Array.from(vectors.subarray(i * 5, (i + 1) * 5))] as const),
    );
    const slow = (
      store.db.prepare('SELECT rowid, embedding FROM vf_vec_1').raw().all() as [number, Buffer][]
    ).map(([id, b]) => [id, Array.from(new Float32Array(new Uint8Array(b).buffer))] as const);
    const sort = (rows: (readonly [number, number[]])[]) => [...rows].sort((a, b) => a[0] - b[0]);
    expect(fast).toHaveLength(slow.length);
    expect(sort(fast)).toEqual(sort(slow));
    expect(readVec0Chunks(store.db, 'vf_no_such_table', 5)).toBeNull();
    store.db.close();
  });

  it('reads chosen rows in bulk (whole chunks where many sit together) exactly as vec0 point reads do', () => {
    const store = open('rows.db', undefined, true);
    store.ensureGeneration('g', { model: 'm', dimensions: 5 }, 'active');
    for (let i = 1; i <= 2500; i++)
      save(
        store,
        'g',
        i,
        Float32Array.from({ length: 5 }, (_, j) => Math.cos(i * 0.3 + j)),
      );
    for (let i = 1; i <= 2500; i += 9) store.deleteVectors(i);
    // Scattered ids (one by one), a dense run (a whole chunk), deleted and unknown ids.
    const ids = [
      3,
      5,
      1024,
      1500,
      ...Array.from({ length: 400 }, (_, i) => 2000 + i),
      1,
      10,
      99_999,
    ];
    const point = store.db.prepare('SELECT embedding FROM vf_vec_1 WHERE rowid = ?').pluck();
    const want = ids
      .map((id) => [id, point.get(BigInt(id)) as Buffer | undefined] as const)
      .filter(([, b]) => b !== undefined)
      .map(([id, b]) => [id, [...b!]] as const);
    const got = readVec0Rows(store.db, 'vf_vec_1', 5, ids)!.map(([id, b]) => [id, [...b]] as const);
    const sort = (rows: (readonly [number, readonly number[]])[]) =>
      [...rows].sort((a, b) => a[0] - b[0]);
    expect(want.length).toBeGreaterThan(350);
    expect(sort(got)).toEqual(sort(want));
    const asRows = (b: { ids: ArrayLike<number>; vectors: Float32Array }) =>
      sort(
        Array.from(b.ids, (id, i) => [
          id,
          [...new Uint8Array(b.vectors.buffer, b.vectors.byteOffset + i * 20, 20)],
        ]),
      );
    expect(asRows(readVec0Batch(store.db, 'vf_vec_1', 5, ids)!)).toEqual(sort(want));
    // Into the connection's reused buffer: each batch right until the next call.
    const few = want.slice(0, 3);
    expect(asRows(readVec0Batch(store.db, 'vf_vec_1', 5, ids, true)!)).toEqual(sort(want));
    expect(
      asRows(
        readVec0Batch(
          store.db,
          'vf_vec_1',
          5,
          few.map(([id]) => id),
          true,
        )!,
      ),
    ).toEqual(sort(few));
    // A dense run (rows written together, read by their whole chunks), with
    // deleted ids inside it and an id past the last row.
    const dense = [...Array.from({ length: 300 }, (_, i) => 2100 + i), 2600];
    const denseWant = dense
      .map((id) => [id, point.get(BigInt(id)) as Buffer | undefined] as const)
      .filter(([, b]) => b !== undefined)
      .map(([id, b]) => [id, [...b!]] as const);
    expect(denseWant.length).toBeGreaterThan(250);
    expect(asRows(readVec0Batch(store.db, 'vf_vec_1', 5, dense)!)).toEqual(sort(denseWant));
    // Too few ids for a whole chunk (a search's rescoring): point reads only, the same rows.
    const scattered = [1500, 3, 10, 1, 99_999, 1024];
    const scatteredGot = readVec0Rows(store.db, 'vf_vec_1', 5, scattered)!.map(
      ([id, b]) => [id, [...b]] as const,
    );
    expect(sort(scatteredGot)).toEqual(sort(want.filter(([id]) => scattered.includes(id))));
    expect(scatteredGot).toHaveLength(3); // 1 and 10 were deleted, 99,999 never existed
    expect(readVec0Rows(store.db, 'vf_vec_1', 5, [])).toEqual([]);
    expect(readVec0Rows(store.db, 'vf_no_such_table', 5, [1])).toBeNull();
    store.db.close();
  });
});

describe('reading rows of a vec0 table written in any order', () => {
  it('dense ids whose rows sit in many chunks (written out of order) read the same as point reads', () => {
    const db = openDatabase(join(dir, 'order.db'));
    db.exec('CREATE VIRTUAL TABLE bare USING vec0(embedding float[3], chunk_size=8)');
    const ins = db.prepare('INSERT INTO bare (rowid, embedding) VALUES (?, ?)');
    const order = Array.from({ length: 400 }, (_, i) => 1 + ((i * 151) % 400));
    for (const id of order)
      ins.run(BigInt(id), Buffer.from(Float32Array.of(id, -id, id / 7).buffer));
    db.exec('DELETE FROM bare WHERE rowid IN (110, 150, 151, 152)');
    const point = db.prepare('SELECT embedding FROM bare WHERE rowid = ?').pluck();
    const sorted = (rows: (readonly [number, readonly number[]])[]) =>
      [...rows].sort((a, b) => a[0] - b[0]);
    for (const ids of [
      // 40 dense ids in nearly every chunk: their rowid-table rows are listed.
      Array.from({ length: 40 }, (_, i) => 101 + i),
      // 200 dense ids, every chunk holding several: read from the chunks' slots.
      Array.from({ length: 200 }, (_, i) => 101 + i),
      // Deleted rows only, then missing rows past the end.
      [150, 151, 152],
      [150, 151, 152, 153, 154, 155, 156, 157, 158, 401, 402],
    ]) {
      const want = ids
        .map((id) => [id, point.get(BigInt(id)) as Buffer | undefined] as const)
        .filter(([, b]) => b !== undefined)
        .map(([id, b]) => [id, [...new Float32Array(new Uint8Array(b!).buffer)]] as const);
      const batch = readVec0Batch(db, 'bare', 3, ids)!;
      const got = Array.from(
        batch.ids,
        (id, i) => [id, [...batch.vectors.subarray(i * 3, (i + 1) * 3)]] as const,
      );
      expect(sorted(got)).toEqual(sorted(want));
      expect(got.length).toBe(
        ids.filter((id) => id <= 400 && ![110, 150, 151, 152].includes(id)).length,
      );
    }
    db.close();
  });
});

describe("vec0's chunk layout", () => {
  const D = 12;
  const vec = (seed: number) =>
    Float32Array.from({ length: D }, (_, j) => Math.sin(seed * 3.7 + j * 1.3) + 0.1 * j);
  const sizes = (store: SqliteStore) =>
    store.db.prepare('SELECT DISTINCT size FROM vf_vec_1_chunks').pluck().all();

  it(`new float generations keep ${VEC0_CHUNK_ROWS} rows a chunk`, () => {
    const store = open('layout.db', undefined, true);
    store.ensureGeneration('g', { model: 'm', dimensions: D }, 'active');
    for (let i = 1; i <= 150; i++) save(store, 'g', i, vec(i));
    expect(sizes(store)).toEqual([VEC0_CHUNK_ROWS]);
    expect(store.db.prepare('SELECT count(*) FROM vf_vec_1_chunks').pluck().get()).toBe(
      Math.ceil(150 / VEC0_CHUNK_ROWS),
    );
    store.db.close();
  });

  it.each([
    ['int8', { float: 'int8' }],
    ['float32', { float: 'float32' }],
  ] as const)(
    "%s: a generation made with sqlite-vec's default 1,024-row chunks (an earlier vecfill) searches and follows other connections like a new one",
    (_, scan) => {
      const searchers: SqliteStore[] = [];
      for (const file of ['old.db', 'new.db']) {
        const store = open(file, scan, true);
        if (file === 'old.db')
          // What the store created before it chose the chunk size.
          store.db.exec(
            `CREATE VIRTUAL TABLE vf_vec_1 USING vec0(embedding float[${D}] distance_metric=cosine)`,
          );
        store.ensureGeneration('g', { model: 'm', dimensions: D }, 'active');
        for (let i = 1; i <= 400; i++) save(store, 'g', i, vec(i));
        searchers.push(store);
      }
      const [old, fresh] = searchers as [SqliteStore, SqliteStore];
      expect(sizes(old)).toEqual([1024]);
      expect(sizes(fresh)).toEqual([VEC0_CHUNK_ROWS]);
      const final = new Map(Array.from({ length: 400 }, (_, i) => [i + 1, vec(i + 1)]));
      const top = (store: SqliteStore, q: Float32Array) =>
        store.queryGeneration('g', q, 5).map((h) => [h.doc, h.score] as const);
      const want = (q: Float32Array) =>
        [...final]
          .map(([doc, v]) => [doc, cosine(v, q)] as const)
          .sort((a, b) => b[1] - a[1])
          .slice(0, 5);
      const check = (q: Float32Array) => {
        for (const store of searchers) {
          const got = top(store, q);
          expect(got.map(([doc]) => doc)).toEqual(want(q).map(([doc]) => doc));
          for (const [i, [, score]] of got.entries()) expect(score).toBeCloseTo(want(q)[i]![1], 5);
        }
      };
      check(vec(7));
      // Another connection re-embeds 60 documents (dense new rows, whole
      // chunks read back) and deletes 5; both readers apply just that.
      for (const file of ['old.db', 'new.db']) {
        const writer = open(file);
        for (let i = 1; i <= 60; i++) save(writer, 'g', i * 6, vec(1000 + i));
        for (let i = 0; i < 5; i++) writer.deleteVectors(301 + i);
        writer.db.close();
      }
      for (let i = 1; i <= 60; i++) final.set(i * 6, vec(1000 + i));
      for (let i = 0; i < 5; i++) final.delete(301 + i);
      check(vec(1030));
      check(vec(7));
      check(vec(302));
      for (const store of searchers) store.db.close();
    },
  );
});
