// Mutation testing: `npm run mutate` (slow; not part of `npm test` or CI).
// Stryker breaks the code one small change at a time (a mutant) and runs the
// tests that cover it; a mutant no test notices "survives". The score and
// every survivor are written to reports/mutation/ (HTML, JSON, text).
//
// MUTATE_SCOPE picks the files: `core` (src/core), `stores` (the freshness,
// save, search and lifecycle code of both stores) or, by default, both.
// Survivors that are equivalent (no test can tell them apart) are listed
// with a reason in docs/invariants.md.
const scopes = {
  core: ['src/core/**/*.ts'],
  // The shared SQL (the freshness predicate, the pending scan, save
  // preconditions and stamp, generation rules, coverage) and each store's
  // files for the freshness, save, search and lifecycle concerns.
  stores: [
    'src/sql/**/*.ts',
    '!src/sql/index.ts',
    'src/sqlite/sqlite-scan.ts',
    'src/sqlite/sqlite-save.ts',
    'src/sqlite/sqlite-search.ts',
    'src/sqlite/sqlite-sql.ts',
    'src/sqlite/sqlite-text.ts',
    'src/sqlite/sqlite-generations.ts',
    'src/sqlite/sqlite-lifecycle.ts',
    'src/postgres/pg-scan.ts',
    'src/postgres/pg-save.ts',
    'src/postgres/pg-search.ts',
    'src/postgres/pg-full-text.ts',
    'src/postgres/pg-coverage.ts',
    'src/postgres/pg-lifecycle.ts',
  ],
};
const scope = process.env.MUTATE_SCOPE;
const mutate = scope ? scopes[scope] : [...scopes.core, ...scopes.stores];
if (!mutate) throw new Error(`MUTATE_SCOPE must be one of ${Object.keys(scopes).join(', ')}`);
// Each scope keeps its own report and incremental file, so a run of one
// scope does not forget the other's results, and the two can run at once.
const out = `reports/mutation/${scope ?? 'all'}`;

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutate.config.ts', related: true },
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  mutate,
  coverageAnalysis: 'perTest',
  // The machine is shared: one or two test processes at a time.
  concurrency: Number(process.env.MUTATE_CONCURRENCY ?? 1),
  timeoutMS: 20_000,
  // The first run of a store's whole suite takes minutes on a busy machine.
  dryRunTimeoutMinutes: 30,
  ignoreStatic: true,
  incremental: true,
  incrementalFile: `${out}/incremental.json`,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `${out}/index.html` },
  jsonReporter: { fileName: `${out}/mutation.json` },
  clearTextReporter: { reportMutants: true, reportScoreTable: true },
  thresholds: { high: 90, low: 85, break: null },
  tempDirName: `.stryker-tmp/${scope ?? 'all'}`,
  cleanTempDir: 'always',
};
