import { describe, expect, it } from 'vitest';
import suite from '../../vitest.config.js';
import mutate from '../../vitest.mutate.config.js';

describe('every test asserts something', () => {
  // With expect.requireAssertions a test that makes no expect() call fails
  // ("expected any number of assertion, but got none"): a test that only
  // runs code passes whatever the code does, so it guards nothing.
  it('npm test and npm run mutate (Stryker) both require an assertion in each test', () => {
    expect(suite.test?.expect?.requireAssertions).toBe(true);
    expect(mutate.test?.expect?.requireAssertions).toBe(true);
  });
});
