// The kubectl adapter: pure argv builders for every call mlops makes, and a client that
// runs them through the Runner, parses `-o json`, and turns kubectl's errors into MlopsErrors.
import { ToolFailedError, type MlopsError } from '../errors.js';
import { isPlainObject } from '../plain-object.js';
import type { RunOptions, Runner, RunResult } from './runner.js';

/** Where kubectl commands go: the binary, the namespace and optionally a kubeconfig context. */
export interface KubectlTarget {
  /** Path or name of the kubectl binary (MLOPS_KUBECTL, default `kubectl`). */
  kubectl: string;
  namespace: string;
  context?: string;
  /** Extra environment for kubectl (KUBECONFIG, ...), on top of the Runner's own. */
  env?: Record<string, string | undefined>;
  /** Aborted on Ctrl-C / SIGTERM: the running kubectl is stopped. */
  signal?: AbortSignal;
}

/** One kubectl invocation, exactly as it will run; `input` goes to stdin. */
export interface KubectlCommand {
  file: string;
  args: string[];
  input?: string;
}

/** No single kubectl call should take longer; a hung API server must not hang CI forever. */
export const KUBECTL_CALL_TIMEOUT_MS = 120_000;

function scope(target: KubectlTarget): string[] {
  return ['--namespace', target.namespace, ...(target.context ? ['--context', target.context] : [])];
}

function command(target: KubectlTarget, args: string[], input?: string): KubectlCommand {
  return input === undefined ? { file: target.kubectl, args } : { file: target.kubectl, args, input };
}

export function labelSelector(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
}

/** Pure argv builders: reads always ask for `-o json`; writes read manifests from stdin. */
export const kubectlCommands = {
  getNamespace: (target: KubectlTarget): KubectlCommand =>
    command(target, ['get', 'namespace', target.namespace, '-o', 'json', ...(target.context ? ['--context', target.context] : [])]),
  getService: (target: KubectlTarget, name: string): KubectlCommand => command(target, ['get', 'service', name, ...scope(target), '-o', 'json']),
  getDeployment: (target: KubectlTarget, name: string): KubectlCommand => command(target, ['get', 'deployment', name, ...scope(target), '-o', 'json']),
  getPods: (target: KubectlTarget, labels: Readonly<Record<string, string>>): KubectlCommand =>
    command(target, ['get', 'pods', '--selector', labelSelector(labels), ...scope(target), '-o', 'json']),
  /** Client-side apply: works with every cluster and keeps kubectl's last-applied annotation. */
  apply: (target: KubectlTarget, manifest: string): KubectlCommand => command(target, ['apply', '-f', '-', ...scope(target)], manifest),
  rolloutStatus: (target: KubectlTarget, deployment: string, timeout: string): KubectlCommand =>
    command(target, ['rollout', 'status', `deployment/${deployment}`, ...scope(target), `--timeout=${timeout}`]),
  scale: (target: KubectlTarget, deployment: string, replicas: number): KubectlCommand =>
    command(target, ['scale', `deployment/${deployment}`, `--replicas=${replicas}`, ...scope(target)]),
  /** --wait=false: a stuck finalizer must not block the deploy; the object is already going. */
  deleteDeployment: (target: KubectlTarget, deployment: string): KubectlCommand =>
    command(target, ['delete', `deployment/${deployment}`, ...scope(target), '--ignore-not-found', '--wait=false']),
  /** A JSON merge patch of a deployment (replicas and annotations in one atomic write). */
  patchDeployment: (target: KubectlTarget, deployment: string, patch: Record<string, unknown>): KubectlCommand =>
    command(target, ['patch', 'deployment', deployment, ...scope(target), '--type', 'merge', '-p', JSON.stringify(patch)]),
  /** Fails with AlreadyExists when the object exists: how the deploy lock is taken. */
  create: (target: KubectlTarget, manifest: string): KubectlCommand => command(target, ['create', '-f', '-', ...scope(target)], manifest),
  /** Replaces the whole object; with metadata.resourceVersion set, only if nobody changed it since. */
  replace: (target: KubectlTarget, manifest: string): KubectlCommand => command(target, ['replace', '-f', '-', ...scope(target)], manifest),
  getLease: (target: KubectlTarget, name: string): KubectlCommand => command(target, ['get', 'lease', name, ...scope(target), '-o', 'json']),
  deleteLease: (target: KubectlTarget, name: string): KubectlCommand => command(target, ['delete', 'lease', name, ...scope(target), '--ignore-not-found', '--wait=false']),
  patchServiceSelector: (target: KubectlTarget, service: string, selector: Readonly<Record<string, string>>): KubectlCommand =>
    command(target, ['patch', 'service', service, ...scope(target), '--type', 'merge', '-p', JSON.stringify({ spec: { selector } })]),
};

