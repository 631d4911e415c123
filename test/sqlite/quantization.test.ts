import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fill, GenerationConflictError } from '../../src/core/index.js';
import { openDatabase, type Quantization, SqliteStore } from '../../src/sqlite/index.js';
import { quantize, rescore } from '../../src/sqlite/quantize.js';
import { cosine } from '../support/memory-store.js';
import { rng } from '../support/rng.js';
import { throwsWith } from '../support/thrown.js';
import { DOCS_DDL, SCHEMA, tempDir } from './helpers.js';

const DIMS = 20; // not a multiple of 8: the binary codes are padded
const GEN = { model: 'clustered', dimensions: DIMS };

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(Math.max(random(), 1e-12))) * Math.cos(2 * Math.PI * random());
}

/** Unit vectors around `clusters` random centers: data like real embeddings, not uniform noise. */
function clustered(n: number, clusters: number, seed: number): Float32Array[] {
  const random = rng(seed);
  const centers = Array.from({ length: clusters }, () =>
    Float32Array.from({ length: DIMS }, () => gaussian(random)),
  );
  return Array.from({ length: n }, () => {
    const c = centers[Math.floor(random() * clusters)]!;
    const v = Float32Array.from(c, (x) => x + 0.3 * gaussian(random));
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  });
}

function cosineDistance(a: Float32Array, b: Float32Array): number {
  return 1 - cosine(a, b);
}

describe('quantize and rescore', () => {
  it('binary sets one bit per positive component, padding bits stay zero', () => {
    const v = Float32Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? 0.5 : -0.5));
    // bits 0, 3, 6, 9 → byte 0: 0b01001001, byte 1: 0b00000010
    expect([...quantize('binary', v)]).toEqual([0b01001001, 0b00000010]);
  });

  it('int8 scales each vector so its largest component is ±127', () => {
    const q = quantize('int8', Float32Array.from([0.25, -0.5, 0.125]));
    expect([...new Int8Array(q.buffer, q.byteOffset, q.length)]).toEqual([64, -127, 32]);
  });

  it('rescore orders candidates by exact cosine distance', () => {
    const query = Float32Array.from([1, 0, 0]);
    const blob = (xs: number[]) => Buffer.from(Float32Array.from(xs).buffer);
    const ranked = rescore(query, [
      [1, blob([0, 1, 0])],
      [2, blob([2, 0.1, 0])],
      [3, blob([-1, 0, 0])],
    ]);
    expect(ranked.map(([id]) => id)).toEqual([2, 1, 3]);
    expect(ranked[0]![1]).toBeCloseTo(1 - 2 / Math.hypot(2, 0.1), 6);
    expect(ranked[2]![1]).toBeCloseTo(2, 6);
  });
});

