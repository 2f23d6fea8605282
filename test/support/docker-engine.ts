// vitest globalSetup: a docker engine for the docker tests. Uses a running one when
// `docker info` answers; else starts Debian's dockerd in a temp folder (vfs storage, no
// bridge, no iptables) and stops it at the end. Also makes the local base image.
import { execa } from 'execa';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { ensureBaseImage, TEST_BASE_IMAGE } from './base-image.js';
import { skipOrFail } from './integration.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A docker engine answers and the base image exists. */
    dockerAvailable: boolean;
    /** DOCKER_HOST for the engine ('' for docker's default socket). */
    dockerHost: string;
    /** Why docker tests skip, when dockerAvailable is false. */
    dockerSkipReason: string;
    /** The locally made base image for test builds. */
    dockerBaseImage: string;
  }
}

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const DOCKERD = process.env.MLOPS_TEST_DOCKERD ?? '/usr/sbin/dockerd';
// dockerd answered within 2 s here; a cold CI machine gets a wide margin.
const START_TIMEOUT_MS = 60_000;

async function dockerAnswers(env: Record<string, string | undefined>): Promise<boolean> {
  const result = await execa('docker', ['info', '--format', '{{.ServerVersion}}'], { env, reject: false, timeout: 15_000 });
  return result.exitCode === 0 && result.stdout.trim() !== '';
}

function dockerClientInstalled(): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir !== '' && existsSync(join(dir, 'docker')));
}

/** Unmount whatever is still mounted below `dir`, deepest first. */
async function unmountUnder(dir: string): Promise<void> {
  const mounts = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => (line.split(' ')[1] ?? '').replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))))
    .filter((point) => point === dir || point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const point of mounts) await execa('umount', ['-l', point], { reject: false });
}

interface StartedEngine {
  host: string;
  stop: () => Promise<void>;
}

async function startDockerd(): Promise<StartedEngine> {
  // Short: the socket path must fit a unix socket address (108 bytes).
  const dir = await mkdtemp('/tmp/mlops-dockerd-');
  const host = `unix://${dir}/docker.sock`;
  const logPath = join(dir, 'dockerd.log');
  const log = openSync(logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn(
      DOCKERD,
      [
        '--iptables=false',
        '--bridge=none',
        '--storage-driver=vfs',
        '--data-root', join(dir, 'root'),
        '--exec-root', join(dir, 'exec'),
        '--pidfile', join(dir, 'docker.pid'),
        '-H', host,
      ],
      { stdio: ['ignore', log, log] },
    );
  } finally {
    closeSync(log);
  }
  let exited = false;
  const exit = new Promise<void>((done) => child.once('exit', () => { exited = true; done(); }));
  child.once('error', () => { exited = true; });

  const stop = async () => {
    const stopping = Date.now();
    if (!exited) {
      child.kill('SIGTERM');
      const killTimer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exit;
      clearTimeout(killTimer);
    }
    // dockerd 20.10 leaves its network namespace (exec/netns/default) mounted on exit.
    await unmountUnder(dir);
    // vfs keeps a full copy per layer: hundreds of MB that must not outlive the run.
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    console.info(`[docker-engine] stopped dockerd and removed ${dir} in ${((Date.now() - stopping) / 1000).toFixed(1)} s`);
  };

  const env = { ...process.env, DOCKER_HOST: host };
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline && !exited) {
    if (await dockerAnswers(env)) return { host, stop };
    await new Promise((done) => setTimeout(done, 250));
  }
  const tail = existsSync(logPath) ? readFileSync(logPath, 'utf8').trim().split('\n').slice(-5).join('\n') : '';
  await stop();
  throw new Error(`dockerd did not answer on ${host}${exited ? ' (it exited)' : ` within ${START_TIMEOUT_MS / 1000} s`}:\n${tail}`);
}

export default async function setup({ provide }: TestProject): Promise<(() => Promise<void>) | undefined> {
  provide('dockerBaseImage', TEST_BASE_IMAGE);
  const unavailable = (reason: string) => {
    const skipReason = skipOrFail(`docker tests need an engine: ${reason}`);
    provide('dockerAvailable', false);
    provide('dockerHost', '');
    provide('dockerSkipReason', skipReason);
    return undefined;
  };

  if (!dockerClientInstalled()) return unavailable('the docker client is not installed');

  const started = Date.now();
  let engine: StartedEngine | undefined;
  if (await dockerAnswers(process.env)) {
    engine = undefined;
  } else if (!existsSync(DOCKERD)) {
    return unavailable(`no docker engine answers and ${DOCKERD} is not installed (apt-get install -y docker.io)`);
  } else if (process.getuid?.() !== 0) {
    return unavailable(`no docker engine answers and starting ${DOCKERD} needs root`);
  } else {
    try {
      engine = await startDockerd();
    } catch (error) {
      return unavailable(error instanceof Error ? error.message : String(error));
    }
    // Test workers are forked after this and inherit it; tests also read it via inject().
    process.env.DOCKER_HOST = engine.host;
  }

  const engineReady = Date.now();
  let built: boolean;
  try {
    built = await ensureBaseImage({ env: process.env, root: ROOT });
  } catch (error) {
    await engine?.stop();
    return unavailable(`could not make the base image ${TEST_BASE_IMAGE}: ${error instanceof Error ? error.message : String(error)}`);
  }
  console.info(
    `[docker-engine] ${engine ? `started dockerd at ${engine.host} in ${((engineReady - started) / 1000).toFixed(1)} s` : `using the engine at ${process.env.DOCKER_HOST ?? 'the default socket'}`}; ` +
      `${TEST_BASE_IMAGE} ${built ? `built in ${((Date.now() - engineReady) / 1000).toFixed(1)} s` : 'already there'}`,
  );
  provide('dockerAvailable', true);
  provide('dockerHost', process.env.DOCKER_HOST ?? '');
  provide('dockerSkipReason', '');
  return engine ? () => engine.stop() : undefined;
}
