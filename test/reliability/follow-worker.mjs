// A follower run as a child process by the reliability tests:
//   node follow-worker.mjs '<json options>'
// Prints one JSON line per follow event, and on SIGTERM / SIGINT stops
// cleanly and prints {"stopped": …, "encoded": {doc: times}}.
import { follow, VecfillError } from '../../dist/core/index.js';
import { openDatabase, SqliteStore } from '../../dist/sqlite/index.js';
import { embedText } from './worker-encoder.mjs';

const opts = JSON.parse(process.argv[2]);
const db = openDatabase(opts.db);
const store = SqliteStore.open(db, opts.schema);
const started = Date.now();
const encoded = {};
const encode = async (texts) => {
  const t = Date.now() - started;
  // A provider outage between failFromMs and failUntilMs after the start.
  if (opts.failFromMs !== undefined && t >= opts.failFromMs && t < opts.failUntilMs)
    throw new VecfillError('TRANSIENT_ENCODE', 'HTTP 503 from the provider (injected outage)');
  if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
  for (const text of texts) encoded[text] = (encoded[text] ?? 0) + 1;
  return texts.map((text) => embedText(text, opts.dims));
};
const stop = new AbortController();
const onSignal = () => stop.abort();
process.on('SIGTERM', onSignal);
process.on('SIGINT', onSignal);
const write = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);
const summary = await follow(store, {
  encoderFor: () => encode,
  signal: stop.signal,
  pollMs: opts.pollMs ?? 100,
  rescanMs: opts.rescanMs ?? 2000,
  pruneEveryMs: 200,
  scanBatch: opts.scanBatch ?? 64,
  batch: { batchSize: opts.batchSize ?? 16 },
  backoff: { initialMs: 100, maxMs: 800 },
  onEvent: (e) => {
    const { error, ...rest } = e;
    write({ ...rest, ...(error ? { error: error.message } : {}), t: Date.now() - started });
  },
});
write({ stopped: summary.documents, encoded });
db.close();