describe.each<Quantization>(['binary', 'int8'])(
  'SqliteStore with %s quantization',
  (quantization) => {
    let db: Database.Database;
    let store: SqliteStore;
    let cleanup: () => void;
    let dir: string;
    const vectors = clustered(600, 12, 5);
    const queries = clustered(20, 12, 5).map((_, i) =>
      vectors[i * 29]!.map((x, j) => x + (j % 2 ? 0.01 : -0.01)),
    );

    beforeEach(() => {
      ({ dir, cleanup } = tempDir());
      db = openDatabase(join(dir, 'q.db'));
      db.exec(DOCS_DDL);
      const ins = db.prepare('INSERT INTO docs (id, content) VALUES (?, ?)');
      for (let i = 0; i < vectors.length; i++) ins.run(i + 1, `doc ${i + 1}`);
      store = SqliteStore.open(db, SCHEMA);
      store.ensureGeneration('q', GEN, 'active', { quantization });
      store.saveMany(
        'q',
        vectors.map((vector, i) => ({
          doc: i + 1,
          revision: 1,
          vectors: [{ chunkIndex: 0, start: 0, end: 5, vector }],
        })),
      );
    });
    afterEach(() => {
      db.close();
      cleanup();
    });

    function exactTop(query: Float32Array, k: number, exclude = new Set<number>()): number[] {
      return vectors
        .map((v, i) => ({ doc: i + 1, d: cosineDistance(v, query) }))
        .filter((x) => !exclude.has(x.doc))
        .sort((a, b) => a.d - b.d)
        .slice(0, k)
        .map((x) => x.doc);
    }

    it('finds the exact top 10 on clustered data, with exact cosine scores', () => {
      let found = 0;
      for (const q of queries) {
        const hits = store.queryGeneration('q', q, 10);
        expect(hits).toHaveLength(10);
        const truth = new Set(exactTop(q, 10));
        found += hits.filter((h) => truth.has(h.doc as number)).length;
        for (const h of hits) {
          expect(h.score).toBeCloseTo(1 - cosineDistance(vectors[(h.doc as number) - 1]!, q), 5);
        }
        const scores = hits.map((h) => h.score);
        expect(scores).toEqual([...scores].sort((a, b) => b - a));
      }
      expect(found / (queries.length * 10)).toBeGreaterThanOrEqual(0.95);
    });

    it('saveMany with one document twice keeps the last item: its vectors, and no vector of the first', () => {
      const first = [vectors[10]!, vectors[11]!].map((vector, index) => ({
        chunkIndex: index,
        start: index,
        end: index + 1,
        vector,
      }));
      store.saveMany('q', [
        { doc: 1, revision: 1, vectors: first },
        {
          doc: 2,
          revision: 1,
          vectors: [{ chunkIndex: 0, start: 0, end: 5, vector: vectors[1]! }],
        },
        {
          doc: 1,
          revision: 1,
          vectors: [{ chunkIndex: 0, start: 0, end: 5, vector: vectors[20]! }],
        },
      ]);
      const g = db.prepare("SELECT id FROM vf_generations WHERE key = 'q'").pluck().get() as number;
      const count = (table: string) =>
        db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
      expect(count(`vf_chunks WHERE gen = ${g}`)).toBe(600);
      expect(count(`vf_vec_${g}`)).toBe(600);
      expect(count(`vf_full_${g}`)).toBe(600);
      expect(
        count(`vf_full_${g} f WHERE NOT EXISTS (SELECT 1 FROM vf_chunks c WHERE c.id = f.id)`),
      ).toBe(0);
      const hits = store.queryGeneration('q', vectors[20]!, 2).map((h) => h.doc);
      expect(hits.sort()).toEqual([1, 21]);
      expect(store.queryGeneration('q', vectors[11]!, 1)[0]).toMatchObject({ doc: 12 });
    });

    it('records the quantization and reports the index size', () => {
      const info = store.generations()[0]!;
      expect(info).toMatchObject({
        key: 'q',
        quantization,
        oversample: quantization === 'binary' ? 40 : 4,
      });
      const stats = store.stats('q');
      expect(stats).toMatchObject({ chunks: 600, vectorBytes: 600 * DIMS * 4, quantization });
      expect(stats.indexBytes).toBe(600 * (quantization === 'binary' ? 3 : DIMS));
    });

    it('widens past deleted rows: with oversample 1, the 100 nearest documents deleted, limit 10 still returns 10 live hits', () => {
      // limit × oversample = 10 (the first window is 16 candidates): the
      // 100 deleted documents fill it several times over, so only widening
      // finds the live ones.
      store.ensureGeneration('q', GEN, 'active', { oversample: 1 });
      const q = queries[0]!;
      const nearest = exactTop(q, 100);
      const del = db.prepare('DELETE FROM docs WHERE id = ?');
      for (const id of nearest) del.run(id);
      const hits = store.queryGeneration('q', q, 10);
      expect(hits).toHaveLength(10);
      for (const h of hits) expect(nearest).not.toContain(h.doc);
      // Rescored exactly (with oversample 1 the candidates, not the scores, are approximate).
      for (const h of hits)
        expect(h.score).toBeCloseTo(1 - cosineDistance(vectors[(h.doc as number) - 1]!, q), 5);
    });

    it("falls back to an exact scan of the float vectors past sqlite-vec's 4096 window, and it keeps the freshness rule", () => {
      // A generation bigger than the largest window: 4995 stale documents
      // right at the query (every candidate window holds only them) and 5
      // live ones at the far side. Only the exact scan reaches the live ones,
      // and it must not return the stale ones it passes on the way.
      const q = queries[3]!;
      const far = q.map((x) => -x);
      const n = 5000;
      db.exec('DELETE FROM docs');
      store.ensureGeneration('x', { ...GEN, params: { big: true } }, 'building', {
        quantization,
        oversample: 1,
      });
      const ins = db.prepare('INSERT INTO docs (id, content) VALUES (?, ?)');
      db.transaction(() => {
        for (let i = 1; i <= n; i++) ins.run(i, `doc ${i}`);
      })();
      store.saveMany(
        'x',
        Array.from({ length: n }, (_, i) => ({
          doc: i + 1,
          revision: 1,
          vectors: [{ chunkIndex: 0, start: 0, end: 5, vector: i < n - 5 ? q : far }],
        })),
      );
      db.prepare('UPDATE docs SET revision = 2 WHERE id <= ?').run(n - 5);
      const hits = store.queryGeneration('x', q, 10);
      expect(hits.map((h) => h.doc).sort()).toEqual([4996, 4997, 4998, 4999, 5000]);
      for (const h of hits) expect(h.score).toBeCloseTo(-1, 5);
    });

    it('an edited document is found by its new vector, never its old one', () => {
      const q = queries[5]!;
      const target = exactTop(q, 600).at(-1)!; // the farthest document
      db.prepare("UPDATE docs SET content = 'moved', revision = 2 WHERE id = ?").run(target);
      expect(store.queryGeneration('q', q, 5).map((h) => h.doc)).not.toContain(target);
      store.saveVectors('q', target, 2, [{ chunkIndex: 0, start: 0, end: 5, vector: q }]);
      const hits = store.queryGeneration('q', q, 5);
      expect(hits[0]).toMatchObject({ doc: target });
      expect(hits[0]!.score).toBeCloseTo(1, 5);
    });

    it('another connection sees every write at once (the in-memory codes follow the change log)', () => {
      const other = SqliteStore.open(openDatabase(join(dir, 'q.db')), SCHEMA);
      const q = queries[7]!;
      expect(other.queryGeneration('q', q, 3)).toHaveLength(3); // codes now cached in `other`
      // A new document, embedded by the first connection, exactly at the query.
      db.prepare("INSERT INTO docs (id, content) VALUES (9001, 'new')").run();
      store.saveVectors('q', 9001, 1, [{ chunkIndex: 0, start: 0, end: 3, vector: q }]);
      expect(other.queryGeneration('q', q, 3)[0]).toMatchObject({ doc: 9001 });
      // Re-embedding the newest document reuses its chunk id: the new code must be used.
      const far = q.map((x) => -x);
      db.prepare('UPDATE docs SET revision = 2 WHERE id = 9001').run();
      store.saveVectors('q', 9001, 2, [{ chunkIndex: 0, start: 0, end: 3, vector: far }]);
      expect(other.queryGeneration('q', q, 3).map((h) => h.doc)).not.toContain(9001);
      expect(other.queryGeneration('q', far, 1)[0]).toMatchObject({ doc: 9001 });
      other.db.close();
    });

    it('reclaim drops the quantized index and the float table', () => {
      store.ensureGeneration('r', { ...GEN, params: { v: 2 } }, 'building', { quantization });
      store.retire('r');
      const tables = () =>
        db
          .prepare(
            "SELECT name FROM sqlite_master WHERE name LIKE 'vf_vec_2%' OR name LIKE 'vf_full_2%'",
          )
          .pluck()
          .all();
      expect(tables()).toContain('vf_full_2');
      store.reclaim('r');
      expect(tables()).toEqual([]);
    });
  },
);

