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

/** The disk or quota is full: exit 4 (the machine, not the input, must change). */
export class DiskFullError extends MlopsError {
  constructor(where?: string) {
    super('disk_full', `disk full${where ? ` (${where})` : ''}`, ExitCode.tool, 'free some space (or raise the quota) and run the command again');
  }
}

const DISK_FULL = new Set(['ENOSPC', 'EDQUOT']);

/** The errno code of a thrown value or of any error in its `cause` chain. */
export function errnoOf(value: unknown): string | undefined {
  for (let current = value, depth = 0; current && depth < 8; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Ordinary conditions of the machine that reach the top as plain errors (or wrapped in a
 * message) become their documented codes here, wherever in mlops they surfaced.
 */
export function fromSystemError(value: unknown): MlopsError | undefined {
  const code = errnoOf(value);
  const message = value instanceof Error ? value.message : String(value);
  const path = (value as { path?: unknown } | null)?.path;
  const where = typeof path === 'string' ? path : undefined;
  if ((code && DISK_FULL.has(code)) || /\b(ENOSPC|EDQUOT)\b|no space left on device|disk quota exceeded/i.test(message)) {
    return new DiskFullError(where);
  }
  // The rest only for errors nothing in mlops wrapped: a raw errno reaching the top.
  if (!(value instanceof MlopsError)) {
    const at = where ? ` ${where}` : '';
    switch (code) {
      case 'EACCES':
      case 'EPERM':
        return new MlopsError('permission_denied', `permission denied:${at || ' a file mlops needs'}`, ExitCode.tool, 'check that this user may write there (owner, mode), or choose another path (--registry, --out, --report)');
      case 'EROFS':
        return new MlopsError('read_only', `read-only file system:${at || ' a file mlops needs'}`, ExitCode.tool, 'choose a writable path (--registry, --out, --report)');
      case 'EMFILE':
      case 'ENFILE':
        return new MlopsError('too_many_files', 'too many open files', ExitCode.tool, 'raise the limit (ulimit -n) or run fewer mlops processes at once');
      case 'ENOTDIR':
      case 'EISDIR':
      case 'ELOOP':
        return new UsageError(`${code === 'EISDIR' ? 'a folder where a file was expected' : code === 'ELOOP' ? 'too many symbolic links' : 'a file where a folder was expected'}:${at || ' in a path given'}`, 'check the path', 'bad_path');
      case 'ENOENT':
        return new NotFoundError(`no such file or folder:${at || ' a path given'}`, 'check the path');
    }
  }
  if (code === 'ENAMETOOLONG' || /\bENAMETOOLONG\b/.test(message)) {
    return new UsageError(`a file name is too long for this file system${where ? ` (${where.length} characters: ${where.slice(0, 60)}...)` : ''}`, 'use a shorter name, version or path (most file systems allow 255 bytes per name)', 'name_too_long');
  }
  return undefined;
}
