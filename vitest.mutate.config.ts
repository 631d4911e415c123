import { defineConfig } from 'vitest/config';

// The tests Stryker runs against each mutant: everything that runs in
// process (no child processes of dist/, no CLI), so a mutant of src/ is
// really what the tests exercise.
export default defineConfig({
  test: {
    include: [
      'test/core/**/*.test.ts',
      'test/sqlite/**/*.test.ts',
      'test/postgres/**/*.test.ts',
      'test/encoders/openai-compatible.test.ts',
      'test/reliability/properties.test.ts',
    ],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
