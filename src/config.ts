// The MLOPS_* environment variables, declared once, and the registry's mlops.yaml.
// Precedence everywhere: defaults < mlops.yaml < MLOPS_* env < flags.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NotFoundError, UsageError, messageOf } from './errors.js';

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

/** What a YAML file is called in messages, and the flag that named it. */
export interface FileRole {
  /** "config", "rules file", "alert config" */
  kind?: string;
  /** "--config", "--rules", "--alert-config" */
  flag?: string;
}

/** A parsed YAML file that can say on which line a value sits. */
export interface YamlSource {
  path: string;
  value: Record<string, unknown>;
  /** 1-based line of the value at keys (or of its nearest parent that exists). */
  lineOf(keys: ReadonlyArray<string | number>): number | undefined;
}

/** One problem in a config file, at a path of keys; files are validated whole and all problems listed. */
export interface ConfigProblem {
  keys: ReadonlyArray<string | number>;
  message: string;
  hint?: string;
}

/**
 * One UsageError listing every problem, each as `FILE:LINE: message`. Without a file
 * (a document built in code) a single problem reads as its bare message.
 */
export function configProblemsError(
  problems: readonly ConfigProblem[],
  source: Pick<YamlSource, 'path' | 'lineOf'> | undefined,
  fallbackHint: string,
  label?: string,
): UsageError {
  const name = label ?? source?.path;
  const located = (problem: ConfigProblem) => {
    const line = source?.lineOf(problem.keys);
    return name === undefined ? problem.message : `${name}${line !== undefined ? `:${line}` : ''}: ${problem.message}`;
  };
  if (problems.length === 1) return new UsageError(located(problems[0]!), problems[0]!.hint ?? fallbackHint);
  const lines = problems.map((problem) => `  ${located(problem)}`);
  return new UsageError(`${name ?? 'the configuration'} has ${problems.length} problems:\n${lines.join('\n')}`, `fix all ${problems.length}; ${problems[0]!.hint ?? fallbackHint}`);
}

/** Reads a YAML file whole: every syntax error is listed with its line; a missing file is exit 3 naming the flag. */
export async function loadYamlSource(
  path: string,
  { optional = false, kind = 'config', flag }: { optional?: boolean } & FileRole = {},
): Promise<YamlSource | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      if (optional) return undefined;
      throw new NotFoundError(`${kind} ${path}${flag ? ` (${flag})` : ''} does not exist`, `check the path${flag ? ` given to ${flag}` : ''}`, 'file_not_found');
    }
    if (code === 'EISDIR') throw new UsageError(`${kind} ${path}${flag ? ` (${flag})` : ''} is a folder, not a YAML file`, `give ${flag ?? 'the option'} a file`);
    if (code === 'ENAMETOOLONG' || code === 'ENOSPC') throw error;
    throw new UsageError(`cannot read ${kind} ${path}${flag ? ` (${flag})` : ''}: ${messageOf(error)}`, 'check the path and its permissions');
  }
  const { parseDocument, LineCounter, isNode } = await import('yaml');
  const lineCounter = new LineCounter();
  let document: ReturnType<typeof parseDocument>;
  try {
    document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  } catch (error) {
    throw new UsageError(`${path} is not valid YAML: ${messageOf(error).split('\n')[0]}`, 'fix the YAML syntax');
  }
  const lineAt = (offset: number | undefined) => (offset === undefined ? undefined : lineCounter.linePos(offset).line);
  if (document.errors.length) {
    const problems = document.errors.slice(0, 20).map((error) => `${path}:${lineAt(error.pos[0]) ?? '?'}: ${error.message.split('\n')[0]}`);
    const more = document.errors.length > 20 ? `\n  ... and ${document.errors.length - 20} more` : '';
    const message = problems.length === 1 ? `${kind} ${problems[0]!.replace(`${path}:`, `${path} line `)} (not valid YAML)` : `${kind} ${path} is not valid YAML (${document.errors.length} errors):\n${problems.map((p) => `  ${p}`).join('\n')}${more}`;
    throw new UsageError(message, 'fix the YAML syntax (quote values holding : # > or starting with @ or `)');
  }
  let value: unknown;
  try {
    value = document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new UsageError(`${kind} ${path} cannot be read: ${messageOf(error).split('\n')[0]}`, 'fix the YAML (aliases, tags)');
  }
  if (value === null || value === undefined) value = {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new UsageError(`${kind} ${path} must hold a YAML mapping`, 'write key: value pairs at the top level');
  }
  return {
    path,
    value: value as Record<string, unknown>,
    lineOf(keys) {
      for (let length = keys.length; length >= 0; length--) {
        const node = length === 0 ? document.contents : document.getIn(keys.slice(0, length), true);
        if (isNode(node) && node.range) return lineAt(node.range[0]);
      }
      return undefined;
    },
  };
}

export async function loadYamlConfig(path: string, options: { optional?: boolean } & FileRole = {}): Promise<Record<string, unknown>> {
  return (await loadYamlSource(path, options))?.value ?? {};
}
