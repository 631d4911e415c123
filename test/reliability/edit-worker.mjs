// Edits, inserts and deletes documents at a steady rate, as an application
// would while a fill runs:  node edit-worker.mjs '<json options>'
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
const counts = { updates: 0, inserts: 0, deletes: 0 };
const until = Date.now() + opts.durationMs;
// With untilStdinEnds, edit until the parent closes stdin and at least
// minEdits changes are made (a loaded machine slows both sides alike).
let stdinOpen = Boolean(opts.untilStdinEnds);
if (stdinOpen) {
  process.stdin.resume();
  process.stdin.on('end', () => {
    stdinOpen = false;
  });
}
const made = () => counts.updates + counts.inserts + counts.deletes;
const more = () =>
  opts.untilStdinEnds ? stdinOpen || made() < (opts.minEdits ?? 0) : Date.now() < until;
while (more()) {
  const r = random();
  const maxId = nextId - 1;
  const id = 1 + Math.floor(random() * maxId);
  if (r < 0.6) {
    counts.updates += db
      .prepare('UPDATE docs SET content = ?, revision = revision + 1 WHERE id = ?')
      .run(`${word()} ${word()} edited ${Date.now()}`, id).changes;
  } else if (r < 0.8) {
    db.prepare('INSERT INTO docs (id, content) VALUES (?, ?)').run(
      nextId++,
      `${word()} ${word()} new`,
    );
    counts.inserts++;
  } else {
    counts.deletes += db.prepare('DELETE FROM docs WHERE id = ?').run(id).changes;
  }
  await new Promise((r) => setTimeout(r, opts.intervalMs));
}
process.stdout.write(`${JSON.stringify(counts)}\n`);
db.close();
process.stdin.destroy();
