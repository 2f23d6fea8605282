// The process boundary: argv in, exit code out. The only module that sets
// process.exitCode or listens for signals; everything below returns or throws.
import { CommanderError } from 'commander';
import { ExitCode, isMlopsError } from '../errors.js';
import { ExecaRunner } from '../tools/runner.js';
import { baseSettings, currentUser, resolveRegistryDir, type Ctx, type GlobalOptions } from './context.js';
import { buildProgram } from './program.js';
import { Ui } from './ui.js';
import { MLOPS_VERSION } from '../version.js';

/** True when --json appears before the command finishes parsing (errors then print as JSON). */
function wantsJson(argv: string[]): boolean {
  return argv.includes('--json');
}

export async function run(argv: string[]): Promise<void> {
  const env = process.env;
  // The AWS SDK (s3:// registries) warns on every run that its releases after January 2027
  // need Node 22; the version mlops pins works on Node 20, so users need not see it.
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const settings = baseSettings(env);
  let ui = new Ui({ stdout: process.stdout, stderr: process.stderr, stdinIsTTY: Boolean(process.stdin.isTTY), env, json: wantsJson(argv), quiet: false, color: argv.includes('--no-color') ? false : undefined });

  let stopResolve: (signal: NodeJS.Signals) => void = () => undefined;
  const stopRequested = new Promise<NodeJS.Signals>((resolve) => (stopResolve = resolve));
  // A command that reads ctx.stopRequested (serve, demo) drains on its own; for every
  // other command a signal ends the process at once, as Ctrl-C should.
  let commandDrains = false;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping || !commandDrains) {
      // A second Ctrl-C does not wait for the drain either.
      process.exit(ExitCode.interrupted);
    }
    stopping = true;
    stopResolve(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  // Handled here rather than by commander: its --version would swallow `register --version v1.2.0`.
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    process.stdout.write(`${MLOPS_VERSION}\n`);
    return;
  }

  const program = buildProgram({
    makeCtx: (globals: GlobalOptions): Ctx => {
      ui = new Ui({ stdout: process.stdout, stderr: process.stderr, stdinIsTTY: Boolean(process.stdin.isTTY), env, json: Boolean(globals.json), quiet: Boolean(globals.quiet), color: globals.color });
      return {
        cwd: process.cwd(),
        env,
        settings,
        registryDir: resolveRegistryDir(process.cwd(), settings, globals.registry),
        ui,
        runner: new ExecaRunner(),
        now: () => new Date(),
        user: currentUser(settings, env),
        get stopRequested() {
          commandDrains = true;
          return stopRequested;
        },
      };
    },
    setExitCode: (code) => {
      process.exitCode = code;
    },
    writeOut: (text) => process.stdout.write(text),
    writeErr: (text) => process.stderr.write(text),
  });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    process.exitCode = report(error, ui);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function report(error: unknown, ui: Ui): number {
  if (error instanceof CommanderError) {
    // --help and --version end parsing through exitOverride with code 0.
    if (error.exitCode === 0) return ExitCode.ok;
    if (ui.json) ui.printJson({ error: { code: error.code, message: error.message.replace(/^error: /, ''), hint: 'see --help' } });
    return ExitCode.usage;
  }
  if (isMlopsError(error)) {
    if (ui.json) {
      ui.printJson({ error: { code: error.code, message: error.message, hint: error.hint ?? null } });
    } else {
      ui.err(`${ui.c.red('error:')} ${error.message}`);
      if (error.hint) ui.err(`${ui.c.dim('hint:')} ${error.hint}`);
    }
    return error.exitCode;
  }
  // Anything else is a bug in mlops: show everything we know.
  ui.err(`${ui.c.red('internal error')} (a bug in mlops; please report it with this output):`);
  ui.err(error instanceof Error ? (error.stack ?? error.message) : String(error));
  return ExitCode.internal;
}
