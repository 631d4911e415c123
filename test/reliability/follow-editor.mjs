// An application editing the documents table while followers run:
//   node follow-editor.mjs '<json options>'
// Inserts, updates, deletes and invalidates (embed_gen = NULL) rows at a
// steady rate; prints {"deleted": {id: lastContent}, …} when done.
import { openDatabase } from '../../dist/sqlite/index.js';

const opts = JSON.parse(process.argv[2]);
const db = openDatabase(opts.db);
let x = opts.seed >>> 0;
const random = () => {
  x = (x * 1664525 + 1013904223) >>> 0;
  return x / 2 ** 32;
};
const topics = ['apple', 'rocket', 'violin', 'harbor', 'garden', 'chess', 'tide', 'bread'];
const word = () => topics[Math.floor(random() * topics.length)];
let nextId = opts.firstNewId;
const deleted = {};
const counts = { updates: 0, inserts: 0, deletes: 0, invalidations: 0 };
const until = Date.now() + opts.durationMs;
while (Date.now() < until) {
  const r = random();
  const id = 1 + Math.floor(random() * (nextId - 1));
  if (r < 0.45) {
    counts.updates += db
      .prepare('UPDATE docs SET content = ?, revision = revision + 1 WHERE id = ?')
      .run(`${word()} ${word()} edited ${Date.now()}`, id).changes;
  } else if (r < 0.65) {
    db.prepare('INSERT INTO docs (id, content) VALUES (?, ?)').run(
      nextId++,
      `${word()} ${word()} new ${nextId}`,
    );
    counts.inserts++;
  } else if (r < 0.8 && !opts.noInvalidate) {
    counts.invalidations += db
      .prepare('UPDATE docs SET embed_gen = NULL WHERE id = ?')
      .run(id).changes;
  } else if (r >= 0.8) {
    const row = db.prepare('SELECT content FROM docs WHERE id = ?').get(id);
    if (row) {
      db.prepare('DELETE FROM docs WHERE id = ?').run(id);
      deleted[id] = row.content;
      counts.deletes++;
    }
  }
  await new Promise((r) => setTimeout(r, opts.intervalMs));
}
process.stdout.write(`${JSON.stringify({ ...counts, deleted })}\n`);
db.close();
