// A fill worker run as a child process by the reliability tests:
//   node fill-worker.mjs '<json options>'
// Prints 'ready', then one JSON line with its counts when it finishes (if it is not killed first).
import { fill } from '../../dist/core/index.js';
import { openDatabase, SqliteStore } from '../../dist/sqlite/index.js';
import { embedText } from './worker-encoder.mjs';

const opts = JSON.parse(process.argv[2]);
const db = openDatabase(opts.db);
const store = SqliteStore.open(db, opts.schema);
let encoded = 0;
const encode = async (texts) => {
  encoded += texts.length;
  if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
  return texts.map((t) => embedText(t, opts.dims));
};
process.stdout.write('ready\n');
// With waitForGo, start filling only when the parent writes a line: two
// workers then start at the same moment however slowly each process started.
if (opts.waitForGo) {
  await new Promise((resolve) => process.stdin.once('data', resolve));
  process.stdin.pause();
}
const result = await fill(store, opts.gen, encode, {
  scanBatch: opts.scanBatch ?? 64,
  batch: { batchSize: opts.batchSize ?? 16 },
});
process.stdout.write(`${JSON.stringify({ ...result, encoded })}\n`);
db.close();
