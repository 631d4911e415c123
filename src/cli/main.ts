import type { Context } from './context.js';
import { isEnvName } from './encoder-settings.js';
import { CliError, EXIT } from './errors.js';
import { buildProgram, type CommandRunner } from './program.js';
import { argvSecrets, cliSecrets, guardOutput } from './redact.js';
import { report } from './report.js';
import { exitWithSupervisor } from './supervise.js';
import { Workspace } from './workspace.js';

/** Runs the command line; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  for (const s of argvSecrets(argv, isEnvName)) cliSecrets.add(s);
  const unguard = guardOutput(cliSecrets);
  const controller = new AbortController();
  exitWithSupervisor();
  let firstSignalAt = 0;
  const onSigint = () => {
    // One Ctrl-C on a terminal can arrive twice (from the terminal and passed
    // on by the supervisor): a repeat within 250 ms is the same keypress.
    if (controller.signal.aborted) {
      if (Date.now() - firstSignalAt < 250) return;
      process.exit(EXIT.interrupted);
    }
    firstSignalAt = Date.now();
    controller.abort(
      new CliError(
        'interrupted; finished documents are saved, run the same command again to resume',
        EXIT.interrupted,
      ),
    );
  };
  process.on('SIGINT', onSigint);
  // SIGTERM (systemd, docker stop) stops like Ctrl-C: finished documents are saved.
  process.on('SIGTERM', onSigint);
  let exitCode: number = EXIT.ok;
  const jsonErrors = argv.includes('--json');
  const ctxFor = (opts: { json?: boolean }): Context => ({
    json: Boolean(opts.json),
    out: (t) => process.stdout.write(`${t}\n`),
    err: (t) => process.stderr.write(`${t}\n`),
    tty: Boolean(process.stdout.isTTY),
    signal: controller.signal,
  });
  const withWorkspace: CommandRunner['withWorkspace'] = async (opts, create, fn) => {
    const ctx = ctxFor(opts);
    const ws = await Workspace.forCommand(opts, create, ctx);
    try {
      exitCode = await fn(ws, ctx);
    } finally {
      await ws.close();
    }
  };

  const program = buildProgram(
    {
      run: async (opts, fn) => {
        exitCode = await fn(ctxFor(opts));
      },
      withWorkspace,
    },
    jsonErrors,
  );
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (e) {
    return report(e, jsonErrors);
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    unguard();
  }
}
