// Ctx: everything a command handler may touch of the outside world, passed in.
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { readEnv, type Env, type EnvSettings } from '../config.js';
import type { Runner } from '../tools/runner.js';
import type { Ui } from './ui.js';

export interface GlobalOptions {
  registry?: string;
  json?: boolean;
  color?: boolean;
  quiet?: boolean;
}

export interface Ctx {
  cwd: string;
  env: Env;
  settings: EnvSettings;
  /** Registry location, an absolute folder or s3://BUCKET/PREFIX: --registry > MLOPS_REGISTRY > ./mlops-registry. */
  registryDir: string;
  ui: Ui;
  runner: Runner;
  now: () => Date;
  /** Who is recorded in the registry: MLOPS_USER or the OS user. */
  user: string;
  /**
   * Resolves when the process is asked to stop (SIGINT, SIGTERM). Reading it tells main
   * that this command drains by itself and returns; commands that never read it are
   * ended with exit 130 by a signal.
   */
  stopRequested: Promise<NodeJS.Signals>;
}

/** A folder (made absolute) or an s3://BUCKET/PREFIX URL (kept as it is). */
export function resolveRegistryDir(cwd: string, settings: EnvSettings, flag?: string): string {
  const location = flag ?? settings.registry ?? 'mlops-registry';
  return location.startsWith('s3://') ? location.replace(/\/+$/, '') : resolve(cwd, location);
}

export function currentUser(settings: EnvSettings, env: Env): string {
  if (settings.user) return settings.user;
  try {
    return userInfo().username;
  } catch {
    return env.USER ?? env.LOGNAME ?? 'unknown';
  }
}

export function baseSettings(env: Env): EnvSettings {
  return readEnv(env);
}
