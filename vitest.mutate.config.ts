import { defineConfig } from 'vitest/config';

// The tests Stryker runs against each mutant (stryker.config.mjs). Only tests
// that run src/ in process: a child process runs dist/, which Stryker does
// not mutate. MUTATE_SCOPE=core uses the core's own tests (the core must be
// pinned down by them, not by a backend's suite); the stores use their
// conformance suites and their own tests (Postgres on PGlite, or on the
// server of VECFILL_TEST_PG_URL).
const tests: Record<string, string[]> = {
  core: ['test/core/**/*.test.ts', 'test/reliability/properties.test.ts'],
  stores: ['test/sqlite/**/*.test.ts', 'test/postgres/**/*.test.ts'],
};
const scope = process.env.MUTATE_SCOPE;
// MUTATE_TESTS (comma-separated globs) narrows the tests further, for a run
// over a portion of the files (e.g. the SQLite files against test/sqlite).
const only = process.env.MUTATE_TESTS?.split(',').filter(Boolean);

export default defineConfig({
  test: {
    include: only ?? (scope ? tests[scope] : [...tests.core!, ...tests.stores!]),
    exclude: ['test/sqlite/simd/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // A test that asserts nothing fails ("expected any number of assertion, but got none"):
    // one that checks that something does not throw says so with an assertion on the result.
    expect: { requireAssertions: true },
    setupFiles: ['test/support/fast-check-seed.ts'],
  },
});
