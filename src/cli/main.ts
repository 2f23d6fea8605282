// The process boundary: argv in, exit code out. The only module that sets
// process.exitCode or listens for signals; everything below returns or throws.
import { CommanderError, type Command } from 'commander';
import { DiskFullError, ExitCode, errnoOf, fromSystemError, isMlopsError } from '../errors.js';
import { ExecaRunner } from '../tools/runner.js';
import { baseSettings, currentUser, resolveRegistryDir, type Ctx, type GlobalOptions } from './context.js';
import { buildProgram } from './program.js';
import { Ui, printable } from './ui.js';
import { MLOPS_VERSION } from '../version.js';

/** True when --json appears before the command finishes parsing (errors then print as JSON). */
function wantsJson(argv: string[]): boolean {
  return argv.includes('--json');
}

/**
 * A reader that went away (`mlops --help | head`) is not an error: further output is
 * dropped and the command ends with its own exit code. A full disk under `> file` is
 * exit 4. Anything else on the standard streams cannot be reported anywhere; drop it.
 */
function guardStandardStreams(onDiskFull: () => void): void {
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.listenerCount('error') > 0) continue;
    stream.on('error', (error: NodeJS.ErrnoException) => {
      const code = errnoOf(error);
      if (code === 'ENOSPC' || code === 'EDQUOT') onDiskFull();
    });
  }
}

/** Writes that may fail (a closed or full stdout) must not turn the report itself into a crash. */
function safely(write: () => void): void {
  try {
    write();
  } catch {
    // The stream is gone or full; the exit code still tells.
  }
}

let strayListening = false;
let reportStray: (error: unknown) => void = () => undefined;

export async function run(argv: string[]): Promise<void> {
  const env = process.env;
  // The AWS SDK (s3:// registries) warns on every run that its releases after January 2027
  // need Node 22; the version mlops pins works on Node 20, so users need not see it.
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const settings = baseSettings(env);
  let ui = new Ui({ stdout: process.stdout, stderr: process.stderr, stdinIsTTY: Boolean(process.stdin.isTTY), env, json: wantsJson(argv), quiet: false, color: argv.includes('--no-color') ? false : undefined });
  guardStandardStreams(() => {
    if (process.exitCode === undefined || process.exitCode === 0) {
      safely(() => process.stderr.write('error: disk full (writing to stdout)\n'));
      process.exitCode = ExitCode.tool;
    }
  });
  // Errors thrown outside the awaited chain (a stream's 'error' event, a stray promise)
  // get the same report as the rest: a full disk is exit 4, a real bug exit 70.
  reportStray = (error: unknown) => {
    process.exitCode = report(error, ui);
    process.exit();
  };
  if (!strayListening) {
    strayListening = true;
    process.on('uncaughtException', (error) => reportStray(error));
    process.on('unhandledRejection', (error) => reportStray(error));
  }

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
    writeOut: (text) => safely(() => process.stdout.write(text)),
    // commander's messages quote argv, which may hold control bytes.
    writeErr: (text) => safely(() => process.stderr.write(printable(text))),
  });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    process.exitCode = report(error, ui, helpCommand(program, argv));
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** `mlops alert test` for `mlops alert test --bogus`: the deepest command argv names. */
function helpCommand(program: Command, argv: string[]): string {
  const path = ['mlops'];
  let current = program;
  for (const token of argv) {
    if (token.startsWith('-')) continue;
    const next = current.commands.find((cmd) => cmd.name() === token || cmd.aliases().includes(token));
    if (!next) break;
    path.push(next.name());
    current = next;
  }
  return path.join(' ');
}

/** The hint line commander does not print. */
function commanderHint(error: CommanderError, command: string): string | undefined {
  switch (error.code) {
    case 'commander.help':
    case 'commander.helpDisplayed':
      return undefined;
    case 'commander.unknownCommand':
      return `run '${command} --help' for the list of commands`;
    default:
      return `run '${command} --help' for its arguments and options`;
  }
}

function report(error: unknown, ui: Ui, command = 'mlops'): number {
  if (error instanceof CommanderError) {
    // --help and --version end parsing through exitOverride with code 0.
    if (error.exitCode === 0) return ExitCode.ok;
    const hint = commanderHint(error, command);
    safely(() => {
      if (ui.json) ui.printJson({ error: { code: error.code, message: error.message.replace(/^error: /, ''), hint: hint ?? 'see --help' } });
      else if (hint) ui.err(`${ui.c.dim('hint:')} ${hint}`);
    });
    return ExitCode.usage;
  }
  const known = isMlopsError(error) && !(error.exitCode !== ExitCode.tool && fromSystemError(error) instanceof DiskFullError) ? error : (fromSystemError(error) ?? error);
  if (isMlopsError(known)) {
    safely(() => {
      if (ui.json) {
        ui.printJson({ error: { code: known.code, message: known.message, hint: known.hint ?? null } });
      } else {
        ui.err(`${ui.c.red('error:')} ${known.message}`);
        if (known.hint) ui.err(`${ui.c.dim('hint:')} ${known.hint}`);
      }
    });
    return known.exitCode;
  }
  // Anything else is a bug in mlops: show everything we know.
  safely(() => {
    ui.err(`${ui.c.red('internal error')} (a bug in mlops; please report it with this output):`);
    ui.err(error instanceof Error ? (error.stack ?? error.message) : String(error));
  });
  return ExitCode.internal;
}
