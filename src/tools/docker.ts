// The docker adapter: pure argv builders (what `mlops deploy --dry-run` prints) and the
// calls that run them through the Runner, turning docker's failures into MlopsErrors with a fix.
import { readFile } from 'node:fs/promises';
import { ToolFailedError, ToolMissingError, UsageError } from '../errors.js';
import type { RunOptions, RunResult, Runner } from './runner.js';

export const DOCKER_INSTALL_HINT = 'install Docker (https://docs.docker.com/engine/install/) or set MLOPS_DOCKER to the docker binary';
const DAEMON_HINT = 'start Docker (Docker Desktop, or `sudo systemctl start docker`), or point DOCKER_HOST at a running engine';

// ---------------------------------------------------------------------------------------
// Image references

export interface ImageRef {
  /** Everything before the tag: [registry-host[:port]/]path, e.g. 127.0.0.1:5000/team/fraud. */
  repository: string;
  tag: string;
}

// Docker's reference grammar, reduced to what `docker build -t` accepts: lower-case path
// components separated by '/', an optional registry host (which may carry a port) first.
const HOST_PATTERN = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$/;
const PATH_COMPONENT_PATTERN = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
export const TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** Parse `--image REPO[:TAG]`; the tag defaults to `defaultTag` (the model version). */
export function parseImageRef(text: string, defaultTag: string): ImageRef {
  const bad = (why: string) =>
    new UsageError(`invalid image '${text}': ${why}`, 'write --image REPOSITORY[:TAG], e.g. --image registry.example.com/team/fraud:v1.0.0', 'invalid_image');
  if (text.includes('@')) throw bad('a digest (@sha256:...) names an existing image, not one to build');
  const lastSlash = text.lastIndexOf('/');
  const colon = text.indexOf(':', lastSlash + 1);
  const repository = colon < 0 ? text : text.slice(0, colon);
  const tag = colon < 0 ? defaultTag : text.slice(colon + 1);
  if (repository === '') throw bad('the repository name is empty');
  const parts = repository.split('/');
  // The first part is a registry host when it looks like one (has '.', ':' or is localhost).
  const first = parts[0] ?? '';
  const hasHost = parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (hasHost && !HOST_PATTERN.test(first)) throw bad(`'${first}' is not a registry host[:port]`);
  for (const part of hasHost ? parts.slice(1) : parts) {
    if (!PATH_COMPONENT_PATTERN.test(part)) {
      throw bad(`'${part}' must be lower-case letters and digits, separated by '.', '_' or '-'`);
    }
  }
  if (!TAG_PATTERN.test(tag)) {
    throw new UsageError(
      `invalid image tag '${tag}'`,
      'tags are up to 128 letters, digits, "_", "." or "-" and cannot start with "." or "-"; pass --image REPOSITORY:TAG',
      'invalid_image',
    );
  }
  return { repository, tag };
}

export function formatImageRef(ref: ImageRef): string {
  return `${ref.repository}:${ref.tag}`;
}

/** The repository part of a full reference (drops :tag, keeps a registry's :port). */
export function repositoryOf(image: string): string {
  const colon = image.lastIndexOf(':');
  return colon > image.lastIndexOf('/') ? image.slice(0, colon) : image;
}

/** The registry host an image is pushed to (docker.io when the reference names none). */
export function registryHostOf(repository: string): string {
  const parts = repository.split('/');
  const first = parts[0] ?? '';
  return parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost') ? first : 'docker.io';
}

// ---------------------------------------------------------------------------------------
// Argv builders: pure, so that a dry run prints exactly what apply runs.

export interface BuildSpec {
  contextDir: string;
  /** Path of the Dockerfile (inside the context or not). */
  dockerfile: string;
  /** Full references, e.g. ['registry.example.com/fraud:v1.0.0']. */
  tags: readonly string[];
  labels?: Readonly<Record<string, string>>;
  buildArgs?: Readonly<Record<string, string>>;
  /** docker --platform value, e.g. linux/amd64 or linux/amd64,linux/arm64. */
  platform?: string;
  /** docker writes the built image's ID here: works with both the legacy builder and BuildKit. */
  iidFile?: string;
  noCache?: boolean;
}

