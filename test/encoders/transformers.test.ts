import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBatched, fill, fingerprint, search, VecfillError } from '../../src/core/index.js';
import { type TransformersEncoder, transformers } from '../../src/encoders/index.js';
import { openDatabase, SqliteStore } from '../../src/sqlite/index.js';
import { rejectsWith } from '../support/thrown.js';
import {
  expectedVector,
  TINY_DIMS,
  TINY_MAX_TOKENS,
  writeTinyModel,
} from '../support/tiny-model.js';

// A model written by the test (config, WordPiece tokenizer, ONNX embedding
// lookup), loaded through transformers.js exactly as a hub model is: from a
// folder, and by hub id from a cache directory with remote models disabled.
const root = mkdtempSync(join(tmpdir(), 'vecfill-tiny-model-'));
const folder = writeTinyModel(join(root, 'tiny-bert'));
const cacheDir = join(root, 'cache');
cpSync(folder, join(cacheDir, 'vecfill-test', 'tiny-bert'), { recursive: true });

const open: TransformersEncoder[] = [];
async function load(opts: Partial<Parameters<typeof transformers>[0]> = {}) {
  const e = await transformers({ model: folder, localOnly: true, ...opts });
  open.push(e);
  return e;
}
afterAll(async () => {
  await Promise.all(open.map((e) => e.close()));
});

const close = (actual: ArrayLike<number>, expected: number[]) => {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(actual[i]).toBeCloseTo(expected[i]!, 5);
};

