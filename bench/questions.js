#!/usr/bin/env node
// Ten questions over a real folder, vector-only vs the CLI's default
// (hybrid), counted as good when the document a person wants is first or
// second. Usage (after `vecfill index <folder> --db <db>`):
//
//   node bench/questions.js --db /tmp/real.db [--questions bench/questions.json]
//
// Each question names the document wanted as a path prefix inside the
// indexed folder; the prefixes were written down before any search was run.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    db: { type: 'string' },
    questions: { type: 'string', default: join(import.meta.dirname, 'questions.json') },
  },
});
if (!values.db) {
  console.error('usage: node bench/questions.js --db <database made by vecfill index>');
  process.exit(2);
}
const bin = join(import.meta.dirname, '..', 'bin', 'vecfill.js');
/** @type {{ q: string, want: string[] }[]} */
const questions = JSON.parse(readFileSync(values.questions, 'utf8'));

/** The rank (1-based) of the first wanted document in the top 10, or 0. */
function rankOf(question, extra) {
  const out = execFileSync(
    process.execPath,
    [bin, 'search', question.q, '--db', values.db, '--limit', '10', '--json', ...extra],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const ids = JSON.parse(out).results.map((r) => String(r.id));
  return ids.findIndex((id) => question.want.some((p) => id.startsWith(p))) + 1;
}

const rows = [];
let goodVector = 0;
let goodHybrid = 0;
for (const question of questions) {
  const vector = rankOf(question, ['--no-hybrid']);
  const hybrid = rankOf(question, []);
  if (vector >= 1 && vector <= 2) goodVector++;
  if (hybrid >= 1 && hybrid <= 2) goodHybrid++;
  rows.push({ question: question.q, want: question.want.join(' | '), vector, hybrid });
}
const show = (r) => (r === 0 ? '-' : String(r));
console.log('| question | wanted | vector-only rank | hybrid (default) rank |');
console.log('| --- | --- | --- | --- |');
for (const r of rows)
  console.log(`| ${r.question} | ${r.want} | ${show(r.vector)} | ${show(r.hybrid)} |`);
console.log(
  `\ngood (wanted document first or second): vector-only ${goodVector}/${questions.length}, hybrid ${goodHybrid}/${questions.length}`,
);
