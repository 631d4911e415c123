import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // A test that asserts nothing fails ("expected any number of assertion, but got none"):
    // one that checks that something does not throw says so with an assertion on the result.
    expect: { requireAssertions: true },
    // Prints the fast-check seed once; every test file then uses it (FC_SEED overrides).
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/fast-check-seed.ts'],
  },
});