/** A command as a shell line a user can copy (for --dry-run and error hints). */
export function formatCommand(cmd: KubectlCommand): string {
  const quote = (arg: string) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`);
  return [cmd.file, ...cmd.args].map(quote).join(' ') + (cmd.input === undefined ? '' : ' < manifest');
}

/** Removes credentials kubectl might echo (bearer tokens, passwords, URL user info). */
export function redact(text: string): string {
  return text
    .replace(/(Bearer\s+)[^\s"']+/gi, '$1[redacted]')
    .replace(/((?:token|password|passwd|secret|client-key-data|client-certificate-data)["']?\s*[:=]\s*["']?)[^\s"',}]+/gi, '$1[redacted]')
    .replace(/(\w+:\/\/)[^/\s:@]+:[^/\s@]+@/g, '$1[redacted]@');
}

/**
 * kubectl's own message from its stderr, on one line: client-go log lines dropped, the
 * causes of an "is invalid" error joined, and the server's reason kept for apply errors
 * (whose middle lines repeat the whole patch).
 */
export function kubectlMessage(stderr: string, fallback = 'kubectl failed'): string {
  const lines = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !/^[EWI]\d{4} \d\d:\d\d:\d\d/.test(line));
  const last = lines[lines.length - 1];
  if (last === undefined) return fallback;
  const causes = lines.filter((line) => line.startsWith('* ')).map((line) => line.slice(2));
  if (causes.length > 0) {
    const header = lines.find((line) => /is invalid:?$/.test(line)) ?? 'invalid:';
    return redact(`${header.replace(/:?$/, ':')} ${causes.join('; ')}`);
  }
  let message = last.replace(/^for: "STDIN": /, '');
  const reason = /^Error from server \((\w+)\)/.exec(lines[0] ?? '');
  if (reason && !message.startsWith('Error from server')) message = `Error from server (${reason[1]}): ${message}`;
  return redact(message);
}

export function isNotFound(stderr: string): boolean {
  return /Error from server \(NotFound\)/.test(stderr) && !/namespaces "[^"]*" not found/.test(stderr);
}

/**
 * Problems of the environment rather than of the deploy: no such context, no reachable
 * cluster, no such namespace, no credentials. Each becomes a one-line ToolFailedError.
 */
export function environmentError(stderr: string, target: KubectlTarget): MlopsError | undefined {
  // kubectl's own last lines say it best; client-go's log lines above them say it first.
  const text = redact(
    stderr
      .split('\n')
      .filter((line) => !/^[EWI]\d{4} \d\d:\d\d:\d\d/.test(line.trim()))
      .join('\n'),
  ) || redact(stderr);
  let match = /context was not found for specified context: (\S+)|context "([^"]+)" does not exist/.exec(text);
  if (match) {
    const name = match[1] ?? match[2] ?? target.context ?? '';
    return new ToolFailedError('kubectl', `kubectl context "${name}" does not exist`, 'list the contexts with `kubectl config get-contexts` and pass one with --context NAME', redact(stderr));
  }
  match = /The connection to the server (\S+) was refused|Unable to connect to the server: (.*)|dial tcp ([^:\s]+:\d+): (?:connect: )?(?:connection refused|no such host|i\/o timeout)/.exec(text);
  if (match) {
    const server = match[1] ?? match[3] ?? '';
    const noConfig = server === 'localhost:8080';
    return new ToolFailedError(
      'kubectl',
      noConfig ? 'kubectl has no cluster configured (it fell back to localhost:8080)' : `cannot reach the Kubernetes API server${server ? ` ${server}` : ''}: ${kubectlMessage(text)}`,
      noConfig ? 'set KUBECONFIG or pass --context NAME' : 'check that the cluster is up and the context is right: `kubectl cluster-info`',
      redact(stderr),
    );
  }
  match = /namespaces "([^"]+)" not found/.exec(text);
  if (match) {
    return new ToolFailedError('kubectl', `namespace "${match[1]}" does not exist`, `create it with \`kubectl create namespace ${match[1]}\` or pass --namespace NAME`, redact(stderr));
  }
  if (/\(Unauthorized\)|You must be logged in to the server/.test(text)) {
    return new ToolFailedError('kubectl', 'the cluster refused kubectl\'s credentials (Unauthorized)', 'refresh your credentials for this context (`kubectl config view --minify` shows which user it uses)', redact(stderr));
  }
  return undefined;
}

