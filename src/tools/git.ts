// The git adapter: which commit a registered file came from, when it sits in a repo.
import { dirname, resolve } from 'node:path';
import type { Runner } from './runner.js';

export function revParseArgs(dir: string): string[] {
  return ['-C', dir, 'rev-parse', 'HEAD'];
}

export function statusArgs(dir: string, file: string): string[] {
  return ['-C', dir, 'status', '--porcelain', '--', file];
}

/** Where a registered file came from; the registry stores it as a version's `source`. */
export interface GitSource {
  path: string;
  git_commit?: string;
  git_dirty?: boolean;
}

/** The source of a file: its path, and the git commit when inside a repository (else just the path). */
export async function sourceOf(runner: Runner, cwd: string, path: string): Promise<GitSource> {
  const absolute = resolve(cwd, path);
  const dir = dirname(absolute);
  try {
    const head = await runner.run('git', revParseArgs(dir), { allowFailure: true, timeoutMs: 5_000 });
    if (head.exitCode !== 0) return { path: absolute };
    const status = await runner.run('git', statusArgs(dir, absolute), { allowFailure: true, timeoutMs: 5_000 });
    return { path: absolute, git_commit: head.stdout.trim(), git_dirty: status.stdout.trim() !== '' };
  } catch {
    // No git on this machine: the path alone is still a useful source.
    return { path: absolute };
  }
}
