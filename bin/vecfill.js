#!/usr/bin/env node
// This process supervises the one doing the work, so that a second Ctrl-C
// stops vecfill at once even inside a long SQLite statement
// (see src/cli/supervise.ts). VECFILL_NO_SUPERVISOR=1 runs in one process.
if (process.env.VECFILL_CLI_CHILD === '1' || process.env.VECFILL_NO_SUPERVISOR === '1') {
  const { main } = await import('../dist/cli/main.js');
  main(process.argv).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      console.error(err instanceof Error ? err.message : String(err));
      process.exitCode = 1;
    },
  );
} else {
  const { supervise } = await import('../dist/cli/supervise.js');
  supervise(new URL(import.meta.url).pathname, process.argv.slice(2));
}