/** Runs kubectl commands through a Runner; never throws on a non-zero exit (callers decide). */
export class Kubectl {
  constructor(
    readonly runner: Runner,
    readonly target: KubectlTarget,
  ) {}

  run(cmd: KubectlCommand, options: Pick<RunOptions, 'onLine' | 'timeoutMs'> = {}): Promise<RunResult> {
    return this.runner.run(cmd.file, cmd.args, {
      input: cmd.input,
      env: this.target.env,
      allowFailure: true,
      timeoutMs: options.timeoutMs ?? KUBECTL_CALL_TIMEOUT_MS,
      onLine: options.onLine,
      signal: this.target.signal,
    });
  }

  /** Runs a `-o json` read: the parsed object, or undefined when kubectl says NotFound. */
  async readJson(cmd: KubectlCommand): Promise<Record<string, unknown> | undefined> {
    const result = await this.run(cmd);
    if (result.exitCode !== 0) {
      const environment = environmentError(result.stderr, this.target);
      if (environment) throw environment;
      if (isNotFound(result.stderr)) return undefined;
      throw new ToolFailedError('kubectl', `kubectl ${cmd.args.slice(0, 3).join(' ')} failed: ${kubectlMessage(result.stderr)}`, undefined, redact(result.stderr));
    }
    return parseJson(result.stdout, cmd);
  }

  /**
   * Checks the context, the cluster and the namespace with one read. A user who may not
   * read namespaces (RBAC) passes: the first real step will say what is wrong.
   */
  async preflight(): Promise<void> {
    const cmd = kubectlCommands.getNamespace(this.target);
    const result = await this.run(cmd);
    if (result.exitCode === 0) return;
    const environment = environmentError(result.stderr, this.target);
    if (environment) throw environment;
    if (/\(Forbidden\)/.test(result.stderr)) return;
    if (isNotFound(result.stderr)) {
      throw new ToolFailedError('kubectl', `namespace "${this.target.namespace}" does not exist`, `create it with \`kubectl create namespace ${this.target.namespace}\` or pass --namespace NAME`, redact(result.stderr));
    }
    throw new ToolFailedError('kubectl', `kubectl cannot read namespace "${this.target.namespace}": ${kubectlMessage(result.stderr)}`, 'check the kubeconfig and context: `kubectl cluster-info`', redact(result.stderr));
  }
}

export function parseJson(stdout: string, cmd: KubectlCommand): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(stdout);
    if (isPlainObject(value)) return value;
  } catch {
    // fall through to the error below
  }
  throw new ToolFailedError('kubectl', `kubectl ${cmd.args.slice(0, 3).join(' ')} printed something that is not a JSON object`, 'check that MLOPS_KUBECTL points at kubectl');
}
