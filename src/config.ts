// The MLOPS_* environment variables, declared once, and the registry's mlops.yaml.
// Precedence everywhere: defaults < mlops.yaml < MLOPS_* env < flags.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError, messageOf } from './errors.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** Every environment variable mlops reads, with its meaning (also listed in the README). */
export const ENV_VARS = {
  MLOPS_REGISTRY: 'registry folder or s3://BUCKET/PREFIX (default ./mlops-registry)',
  MLOPS_CACHE_DIR: 'local cache of an s3:// registry\'s blobs and records (default $XDG_CACHE_HOME/mlops or ~/.cache/mlops)',
  MLOPS_S3_PATH_STYLE: '0 turns off path-style S3 addressing, which is on whenever AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL is set',
  MLOPS_USER: 'who is recorded as registering / promoting (default: the OS user)',
  MLOPS_DOCKER: 'path of the docker binary (default: docker on PATH)',
  MLOPS_KUBECTL: 'path of the kubectl binary (default: kubectl on PATH)',
  MLOPS_LOG_LEVEL: 'serve log level: debug, info, warn, error (default info)',
} as const;

export interface EnvSettings {
  registry?: string;
  user?: string;
  docker?: string;
  kubectl?: string;
  logLevel?: string;
}

export function readEnv(env: Env): EnvSettings {
  const pick = (name: keyof typeof ENV_VARS) => {
    const value = env[name];
    return value === undefined || value === '' ? undefined : value;
  };
  return {
    registry: pick('MLOPS_REGISTRY'),
    user: pick('MLOPS_USER'),
    docker: pick('MLOPS_DOCKER'),
    kubectl: pick('MLOPS_KUBECTL'),
    logLevel: pick('MLOPS_LOG_LEVEL'),
  };
}

export const CONFIG_FILE = 'mlops.yaml';

/** The registry's optional mlops.yaml (alert channels, serve defaults, ...); {} when absent. */
export async function loadRegistryConfig(registryDir: string): Promise<Record<string, unknown>> {
  return loadYamlConfig(join(registryDir, CONFIG_FILE), { optional: true });
}

export async function loadYamlConfig(
  path: string,
  { optional = false }: { optional?: boolean } = {},
): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (optional && (error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new UsageError(`cannot read config ${path}: ${messageOf(error)}`, 'check the path');
  }
  const { parse } = await import('yaml');
  let value: unknown;
  try {
    value = parse(text);
  } catch (error) {
    throw new UsageError(`${path} is not valid YAML: ${messageOf(error).split('\n')[0]}`, 'fix the YAML syntax');
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new UsageError(`${path} must hold a YAML mapping`, 'write key: value pairs at the top level');
  }
  return value as Record<string, unknown>;
}
