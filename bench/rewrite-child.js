// Another process: each time it reads a round number on stdin, re-embeds 1 %
// of the documents of generation 'g' in the bench database (new vectors, new
// revisions) and answers "done". It opens the database at its first round,
// so it can be started before the database exists.
//   node bench/rewrite-child.js <db> <n> <dims>
import { createInterface } from 'node:readline';
import { openDatabase, SqliteStore } from '../dist/sqlite/index.js';
import { randomUnitVectors, rng, SCHEMA } from './lib.js';

const [path, n, dims] = process.argv.slice(2).map((x, i) => (i === 0 ? x : Number(x)));
let db;
let store;
for await (const line of createInterface({ input: process.stdin })) {
  const round = Number(line);
  db ??= openDatabase(path);
  store ??= SqliteStore.open(db, SCHEMA);
  const count = Math.ceil(n / 100);
  const random = rng(100 + round);
  const vectors = randomUnitVectors(count, dims, random);
  const items = vectors.map((vector, i) => {
    const doc = 1 + ((i * 97 + round * 13) % n);
    db.prepare('UPDATE docs SET rev = rev + 1 WHERE id = ?').run(doc);
    const revision = db.prepare('SELECT rev FROM docs WHERE id = ?').pluck().get(doc);
    return { doc, revision, vectors: [{ chunkIndex: 0, start: 0, end: 1, vector }] };
  });
  store.saveMany('g', items);
  // Collect this round's garbage before answering, not on the searching
  // process's second core while it scans (started with --expose-gc).
  globalThis.gc?.();
  process.stdout.write('done\n');
}
db?.close();