export function dockerBuildArgs(spec: BuildSpec): string[] {
  const args = ['build', '--file', spec.dockerfile];
  for (const tag of spec.tags) args.push('--tag', tag);
  // Sorted so that plans and recorded argv are stable whatever order the caller built them in.
  for (const [key, value] of Object.entries(spec.buildArgs ?? {}).sort(byKey)) args.push('--build-arg', `${key}=${value}`);
  for (const [key, value] of Object.entries(spec.labels ?? {}).sort(byKey)) args.push('--label', `${key}=${value}`);
  if (spec.platform) args.push('--platform', spec.platform);
  if (spec.iidFile) args.push('--iidfile', spec.iidFile);
  if (spec.noCache) args.push('--no-cache');
  args.push(spec.contextDir);
  return args;
}

export function dockerPushArgs(image: string): string[] {
  return ['push', image];
}

/** The password never goes in argv (visible in `ps` and logs): docker reads it from stdin. */
export function dockerLoginArgs(server: string, username: string): string[] {
  return ['login', server, '--username', username, '--password-stdin'];
}

export function dockerVersionArgs(): string[] {
  return ['version', '--format', '{{json .Server}}'];
}

export function dockerImageInspectArgs(image: string): string[] {
  return ['image', 'inspect', '--format', '{{json .}}', image];
}