describe('re-centring binary codes', () => {
  /** Vectors sharing one dominant direction, as many sentence encoders' do. */
  const D = 64;
  const G64 = { model: 'anisotropic', dimensions: D };
  /** Clustered vectors that also share one dominant direction, as many sentence encoders' do. */
  function anisotropic(n: number, seed: number): Float32Array[] {
    const random = rng(seed);
    const common = Float32Array.from({ length: D }, () => gaussian(random));
    const centers = Array.from({ length: 40 }, () =>
      Float32Array.from({ length: D }, () => gaussian(random)),
    );
    return Array.from({ length: n }, () => {
      const c = centers[Math.floor(random() * centers.length)]!;
      const v = Float32Array.from(common, (x, i) => 6 * x + c[i]! + 0.3 * gaussian(random));
      const norm = Math.hypot(...v);
      return v.map((x) => x / norm);
    });
  }

  it('a library fill that completes a binary generation centers its codes, as the CLI fill does', async () => {
    const { dir, cleanup } = tempDir();
    const db = openDatabase(join(dir, 'f.db'));
    try {
      db.exec(DOCS_DDL);
      const vectors = anisotropic(300, 5);
      const ins = db.prepare('INSERT INTO docs (id, content) VALUES (?, ?)');
      for (let i = 0; i < vectors.length; i++) ins.run(i + 1, `doc ${i + 1}`);
      const store = SqliteStore.open(db, SCHEMA);
      // Created active, so no activate() would center it: the fill must.
      store.ensureGeneration('a', G64, 'active', { quantization: 'binary' });
      const encode = async (texts: string[]) =>
        texts.map((t) => vectors[Number(t.split(' ')[1]) - 1]!);
      // Part of it saved and scanned: the codes stay (the mean of a part is not the generation's).
      store.saveMany(
        'a',
        vectors.slice(0, 100).map((vector, i) => ({
          doc: i + 1,
          revision: 1,
          vectors: [{ chunkIndex: 0, start: 0, end: 5, vector }],
        })),
      );
      expect(store.pendingForGeneration('a', 10)).toHaveLength(10);
      expect(store.generations()[0]!.centered).toBe(false);
      await fill(store, 'a', encode);
      expect(store.coverage('a').backlog).toBe(0);
      expect(store.generations()[0]!.centered).toBe(true);
      // Centered codes around the data's own mean: the nearest document is found again.
      expect(store.queryGeneration('a', vectors[42]!, 1)[0]).toMatchObject({ doc: 43 });
    } finally {
      db.close();
      cleanup();
    }
  });

  it.each([24, 20])(
    'recenter stores every code as the sign bits around the published center (%i-d, over several batches)',
    (dims) => {
      const { dir, cleanup } = tempDir();
      const db = openDatabase(join(dir, `codes-${dims}.db`));
      try {
        db.exec(DOCS_DDL);
        const n = 5003; // past one rewrite batch (5,000 rows)
        const random = rng(dims);
        const vectors = Array.from({ length: n }, () =>
          Float32Array.from({ length: dims }, () => 0.2 + gaussian(random)),
        );
        const ins = db.prepare('INSERT INTO docs (id, content) VALUES (?, ?)');
        db.transaction(() => {
          for (let i = 0; i < n; i++) ins.run(i + 1, `doc ${i + 1}`);
        })();
        const store = SqliteStore.open(db, SCHEMA);
        store.ensureGeneration('b', { model: 'm', dimensions: dims }, 'active', {
          quantization: 'binary',
        });
        store.saveMany(
          'b',
          vectors.map((vector, i) => ({
            doc: i + 1,
            revision: 1,
            vectors: [{ chunkIndex: 0, start: 0, end: 1, vector }],
          })),
        );
        expect(store.recenter('b')).toBe(n);
        const gen = db.prepare("SELECT id, centre FROM vf_generations WHERE key = 'b'").get() as {
          id: number;
          centre: Buffer;
        };
        const center = new Float32Array(new Uint8Array(gen.centre).buffer);
        const rows = db
          .prepare(
            `SELECT c.doc, v.embedding FROM vf_chunks c JOIN vf_vec_${gen.id} v ON v.id = c.id WHERE c.gen = ?`,
          )
          .raw()
          .all(gen.id) as [number, Buffer][];
        expect(rows).toHaveLength(n);
        let wrong = 0;
        for (const [doc, code] of rows)
          if (!code.equals(quantize('binary', vectors[doc - 1]!, center))) wrong++;
        expect(wrong).toBe(0);
      } finally {
        db.close();
        cleanup();
      }
    },
  );

  it('makes the codes informative again: recall rises, and activate does it for a binary generation', () => {
    const { dir, cleanup } = tempDir();
    const db = openDatabase(join(dir, 'c.db'));
    try {
      db.exec(DOCS_DDL);
      const all = anisotropic(830, 11);
      const vectors = all.slice(0, 800);
      const queries = all.slice(800);
      const ins = db.prepare('INSERT INTO docs (id, content) VALUES (?, ?)');
      for (let i = 0; i < vectors.length; i++) ins.run(i + 1, `doc ${i + 1}`);
      const store = SqliteStore.open(db, SCHEMA);
      const items = vectors.map((vector, i) => ({
        doc: i + 1,
        revision: 1,
        vectors: [{ chunkIndex: 0, start: 0, end: 3, vector }],
      }));
      store.ensureGeneration('a', G64, 'active', { quantization: 'binary', oversample: 5 });
      store.saveMany('a', items);
      const recall = (gen: string) => {
        let found = 0;
        for (const q of queries) {
          const truth = new Set(
            vectors
              .map((v, i) => ({ doc: i + 1, d: cosineDistance(v, q) }))
              .sort((x, y) => x.d - y.d)
              .slice(0, 10)
              .map((x) => x.doc),
          );
          found += store
            .queryGeneration(gen, q, 10)
            .filter((h) => truth.has(h.doc as number)).length;
        }
        return found / (queries.length * 10);
      };
      const before = recall('a');
      expect(store.recenter('a')).toBe(800);
      const after = recall('a');
      expect(after).toBeGreaterThan(before + 0.2);
      expect(after).toBeGreaterThanOrEqual(0.95);
      // New saves are coded around the same center: re-embedding a document keeps it findable.
      db.prepare('UPDATE docs SET revision = 2 WHERE id = 5').run();
      store.saveVectors('a', 5, 2, items[4]!.vectors);
      expect(store.queryGeneration('a', vectors[4]!, 1)[0]).toMatchObject({ doc: 5 });
      // A building binary generation is centered when it is activated.
      store.ensureGeneration('b', { ...G64, params: { b: 1 } }, 'building', {
        quantization: 'binary',
        oversample: 5,
      });
      store.saveMany(
        'b',
        items.map((x) => ({ ...x, revision: x.doc === 5 ? 2 : 1 })),
      );
      const building = recall('b');
      store.activate('b');
      expect(recall('b')).toBeGreaterThan(building + 0.2);
      expect(store.recenter('a')).toBe(800); // retired, but still stored: may be re-centered
      // Other generations are left alone.
      store.ensureGeneration('f', { ...G64, params: { f: 1 } }, 'building');
      expect(store.recenter('f')).toBe(0);
    } finally {
      db.close();
      cleanup();
    }
  });
});

