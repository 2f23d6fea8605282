// The docker adapter against the real docker client and engine when things go wrong:
// no binary, no daemon, a failing build step, an unreachable base image, a registry
// that refuses the push, and a login whose password goes through stdin.
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode, ToolFailedError, ToolMissingError } from '../../src/errors.js';
import { Docker } from '../../src/tools/docker.js';
import { ExecaRunner } from '../../src/tools/runner.js';
import { dockerForTests } from '../support/docker-tests.js';

const clientInstalled = (process.env.PATH ?? '').split(':').some((dir) => dir !== '' && existsSync(join(dir, 'docker')));
const { available, skipReason, baseImage, env: dockerEnv } = dockerForTests();

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'mlops-docker-errors-'));
  // docker login writes credentials here, never into the user's ~/.docker.
  dockerEnv.DOCKER_CONFIG = join(work, 'docker-config');
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function caught(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error,
  );
}

it('says docker is not installed when the binary is missing (exit 4)', async () => {
  const error = await caught(new Docker({ runner: new ExecaRunner(), bin: join(tmpdir(), 'no-such-dir', 'docker') }).preflight());
  expect(error).toBeInstanceOf(ToolMissingError);
  expect((error as ToolMissingError).exitCode).toBe(ExitCode.tool);
  expect((error as ToolMissingError).message).toBe('docker was not found');
  expect((error as ToolMissingError).hint).toMatch(/install Docker.*MLOPS_DOCKER/);
});

describe.skipIf(!clientInstalled)('without a daemon', () => {
  it('hints at starting Docker or DOCKER_HOST', async () => {
    const env = { ...dockerEnv, DOCKER_HOST: `unix://${join(work, 'nothing-listens.sock')}` };
    const error = await caught(new Docker({ runner: new ExecaRunner(), env }).preflight());
    expect(error).toBeInstanceOf(ToolFailedError);
    expect((error as ToolFailedError).message).toBe('docker version: cannot connect to the Docker daemon');
    expect((error as ToolFailedError).hint).toMatch(/start Docker.*DOCKER_HOST/);
    expect((error as ToolFailedError).stderr).toMatch(/Cannot connect to the Docker daemon/);
  });
});

const title = available ? 'docker failures on a real engine' : `docker failures on a real engine (skipped: ${skipReason})`;

describe.skipIf(!available)(title, () => {
  const docker = () => new Docker({ runner: new ExecaRunner(), env: dockerEnv });
  const images: string[] = [];
  let fakeRegistry: Server;
  let fakeHost: string;
  const seenAuthorizations: string[] = [];

  beforeAll(async () => {
    // A registry that accepts only bot:s3cret-t0ken: enough for login and a refused push.
    fakeRegistry = createServer((request, response) => {
      seenAuthorizations.push(request.headers.authorization ?? '');
      const ok = request.url === '/v2/' && request.headers.authorization === `Basic ${Buffer.from('bot:s3cret-t0ken').toString('base64')}`;
      response.writeHead(ok ? 200 : 401, {
        'content-type': 'application/json',
        'docker-distribution-api-version': 'registry/2.0',
        'www-authenticate': 'Basic realm="mlops-test"',
      });
      response.end(ok ? '{}' : JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required', detail: null }] }));
    });
    await new Promise<void>((done) => fakeRegistry.listen(0, '127.0.0.1', done));
    const address = fakeRegistry.address();
    fakeHost = `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });

  afterAll(async () => {
    for (const image of images) await execa('docker', ['image', 'rm', '-f', image], { env: dockerEnv, reject: false });
    await new Promise((done) => fakeRegistry?.close(done));
  });

  async function context(dockerfile: string): Promise<string> {
    const dir = await mkdtemp(join(work, 'context-'));
    await writeFile(join(dir, 'Dockerfile'), dockerfile);
    await mkdir(join(dir, 'data'));
    await writeFile(join(dir, 'data', 'model.txt'), 'not really a model\n');
    return dir;
  }

  it('names the failing step and the command\'s exit code when a RUN fails', async () => {
    const dir = await context(
      `FROM ${baseImage}\nCOPY data/ /data/\nRUN ["node", "-e", "console.error('model check failed'); process.exit(3)"]\n`,
    );
    const lines: string[] = [];
    const tag = 'mlops-test-broken:1';
    images.push(tag);
    const error = await caught(docker().build({ contextDir: dir, dockerfile: join(dir, 'Dockerfile'), tags: [tag] }, (line) => lines.push(line)));
    expect(error).toBeInstanceOf(ToolFailedError);
    expect((error as ToolFailedError).exitCode).toBe(ExitCode.tool);
    expect((error as ToolFailedError).message).toMatch(
      /^docker build failed at step 3\/3 \(RUN \["node", "-e", "console\.error\('model check failed'\); process\.exit\(3\)"\]\): .*(non-zero code: 3|exit code: 3)/,
    );
    // The step's own output reached the caller, line by line, without colour codes.
    expect(lines).toContain('model check failed');
    expect(lines.join('\n')).not.toMatch(/\u001b\[/);
  });

  it('points at --base-image when the base image cannot be had', async () => {
    // Port 1 on loopback refuses at once: no waiting on DNS or a network that is not there.
    const dir = await context('ARG BASE_IMAGE=127.0.0.1:1/mlops/no-such-base:1\nFROM ${BASE_IMAGE}\nCOPY data/ /data/\n');
    const error = await caught(docker().build({ contextDir: dir, dockerfile: join(dir, 'Dockerfile'), tags: ['mlops-test-nobase:1'] }));
    expect((error as ToolFailedError).message).toMatch(/^docker build failed at step 2\/3 \(FROM \$\{BASE_IMAGE\}\): .*127\.0\.0\.1:1/);
    expect((error as ToolFailedError).hint).toMatch(/--base-image/);
  });

  it('hints docker login when the registry refuses a push', async () => {
    const image = `${fakeHost}/mlops-test/fraud:v1.0.0`;
    await execa('docker', ['tag', baseImage, image], { env: dockerEnv });
    images.push(image);
    const error = await caught(docker().push(image));
    expect(error).toBeInstanceOf(ToolFailedError);
    expect((error as ToolFailedError).message).toMatch(new RegExp(`^docker push ${image.replace(/[.]/g, '\\.')} was refused by ${fakeHost.replace(/[.]/g, '\\.')}: `));
    expect((error as ToolFailedError).hint).toBe(`log in first (\`docker login ${fakeHost}\`) with an account that may push to this repository`);
  });

  it('logs in with the password on stdin, and keeps a wrong one out of the error', async () => {
    await docker().login(fakeHost, 'bot', 's3cret-t0ken');
    expect(seenAuthorizations).toContain(`Basic ${Buffer.from('bot:s3cret-t0ken').toString('base64')}`);

    const error = await caught(docker().login(fakeHost, 'bot', 'wrong-pass-word'));
    expect(error).toBeInstanceOf(ToolFailedError);
    expect((error as ToolFailedError).message).toMatch(new RegExp(`^docker login ${fakeHost.replace(/[.]/g, '\\.')} as bot failed: `));
    expect(JSON.stringify({ message: (error as ToolFailedError).message, stderr: (error as ToolFailedError).stderr })).not.toContain('wrong-pass-word');
  });
});