function byKey(a: [string, string], b: [string, string]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/** One command as a POSIX shell line, for --dry-run and logs. */
export function formatCommand(bin: string, args: readonly string[]): string {
  return [bin, ...args].map(shellQuote).join(' ');
}

export function shellQuote(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_./:=@%+,-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

// ---------------------------------------------------------------------------------------
// Reading docker's output

// eslint-disable-next-line no-control-regex -- ESC is the point: docker colours its progress output.
const ANSI_PATTERN = /\u001b\[[0-9;]*[A-Za-z]/g;

export function stripAnsi(line: string): string {
  return line.replace(ANSI_PATTERN, '');
}

/**
 * The build step a line announces, or undefined. The legacy builder prints
 * "Step 3/8 : COPY app/ /app/"; BuildKit's plain progress prints "#7 [3/8] COPY app/ /app/".
 */
export function buildStepOf(line: string): { step: string; instruction: string } | undefined {
  const legacy = /^Step (\d+\/\d+) : (.+)$/.exec(line);
  if (legacy) return { step: legacy[1]!, instruction: legacy[2]! };
  const buildkit = /^#\d+ \[(?:[\w.-]+ )?(\d+\/\d+)\] (.+)$/.exec(line);
  if (buildkit) return { step: buildkit[1]!, instruction: buildkit[2]! };
  return undefined;
}

/** Lines docker prints that say nothing about this build (the legacy builder's deprecation notice). */
function isNoise(line: string): boolean {
  return /^DEPRECATED: The legacy builder|^\s+(Install the buildx component|https:\/\/docs\.docker\.com\/go\/buildx)/.test(line);
}

/** The most telling error line of a failed docker run: the last non-noise stderr line. */
export function lastErrorLine(stderr: string): string | undefined {
  const lines = stderr
    .split('\n')
    .map((line) => stripAnsi(line).trim())
    .filter((line) => line !== '' && !isNoise(line));
  // BuildKit ends with "ERROR: failed to solve: ..." and may follow it with context lines.
  const solve = [...lines].reverse().find((line) => /^ERROR:|^error:/i.test(line));
  return solve ?? lines.pop();
}

const DAEMON_DOWN = /Cannot connect to the Docker daemon|Is the docker daemon running|error during connect|dial unix .*: connect: (?:no such file|connection refused)/i;
const SOCKET_DENIED = /permission denied while trying to connect to the Docker daemon/i;
const PUSH_DENIED = /denied|unauthorized|authentication required|no basic auth credentials|forbidden/i;
const UNREACHABLE = /no such host|connection refused|i\/o timeout|dial tcp|server gave HTTP response to HTTPS client|x509:/i;

/** Daemon-level failures any docker command can hit; undefined when the output shows none. */
export function daemonFailure(command: string, stderr: string): ToolFailedError | undefined {
  if (SOCKET_DENIED.test(stderr)) {
    return new ToolFailedError(
      'docker',
      `docker ${command}: permission denied on the Docker socket`,
      'add your user to the docker group (`sudo usermod -aG docker $USER`, then log in again) or use a DOCKER_HOST you can reach',
      stderr,
    );
  }
  if (DAEMON_DOWN.test(stderr)) {
    return new ToolFailedError('docker', `docker ${command}: cannot connect to the Docker daemon`, DAEMON_HINT, stderr);
  }
  return undefined;
}

/** A failed `docker build` as one line naming the step that failed and docker's message. */
export function buildFailure(result: RunResult, failedStep?: { step: string; instruction: string }): ToolFailedError {
  const daemon = daemonFailure('build', result.stderr);
  if (daemon) return daemon;
  const reason = lastErrorLine(result.stderr) ?? lastErrorLine(result.stdout) ?? `exit code ${result.exitCode}`;
  const where = failedStep ? ` at step ${failedStep.step} (${failedStep.instruction})` : '';
  let hint = "docker's output before the failure shows the cause: fix it and run the deploy again";
  if (failedStep && /^FROM\b/i.test(failedStep.instruction)) {
    hint = 'the base image is not on this machine and could not be pulled: `docker pull` it first or pass --base-image IMAGE';
  } else if (/no space left on device/i.test(reason)) {
    hint = 'free disk space for Docker (`docker system prune`) and try again';
  }
  return new ToolFailedError('docker', `docker build failed${where}: ${reason}`, hint, result.stderr);
}

export function pushFailure(image: string, result: RunResult): ToolFailedError {
  const daemon = daemonFailure('push', result.stderr);
  if (daemon) return daemon;
  const reason = lastErrorLine(result.stderr) ?? `exit code ${result.exitCode}`;
  const host = registryHostOf(repositoryOf(image));
  if (PUSH_DENIED.test(reason)) {
    return new ToolFailedError(
      'docker',
      `docker push ${image} was refused by ${host}: ${reason}`,
      `log in first (\`docker login ${host}\`) with an account that may push to this repository`,
      result.stderr,
    );
  }
  if (UNREACHABLE.test(reason)) {
    return new ToolFailedError(
      'docker',
      `docker push ${image} could not reach ${host}: ${reason}`,
      'check the registry address in --image, the network, and (for a plain-HTTP registry) the engine\'s insecure-registries setting',
      result.stderr,
    );
  }
  if (/does not exist locally/i.test(reason)) {
    return new ToolFailedError('docker', `docker push ${image} failed: ${reason}`, 'build the image before pushing it', result.stderr);
  }
  return new ToolFailedError('docker', `docker push ${image} failed: ${reason}`, undefined, result.stderr);
}

// ---------------------------------------------------------------------------------------
// Running docker

export interface DockerOptions {
  runner: Runner;
  /** The docker binary (MLOPS_DOCKER, read by the caller); `docker` on PATH by default. */
  bin?: string;
  /** Environment for docker (DOCKER_HOST, DOCKER_CONFIG, ...), merged over the process's own. */
  env?: Record<string, string | undefined>;
  /** Aborted on Ctrl-C / SIGTERM: the running docker command is stopped. */
  signal?: AbortSignal;
}

export interface DockerServer {
  version: string;
  os: string;
  arch: string;
}

export interface LineListener {
  (line: string, stream: 'stdout' | 'stderr'): void;
}

export interface BuildResult {
  /** sha256:... as docker reports it, when it wrote the iid file. */
  imageId?: string;
  /** Build steps docker announced (0 when its output format was not recognised). */
  steps: number;
}

/** Image facts `mlops deploy` and the tests read back: labels, user, size. */
export interface ImageInfo {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  labels: Record<string, string>;
  user: string;
  cmd: string[];
  architecture: string;
  os: string;
  sizeBytes: number;
  healthcheck?: string[];
}

export class Docker {
  readonly bin: string;
  private readonly runner: Runner;
  private readonly env?: Record<string, string | undefined>;
  private readonly signal?: AbortSignal;

  constructor(options: DockerOptions) {
    this.runner = options.runner;
    this.bin = options.bin ?? 'docker';
    this.env = options.env;
    this.signal = options.signal;
  }

  /** Run docker; a missing binary becomes ToolMissingError naming the path that was tried. */
  async run(args: readonly string[], options: Omit<RunOptions, 'env' | 'allowFailure'> = {}): Promise<RunResult> {
    try {
      return await this.runner.run(this.bin, args, { ...options, env: this.env, allowFailure: true, signal: this.signal });
    } catch (error) {
      if (error instanceof ToolMissingError) {
        throw new ToolMissingError('docker', this.bin === 'docker' ? DOCKER_INSTALL_HINT : `${DOCKER_INSTALL_HINT} (tried ${this.bin})`);
      }
      throw error;
    }
  }

  /** Is the engine reachable? Returns its version and platform (the default build platform). */
  async preflight(): Promise<DockerServer> {
    const result = await this.run(dockerVersionArgs());
    const daemon = daemonFailure('version', result.stderr);
    if (daemon) throw daemon;
    type ServerJson = { Version?: string; Os?: string; Arch?: string } | null;
    let server: ServerJson;
    try {
      server = JSON.parse(result.stdout.trim() || 'null') as ServerJson;
    } catch {
      server = null;
    }
    if (result.exitCode !== 0 || !server?.Version) {
      throw new ToolFailedError('docker', `docker version failed: ${lastErrorLine(result.stderr) ?? 'no server information'}`, DAEMON_HINT, result.stderr);
    }
    return { version: server.Version, os: server.Os ?? 'linux', arch: server.Arch ?? 'amd64' };
  }

  /** `docker build`, streaming its output line by line. */
  async build(spec: BuildSpec, onLine?: LineListener): Promise<BuildResult> {
    let lastStep: { step: string; instruction: string } | undefined;
    let steps = 0;
    const result = await this.run(dockerBuildArgs(spec), {
      onLine: (raw, stream) => {
        const line = stripAnsi(raw);
        if (isNoise(line)) return;
        const step = buildStepOf(line);
        if (step) {
          lastStep = step;
          steps += 1;
        }
        onLine?.(line, stream);
      },
    });
    if (result.exitCode !== 0) throw buildFailure(result, lastStep);
    return { steps, imageId: spec.iidFile ? await readIidFile(spec.iidFile) : undefined };
  }

  /** `docker push`; returns the digest the registry acknowledged. */
  async push(image: string, onLine?: LineListener): Promise<{ digest?: string }> {
    let digest: string | undefined;
    const result = await this.run(dockerPushArgs(image), {
      onLine: (raw, stream) => {
        const line = stripAnsi(raw);
        const match = /digest: (sha256:[0-9a-f]{64})/.exec(line);
        if (match) digest = match[1];
        onLine?.(line, stream);
      },
    });
    if (result.exitCode !== 0) throw pushFailure(image, result);
    return { digest };
  }

  /** `docker login` with the password on stdin; the password is never in argv or in errors. */
  async login(server: string, username: string, password: string): Promise<void> {
    const result = await this.run(dockerLoginArgs(server, username), { input: password });
    if (result.exitCode === 0) return;
    const daemon = daemonFailure('login', result.stderr);
    if (daemon) throw daemon;
    const reason = (lastErrorLine(result.stderr) ?? `exit code ${result.exitCode}`).split(password).join('***');
    throw new ToolFailedError(
      'docker',
      `docker login ${server} as ${username} failed: ${reason}`,
      UNREACHABLE.test(reason) ? 'check the registry address and the network' : 'check the user name and password (or token) for this registry',
      result.stderr.split(password).join('***'),
    );
  }

  /** The image's labels, user, command and size; NotFound-like failures become ToolFailedError. */
  async inspectImage(image: string): Promise<ImageInfo> {
    const result = await this.run(dockerImageInspectArgs(image));
    if (result.exitCode !== 0) {
      throw daemonFailure('image inspect', result.stderr) ??
        new ToolFailedError('docker', `docker image inspect ${image} failed: ${lastErrorLine(result.stderr) ?? `exit code ${result.exitCode}`}`, undefined, result.stderr);
    }
    return parseImageInspect(result.stdout);
  }
}

async function readIidFile(path: string): Promise<string | undefined> {
  try {
    const text = (await readFile(path, 'utf8')).trim();
    return text === '' ? undefined : text;
  } catch {
    return undefined;
  }
}

/** Parse `docker image inspect --format '{{json .}}'` output (one JSON object). */
export function parseImageInspect(stdout: string): ImageInfo {
  const raw = JSON.parse(stdout.trim()) as {
    Id: string;
    RepoTags?: string[] | null;
    RepoDigests?: string[] | null;
    Architecture?: string;
    Os?: string;
    Size?: number;
    Config?: { Labels?: Record<string, string> | null; User?: string; Cmd?: string[] | null; Healthcheck?: { Test?: string[] } | null } | null;
  };
  const config = raw.Config ?? {};
  return {
    id: raw.Id,
    repoTags: raw.RepoTags ?? [],
    repoDigests: raw.RepoDigests ?? [],
    labels: config.Labels ?? {},
    user: config.User ?? '',
    cmd: config.Cmd ?? [],
    architecture: raw.Architecture ?? '',
    os: raw.Os ?? '',
    sizeBytes: raw.Size ?? 0,
    healthcheck: config.Healthcheck?.Test,
  };
}