describe('quantization options', () => {
  let db: Database.Database;
  let store: SqliteStore;
  let cleanup: () => void;
  beforeEach(() => {
    const t = tempDir();
    cleanup = t.cleanup;
    db = openDatabase(join(t.dir, 'o.db'));
    db.exec(DOCS_DDL);
    store = SqliteStore.open(db, SCHEMA);
  });
  afterEach(() => {
    db.close();
    cleanup();
  });

  it('refuses another quantization for a known key, accepts a new oversample', () => {
    store.ensureGeneration('a', GEN, 'active', { quantization: 'binary' });
    expect(() => store.ensureGeneration('a', GEN, 'active', { quantization: 'int8' })).toThrow(
      GenerationConflictError,
    );
    expect(() => store.ensureGeneration('a', GEN)).not.toThrow();
    expect(store.ensureGeneration('a', GEN, 'active', { oversample: 7 })).toMatchObject({
      quantization: 'binary',
      oversample: 7,
    });
    store.ensureGeneration('f', { ...GEN, params: { f: 1 } }, 'building');
    throwsWith(
      () =>
        store.ensureGeneration('f', { ...GEN, params: { f: 1 } }, 'building', {
          quantization: 'binary',
        }),
      GenerationConflictError,
      /float \(no quantization\), not binary/,
    );
  });

  it('rejects unknown quantizations and bad oversampling with a clear message', () => {
    throwsWith(
      () => store.ensureGeneration('a', GEN, 'active', { quantization: 'pq' as Quantization }),
      TypeError,
      /quantization must be one of binary, int8/,
    );
    expect(() =>
      store.ensureGeneration('a', GEN, 'active', { quantization: 'binary', oversample: 0 }),
    ).toThrow(RangeError);
    throwsWith(
      () => store.ensureGeneration('a', GEN, 'active', { oversample: 10 }),
      TypeError,
      /set quantization too/,
    );
    expect(store.generations()).toEqual([]);
  });

  it('upgrades a generations table made before quantization existed', () => {
    const t = tempDir();
    const old = openDatabase(join(t.dir, 'old.db'));
    old.exec(DOCS_DDL);
    old.exec(`CREATE TABLE vf_generations (
      id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, generation TEXT NOT NULL,
      fingerprint TEXT NOT NULL, dimensions INTEGER NOT NULL CHECK (dimensions > 0),
      state TEXT NOT NULL CHECK (state IN ('building', 'active', 'retired')),
      reclaimed INTEGER NOT NULL DEFAULT 0,
      created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))`);
    const s = SqliteStore.open(old, SCHEMA);
    expect(s.ensureGeneration('b', GEN, 'active', { quantization: 'binary' })).toMatchObject({
      quantization: 'binary',
    });
    old.close();
    t.cleanup();
  });
});
