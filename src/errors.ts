// MlopsError and the exit-code table: every expected failure is one of these values.

/** The documented exit codes, for cron and CI to rely on (README "Exit codes"). */
export const ExitCode = {
  ok: 0,
  checkFailed: 1,
  usage: 2,
  notFound: 3,
  tool: 4,
  interrupted: 130,
  /** A bug in mlops (EX_SOFTWARE); the stack is printed. */
  internal: 70,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class MlopsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode: ExitCode,
    readonly hint?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad flags or bad input: exit 2. */
export class UsageError extends MlopsError {
  constructor(message: string, hint?: string, code = 'usage') {
    super(code, message, ExitCode.usage, hint);
  }
}

/** A registry, model, version, file or route that does not exist: exit 3. */
export class NotFoundError extends MlopsError {
  constructor(message: string, hint?: string, code = 'not_found') {
    super(code, message, ExitCode.notFound, hint);
  }
}

/** A state conflict the user must resolve (version exists, lock held): exit 2. */
export class ConflictError extends MlopsError {
  constructor(message: string, hint?: string, code = 'conflict') {
    super(code, message, ExitCode.usage, hint);
  }
}

/** A check that ran and found a problem (gate failed, drift, rollout failed): exit 1. */
export class CheckFailedError extends MlopsError {
  constructor(message: string, hint?: string, code = 'check_failed', readonly details?: unknown) {
    super(code, message, ExitCode.checkFailed, hint);
  }
}

/** An external program (docker, kubectl) is not installed: exit 4. */
export class ToolMissingError extends MlopsError {
  constructor(readonly tool: string, hint: string) {
    super('tool_missing', `${tool} was not found`, ExitCode.tool, hint);
  }
}

/** An external program or service ran and failed: exit 4. Carries its stderr. */
export class ToolFailedError extends MlopsError {
  constructor(
    readonly tool: string,
    message: string,
    hint?: string,
    readonly stderr = '',
  ) {
    super('tool_failed', message, ExitCode.tool, hint);
  }
}

/** Stopped by SIGINT / SIGTERM before finishing: exit 130. */
export class InterruptedError extends MlopsError {
  constructor(message = 'interrupted') {
    super('interrupted', message, ExitCode.interrupted);
  }
}

export function isMlopsError(value: unknown): value is MlopsError {
  return value instanceof MlopsError;
}

/** The message of any thrown value, for wrapping. */
export function messageOf(value: unknown): string {
  return value instanceof Error ? value.message : String(value);
}
