// The one way mlops runs external programs (docker, kubectl, git): an execa Runner
// behind an interface, so that tests can record argv instead of running anything.
import { InterruptedError, ToolFailedError, ToolMissingError } from '../errors.js';

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  input?: string;
  timeoutMs?: number;
  /** Called with each line the program prints (stdout and stderr) while it runs. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Return the result instead of throwing when the exit code is not 0. */
  allowFailure?: boolean;
  /** Aborting it kills the program (SIGTERM); the call then throws InterruptedError. */
  signal?: AbortSignal;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface Runner {
  run(file: string, args: readonly string[], options?: RunOptions): Promise<RunResult>;
}

/** Hints for a program that is not installed, by its base name. */
const INSTALL_HINTS: Record<string, string> = {
  docker: 'install Docker (https://docs.docker.com/engine/install/) or set MLOPS_DOCKER to its path',
  kubectl: 'install kubectl (https://kubernetes.io/docs/tasks/tools/) or set MLOPS_KUBECTL to its path',
  git: 'install git',
  promtool: 'install Prometheus (apt-get install prometheus, or download it from prometheus.io)',
};

function baseName(file: string): string {
  return file.split('/').pop() ?? file;
}

export class ExecaRunner implements Runner {
  async run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    const { onLine } = options;
    // Loaded on first use: execa costs ~70 ms of startup that `mlops --help` should not pay.
    const { execa } = await import('execa');
    const child = execa(file, args, {
      cwd: options.cwd,
      env: options.env,
      extendEnv: true,
      input: options.input,
      timeout: options.timeoutMs,
      reject: false,
      stdin: options.input === undefined ? 'ignore' : undefined,
      all: false,
      cancelSignal: options.signal,
    });
    if (onLine) {
      for (const stream of ['stdout', 'stderr'] as const) {
        let pending = '';
        child[stream]?.on('data', (chunk: Buffer) => {
          pending += chunk.toString();
          const lines = pending.split('\n');
          pending = lines.pop() ?? '';
          for (const line of lines) if (line.trim()) onLine(line, stream);
        });
        child[stream]?.on('end', () => {
          if (pending.trim()) onLine(pending, stream);
        });
      }
    }
    const result = await child;
    const name = baseName(file);
    if (options.signal?.aborted) throw new InterruptedError(`${name} ${args[0] ?? ''} was stopped: interrupted`);
    if ((result as { code?: string }).code === 'ENOENT' || (result.failed && result.exitCode === undefined && /ENOENT/.test(String(result.message)))) {
      throw new ToolMissingError(name, INSTALL_HINTS[name] ?? `install ${name} or check PATH`);
    }
    if (result.timedOut) {
      throw new ToolFailedError(name, `${name} ${args[0] ?? ''} timed out after ${options.timeoutMs} ms`, undefined, String(result.stderr ?? ''));
    }
    const out: RunResult = {
      exitCode: result.exitCode ?? 1,
      stdout: String(result.stdout ?? ''),
      stderr: String(result.stderr ?? ''),
    };
    if (out.exitCode !== 0 && !options.allowFailure) {
      const firstLine = out.stderr.trim().split('\n').filter(Boolean).pop() ?? `exit code ${out.exitCode}`;
      throw new ToolFailedError(name, `${name} ${args.slice(0, 2).join(' ')} failed: ${firstLine}`, undefined, out.stderr);
    }
    return out;
  }
}
