// Runs the built bin/mlops as a real child process, for end-to-end tests.
import { execa, type ResultPromise } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const BIN = join(ROOT, 'bin', 'mlops');
export const EXAMPLE = join(ROOT, 'examples', 'fraud');

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  input?: string;
  timeout?: number;
}

function cliEnv(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { NO_COLOR: '1', CI: '1', MLOPS_REGISTRY: undefined, MLOPS_USER: 'tester', ...extra };
}

export async function mlops(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const result = await execa('node', [BIN, ...args], {
    cwd: options.cwd,
    env: cliEnv(options.env),
    extendEnv: true,
    reject: false,
    input: options.input,
    stdin: options.input === undefined ? 'ignore' : undefined,
    timeout: options.timeout ?? 60_000,
  });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** Start mlops without waiting, for signals and concurrency tests. */
export function spawnMlops(args: string[], options: CliOptions = {}): ResultPromise {
  return execa('node', [BIN, ...args], { cwd: options.cwd, env: cliEnv(options.env), extendEnv: true, reject: false, stdin: 'ignore' });
}

export async function tempDir(prefix = 'mlops-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Asserts the house rule for errors: one line (plus an optional hint line), no stack trace. */
export function expectCleanError(result: CliResult): string {
  const lines = result.stderr.trim().split('\n').filter((l) => !l.startsWith('hint:') && !l.startsWith('created registry') && !l.startsWith('loading '));
  if (result.stderr.includes('    at ') || result.stderr.includes('internal error')) {
    throw new Error(`stack trace or internal error in stderr:\n${result.stderr}`);
  }
  const errorLine = lines.find((l) => l.startsWith('error:'));
  if (!errorLine) throw new Error(`no 'error:' line in stderr:\n${result.stderr}`);
  return errorLine;
}