describe('transformers encoder (tiny model built by the test)', () => {
  let minilm: TransformersEncoder;
  beforeAll(async () => {
    minilm = await load();
  });

  it('mean-pools the token vectors of the real tokens and L2-normalizes them', async () => {
    const texts = ['the cat sat', 'Dogs on the mat', 'tides moon'];
    const vectors = await minilm.encode(texts, {});
    for (const [i, t] of texts.entries()) close(vectors[i]!, expectedVector(t));
    expect(Math.hypot(...Array.from(vectors[0]!))).toBeCloseTo(1, 6);
  });

  it('names everything that changes the vectors in the generation, including the weights hash', () => {
    const sha = createHash('sha256')
      .update(readFileSync(join(folder, 'onnx', 'model.onnx')))
      .digest('hex');
    expect(minilm.generation).toEqual({
      model: 'local/tiny-bert',
      dimensions: TINY_DIMS,
      params: {
        runtime: 'transformers.js',
        dtype: 'fp32',
        pooling: 'mean',
        normalize: true,
        maxTokens: TINY_MAX_TOKENS,
        file: 'onnx/model.onnx',
        sha256: sha,
      },
    });
    expect(minilm.maxTokens).toBe(TINY_MAX_TOKENS);
    expect(minilm.maxChars).toBe(TINY_MAX_TOKENS * 3);
  });

  it('loads a hub model id from the cache directory with downloads disabled', async () => {
    const byId = await load({ model: 'vecfill-test/tiny-bert', cacheDir });
    expect(byId.generation.model).toBe('vecfill-test/tiny-bert');
    expect(byId.generation.params?.sha256).toBe(minilm.generation.params?.sha256);
    close((await byId.encode(['the cat sat'], {}))[0]!, expectedVector('the cat sat'));
  });

  it('loads a folder without tokenizer_config.json (window from config.json)', async () => {
    const bare = writeTinyModel(join(root, 'bare-bert'));
    rmSync(join(bare, 'tokenizer_config.json'));
    const e = await load({ model: bare });
    expect(e.maxTokens).toBe(64); // max_position_embeddings
    const [short, padded] = await e.encode(['the cat sat', 'moon'], {});
    close(short!, expectedVector('the cat sat'));
    close(padded!, expectedVector('moon'));
  });

  it('refuses a model that is not on this machine when localOnly, saying so', async () => {
    const err = await transformers({
      model: 'vecfill-test/not-downloaded',
      cacheDir,
      localOnly: true,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VecfillError);
    expect((err as VecfillError).code).toBe('MODEL_UNAVAILABLE');
    expect((err as Error).message).toMatch(/vecfill-test\/not-downloaded.*localOnly/s);
  });

  it('pools the first token with cls, the last real one with last, and leaves vectors unnormalized when asked', async () => {
    const cls = await load({ pooling: 'cls', normalize: false });
    close(
      (await cls.encode(['moon'], {}))[0]!,
      expectedVector('moon', { pooling: 'cls', normalize: false }),
    );
    const raw = await load({ normalize: false });
    close(
      (await raw.encode(['the moon'], {}))[0]!,
      expectedVector('the moon', { normalize: false }),
    );
    const last = await load({ pooling: 'last', normalize: false });
    // The last real token of each input, padding skipped: [SEP] unless truncated.
    const [short, long] = await last.encode(['moon', 'the mat the cat sat dog moon tides'], {});
    close(short!, expectedVector('moon', { pooling: 'last', normalize: false }));
    close(
      long!,
      expectedVector('the mat the cat sat dog moon tides', { pooling: 'last', normalize: false }),
    );
    expect(fingerprint(cls.generation)).not.toBe(fingerprint(raw.generation));
    expect(fingerprint(raw.generation)).not.toBe(fingerprint(minilm.generation));
  });

  it('prepends the document prefix to documents and the query prefix to queries', async () => {
    const e = await load({ documentPrefix: 'doc: ', queryPrefix: 'query: ' });
    close((await e.encode(['the cat'], {}))[0]!, expectedVector('doc : the cat'));
    close((await e.encodeQuery(['the cat'], {}))[0]!, expectedVector('query : the cat'));
    close((await e.encode(['the cat'], { kind: 'query' }))[0]!, expectedVector('query : the cat'));
    close((await e.encode(['the cat'], { kind: 'document' }))[0]!, expectedVector('doc : the cat'));
    expect(e.generation.params).toMatchObject({ documentPrefix: 'doc: ', queryPrefix: 'query: ' });
    expect(fingerprint(e.generation)).not.toBe(fingerprint(minilm.generation));
  });

  it('gives each text the same vector alone or padded in a batch', async () => {
    const texts = ['cat', 'the dog sat on the mat', 'moon', 'tides', 'the cat sat on the mat'];
    const batched = await encodeBatched(minilm.encode, texts, { batchSize: 2, concurrency: 3 });
    for (const [i, t] of texts.entries()) {
      close(batched[i]!, expectedVector(t));
      close((await minilm.encode([t], {}))[0]!, [...batched[i]!]);
    }
  });

  it('truncates inputs longer than the window to its first tokens and counts them', async () => {
    const e = await load();
    const long = 'the mat the cat sat dog moon tides';
    const [v] = await e.encode([long, 'cat'], {});
    close(v!, expectedVector(long));
    // [CLS] and the first seven words: 'tides' (and the end token) fall outside the window.
    close(v!, expectedVector('the mat the cat sat dog moon'));
    expect(e.truncated()).toBe(1);
  });

  it('stops waiting when the signal aborts, and rejects after close', async () => {
    const e = await transformers({ model: folder, localOnly: true });
    const controller = new AbortController();
    const pending = e.encode(['the cat'], { signal: controller.signal });
    controller.abort(new Error('stop'));
    await rejectsWith(pending, Error, 'stop');
    await e.close();
    await expect(e.encode(['cat'], {})).rejects.toMatchObject({ code: 'ENCODER_CLOSED' });
  });

  it('fills and searches a SQLite table, chunks sized to the window', async () => {
    const db = openDatabase(join(root, 'fill.db'));
    db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
    const insert = db.prepare('INSERT INTO notes (id, body) VALUES (?, ?)');
    insert.run(1, 'the cat sat on the mat');
    insert.run(2, 'tides moon');
    insert.run(3, 'the dog sat');
    const store = SqliteStore.open(db, {
      docsTable: 'notes',
      idColumn: 'id',
      contentColumn: 'body',
      vectorsPrefix: 'nv',
    });
    store.ensureGeneration('tiny', minilm.generation, 'active');
    const result = await fill(store, 'tiny', minilm.encode, {
      split: { maxChars: minilm.maxChars },
    });
    expect(result.documents).toBe(3);
    const hits = await search(store, 'moon tides', {
      encoderFor: () => minilm.encodeQuery,
      limit: 1,
    });
    expect(hits[0]?.doc).toBe(2);
    db.close();
  });
});
