// A Runner test double: records every call (file, argv, options) and answers with
// scripted results, behaving like ExecaRunner for exit codes, onLine and allowFailure.
import { ToolFailedError } from '../../src/errors.ts';
import type { RunOptions, Runner, RunResult } from '../../src/tools/runner.ts';

export interface RecordedCall {
  file: string;
  args: string[];
  options: RunOptions;
}

/** A scripted answer; every field is optional and the defaults describe a quiet success. */
export interface Scripted {
  exitCode?: number;
  stdout?: string;
  stderr?: string;
  /**
   * Lines handed to onLine while "running". When absent, the lines of stdout and stderr
   * are handed over instead; when given without stdout, their stdout lines make stdout.
   */
  lines?: Array<{ line: string; stream?: 'stdout' | 'stderr' }>;
  /** Thrown instead of returning (ToolMissingError for a missing binary, ...). */
  error?: Error;
}

interface Rule {
  prefix?: readonly string[];
  match?: (call: RecordedCall) => boolean;
  result: Scripted | ((call: RecordedCall) => Scripted);
  /** How many calls this rule still answers; undefined = unlimited. */
  times?: number;
}

export class RecordingRunner implements Runner {
  readonly calls: RecordedCall[] = [];
  private readonly rules: Rule[] = [];

  /** Answers calls whose args start with `prefix` (the first matching rule wins). */
  on(prefix: readonly string[], result: Rule['result'], times?: number): this {
    this.rules.push({ prefix, result, times });
    return this;
  }

  /** Answers calls that `match` accepts (the first matching rule wins). */
  when(match: (call: RecordedCall) => boolean, result: Rule['result'], times?: number): this {
    this.rules.push({ match, result, times });
    return this;
  }

  /** Every call as [file, ...args], for exact assertions. */
  get commands(): string[][] {
    return this.calls.map((call) => [call.file, ...call.args]);
  }

  async run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    const call: RecordedCall = { file, args: [...args], options };
    this.calls.push(call);
    const rule = this.rules.find(
      (candidate) =>
        (candidate.times === undefined || candidate.times > 0) &&
        (!candidate.prefix || candidate.prefix.every((part, index) => args[index] === part)) &&
        (!candidate.match || candidate.match(call)),
    );
    if (rule && rule.times !== undefined) rule.times -= 1;
    const scripted: Scripted = rule ? (typeof rule.result === 'function' ? rule.result(call) : rule.result) : {};
    if (scripted.error) throw scripted.error;
    const stdout =
      scripted.stdout ??
      (scripted.lines ?? [])
        .filter((entry) => (entry.stream ?? 'stdout') === 'stdout')
        .map((entry) => `${entry.line}\n`)
        .join('');
    const result: RunResult = { exitCode: scripted.exitCode ?? 0, stdout, stderr: scripted.stderr ?? '' };
    if (options.onLine) {
      const lines =
        scripted.lines ??
        (['stdout', 'stderr'] as const).flatMap((stream) =>
          result[stream]
            .split('\n')
            .filter((line) => line.trim())
            .map((line) => ({ line, stream })),
        );
      for (const entry of lines) options.onLine(entry.line, entry.stream ?? 'stdout');
    }
    if (result.exitCode !== 0 && !options.allowFailure) {
      const last = result.stderr.trim().split('\n').filter(Boolean).pop() ?? `exit code ${result.exitCode}`;
      throw new ToolFailedError(file, `${file} ${args.slice(0, 2).join(' ')} failed: ${last}`, undefined, result.stderr);
    }
    return result;
  }
}
