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
  stores: [
    'src/sql/**/*.ts',
    'src/sqlite/sqlite-*.ts',
    'src/sqlite/statement-cache.ts',
    'src/sqlite/index/stored-index.ts',
    'src/postgres/pg-*.ts',
  ],
};
const scope = process.env.MUTATE_SCOPE;
const mutate = scope ? scopes[scope] : [...scopes.core, ...scopes.stores];
if (!mutate) throw new Error(`MUTATE_SCOPE must be one of ${Object.keys(scopes).join(', ')}`);

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
  ignoreStatic: true,
  incremental: true,
  incrementalFile: 'reports/mutation/incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { reportMutants: true, reportScoreTable: true },
  thresholds: { high: 90, low: 85, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
