// The docker adapter and the image plan against a recording Runner: exact argv, streamed
// lines, and docker's failures turned into one-line errors with a fix.
import { describe, expect, it } from 'vitest';
import { ExitCode, ToolFailedError, ToolMissingError, UsageError } from '../../src/errors.js';
import {
  Docker,
  buildStepOf,
  dockerBuildArgs,
  dockerLoginArgs,
  dockerPushArgs,
  formatCommand,
  lastErrorLine,
  parseImageInspect,
  parseImageRef,
  registryHostOf,
} from '../../src/tools/docker.js';
import { CONTEXT_PLACEHOLDER, imagePlanCommands, planImage } from '../../src/deploy/image.js';
import { RecordingRunner } from '../support/recording-runner.js';

const SHA = 'a'.repeat(64);
const model = { name: 'fraud', version: 'v1.2.0', sha256: SHA };
const created = new Date('2026-03-01T12:00:00Z');

// Real docker 28 client output (legacy builder against a 20.10 engine), captured here.
const LEGACY_DEPRECATION = [
  'DEPRECATED: The legacy builder is deprecated and will be removed in a future release.',
  '            Install the buildx component to build images with BuildKit:',
  '            https://docs.docker.com/go/buildx/',
  '',
].join('\n');

describe('parseImageRef', () => {
  it('defaults the tag to the model version', () => {
    expect(parseImageRef('registry.example.com/team/fraud', 'v1.2.0')).toEqual({ repository: 'registry.example.com/team/fraud', tag: 'v1.2.0' });
  });

  it('keeps an explicit tag and tells a registry port from a tag', () => {
    expect(parseImageRef('127.0.0.1:5000/fraud:canary', 'v1')).toEqual({ repository: '127.0.0.1:5000/fraud', tag: 'canary' });
    expect(parseImageRef('localhost:5000/fraud', 'v1')).toEqual({ repository: 'localhost:5000/fraud', tag: 'v1' });
    expect(parseImageRef('fraud:latest', 'v1')).toEqual({ repository: 'fraud', tag: 'latest' });
  });

  it.each([
    ['Team/Fraud', /lower-case/],
    ['fraud@sha256:' + SHA, /digest/],
    ['fraud:', /tag/],
    ['fraud:-bad', /tag/],
    ['', /empty/],
    ['reg.example.com/', /lower-case/],
  ])('rejects %j as a usage error', (text, message) => {
    let error: unknown;
    try {
      parseImageRef(text, 'v1.0.0');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(ExitCode.usage);
    expect(String((error as UsageError).message)).toMatch(message);
    expect((error as UsageError).hint).toMatch(/--image/);
  });

  it('names the registry host a push goes to', () => {
    expect(registryHostOf('127.0.0.1:5000/fraud')).toBe('127.0.0.1:5000');
    expect(registryHostOf('ghcr.io/acme/fraud')).toBe('ghcr.io');
    expect(registryHostOf('acme/fraud')).toBe('docker.io');
    expect(registryHostOf('fraud')).toBe('docker.io');
  });
});

describe('argv builders', () => {
  it('builds docker build argv with sorted build args and labels, the context last', () => {
    const args = dockerBuildArgs({
      contextDir: '/tmp/ctx',
      dockerfile: '/tmp/ctx/Dockerfile',
      tags: ['reg/fraud:v1'],
      labels: { 'z.label': '1', 'a.label': 'two words' },
      buildArgs: { BASE_IMAGE: 'node:20-slim' },
      platform: 'linux/arm64',
      iidFile: '/tmp/iid',
    });
    expect(args).toEqual([
      'build', '--file', '/tmp/ctx/Dockerfile',
      '--tag', 'reg/fraud:v1',
      '--build-arg', 'BASE_IMAGE=node:20-slim',
      '--label', 'a.label=two words',
      '--label', 'z.label=1',
      '--platform', 'linux/arm64',
      '--iidfile', '/tmp/iid',
      '/tmp/ctx',
    ]);
  });

  it('leaves out what was not asked for', () => {
    expect(dockerBuildArgs({ contextDir: 'c', dockerfile: 'c/Dockerfile', tags: ['x:1'] })).toEqual(['build', '--file', 'c/Dockerfile', '--tag', 'x:1', 'c']);
    expect(dockerPushArgs('reg/fraud:v1')).toEqual(['push', 'reg/fraud:v1']);
  });

  it('never puts a password in login argv', () => {
    expect(dockerLoginArgs('ghcr.io', 'bot')).toEqual(['login', 'ghcr.io', '--username', 'bot', '--password-stdin']);
  });

  it('quotes commands for a POSIX shell', () => {
    expect(formatCommand('docker', ['build', '--label', "a=it's here", '--tag', 'r:v1', '/tmp/x y'])).toBe(
      `docker build --label 'a=it'\\''s here' --tag r:v1 '/tmp/x y'`,
    );
  });
});

describe('reading docker output', () => {
  it('recognises legacy and BuildKit step lines', () => {
    expect(buildStepOf('Step 3/8 : COPY app/ /app/')).toEqual({ step: '3/8', instruction: 'COPY app/ /app/' });
    expect(buildStepOf('#7 [3/4] COPY app/ /app/')).toEqual({ step: '3/4', instruction: 'COPY app/ /app/' });
    expect(buildStepOf('#5 [internal] load metadata for docker.io/library/node:20-slim')).toBeUndefined();
    expect(buildStepOf(' ---> Using cache')).toBeUndefined();
  });

  it('finds the error line past the legacy builder notice and BuildKit context', () => {
    expect(lastErrorLine(`${LEGACY_DEPRECATION}COPY failed: file not found in build context\n`)).toBe('COPY failed: file not found in build context');
    expect(lastErrorLine('#9 ERROR: process did not complete\nERROR: failed to solve: process "node" did not complete successfully: exit code: 3\n------\n > [3/4] RUN ...\n')).toBe(
      'ERROR: failed to solve: process "node" did not complete successfully: exit code: 3',
    );
  });

  it('parses docker image inspect output', () => {
    const info = parseImageInspect(JSON.stringify({
      Id: 'sha256:' + SHA,
      RepoTags: ['fraud:v1'],
      RepoDigests: null,
      Architecture: 'amd64',
      Os: 'linux',
      Size: 1234,
      Config: { User: '10001:10001', Labels: { a: 'b' }, Cmd: ['node'], Healthcheck: { Test: ['CMD', 'node'] } },
    }));
    expect(info).toMatchObject({ id: 'sha256:' + SHA, repoTags: ['fraud:v1'], repoDigests: [], user: '10001:10001', labels: { a: 'b' }, sizeBytes: 1234, healthcheck: ['CMD', 'node'] });
  });
});

describe('Docker through a recording runner', () => {
  const spec = { contextDir: '/ctx', dockerfile: '/ctx/Dockerfile', tags: ['fraud:v1'] };

  it('runs the configured binary with the env it was given and streams clean lines', async () => {
    const runner = new RecordingRunner().on(['build'], {
      lines: [
        { line: 'Step 1/2 : FROM base', stream: 'stdout' },
        { line: 'DEPRECATED: The legacy builder is deprecated and will be removed in a future release.', stream: 'stderr' },
        { line: '\u001b[91mboom\u001b[0m', stream: 'stdout' },
        { line: 'Step 2/2 : COPY app/ /app/', stream: 'stdout' },
      ],
    });
    const docker = new Docker({ runner, bin: '/opt/docker/bin/docker', env: { DOCKER_HOST: 'unix:///tmp/d.sock' } });
    const lines: string[] = [];
    const result = await docker.build(spec, (line) => lines.push(line));
    expect(runner.commands).toEqual([['/opt/docker/bin/docker', ...dockerBuildArgs(spec)]]);
    expect(runner.calls[0]?.options.env).toEqual({ DOCKER_HOST: 'unix:///tmp/d.sock' });
    expect(lines).toEqual(['Step 1/2 : FROM base', 'boom', 'Step 2/2 : COPY app/ /app/']);
    expect(result.steps).toBe(2);
  });

  it('names the failing step and docker\'s message when a build fails', async () => {
    const runner = new RecordingRunner().on(['build'], {
      lines: [{ line: 'Step 1/5 : ARG BASE_IMAGE=node:20-slim' }, { line: 'Step 4/5 : COPY registry/ /app/registry/' }],
      exitCode: 1,
      stderr: `${LEGACY_DEPRECATION}COPY failed: file not found in build context or excluded by .dockerignore: stat registry/: file does not exist\n`,
    });
    const error = await new Docker({ runner }).build(spec).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ToolFailedError);
    expect((error as ToolFailedError).exitCode).toBe(ExitCode.tool);
    expect((error as ToolFailedError).message).toBe(
      'docker build failed at step 4/5 (COPY registry/ /app/registry/): COPY failed: file not found in build context or excluded by .dockerignore: stat registry/: file does not exist',
    );
    expect((error as ToolFailedError).stderr).toContain('COPY failed');
  });

  it('points at --base-image when the FROM step cannot get its image', async () => {
    const runner = new RecordingRunner().on(['build'], {
      lines: [{ line: 'Step 2/9 : FROM ${BASE_IMAGE}' }],
      exitCode: 1,
      stderr: `${LEGACY_DEPRECATION}Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io: no such host\n`,
    });
    const error = (await new Docker({ runner }).build(spec).catch((caught: unknown) => caught)) as ToolFailedError;
    expect(error.message).toMatch(/^docker build failed at step 2\/9 \(FROM \$\{BASE_IMAGE\}\): Get/);
    expect(error.hint).toMatch(/--base-image/);
  });

  it('turns a stopped daemon into a hint about starting Docker or DOCKER_HOST', async () => {
    const stderr = `${LEGACY_DEPRECATION}Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n`;
    const runner = new RecordingRunner().on(['build'], { exitCode: 1, stderr }).on(['version'], { exitCode: 1, stdout: 'null\n', stderr });
    const docker = new Docker({ runner });
    for (const attempt of [docker.build(spec), docker.preflight()]) {
      const error = (await attempt.catch((caught: unknown) => caught)) as ToolFailedError;
      expect(error).toBeInstanceOf(ToolFailedError);
      expect(error.message).toMatch(/cannot connect to the Docker daemon/);
      expect(error.hint).toMatch(/DOCKER_HOST/);
    }
  });

  it('reads the engine version and platform in preflight', async () => {
    const runner = new RecordingRunner().on(['version'], { stdout: '{"Version":"20.10.24+dfsg1","Os":"linux","Arch":"arm64"}\n' });
    expect(await new Docker({ runner }).preflight()).toEqual({ version: '20.10.24+dfsg1', os: 'linux', arch: 'arm64' });
    expect(runner.commands).toEqual([['docker', 'version', '--format', '{{json .Server}}']]);
  });

  it('says docker is missing with an install hint (exit 4)', async () => {
    const runner = new RecordingRunner().on(['version'], { error: new ToolMissingError('docker', 'whatever the runner said') });
    const error = (await new Docker({ runner, bin: '/nope/docker' }).preflight().catch((caught: unknown) => caught)) as ToolMissingError;
    expect(error).toBeInstanceOf(ToolMissingError);
    expect(error.exitCode).toBe(ExitCode.tool);
    expect(error.hint).toMatch(/install Docker.*MLOPS_DOCKER.*tried \/nope\/docker/);
  });

  it('hints docker login when a push is refused, and returns the digest when it is not', async () => {
    const refused = new RecordingRunner().on(['push'], {
      lines: [{ line: 'The push refers to repository [ghcr.io/acme/fraud]' }],
      exitCode: 1,
      stderr: 'denied: requested access to the resource is denied\n',
    });
    const error = (await new Docker({ runner: refused }).push('ghcr.io/acme/fraud:v1').catch((caught: unknown) => caught)) as ToolFailedError;
    expect(error.message).toBe('docker push ghcr.io/acme/fraud:v1 was refused by ghcr.io: denied: requested access to the resource is denied');
    expect(error.hint).toMatch(/docker login ghcr\.io/);

    const digest = 'sha256:' + 'b'.repeat(64);
    const accepted = new RecordingRunner().on(['push'], { lines: [{ line: `v1: digest: ${digest} size: 736` }] });
    expect(await new Docker({ runner: accepted }).push('127.0.0.1:5000/fraud:v1')).toEqual({ digest });
    expect(accepted.commands).toEqual([['docker', 'push', '127.0.0.1:5000/fraud:v1']]);
  });

  it('passes a login password on stdin only and keeps it out of errors', async () => {
    const password = 's3cret-t0ken';
    const runner = new RecordingRunner().on(['login'], { exitCode: 1, stderr: `Error response from daemon: login attempt with ${password} failed: unauthorized\n` });
    const error = (await new Docker({ runner }).login('ghcr.io', 'bot', password).catch((caught: unknown) => caught)) as ToolFailedError;
    expect(runner.calls[0]?.args).toEqual(['login', 'ghcr.io', '--username', 'bot', '--password-stdin']);
    expect(runner.calls[0]?.options.input).toBe(password);
    expect(JSON.stringify(runner.calls[0]?.args)).not.toContain(password);
    expect(error.message).not.toContain(password);
    expect(error.stderr).not.toContain(password);
  });
});

describe('planImage', () => {
  it('tags with the model version by default and labels the image', () => {
    const plan = planImage({ model, image: 'registry.example.com/fraud', created, source: 'https://github.com/acme/fraud', mlopsVersion: '0.1.0' });
    expect(plan.image).toBe('registry.example.com/fraud:v1.2.0');
    expect(plan.labels).toEqual({
      'org.opencontainers.image.title': 'fraud',
      'org.opencontainers.image.version': 'v1.2.0',
      'org.opencontainers.image.created': '2026-03-01T12:00:00.000Z',
      'org.opencontainers.image.description': 'fraud v1.2.0 served by mlops',
      'org.opencontainers.image.source': 'https://github.com/acme/fraud',
      'io.mlops.model.name': 'fraud',
      'io.mlops.model.version': 'v1.2.0',
      'io.mlops.model.sha256': SHA,
      'io.mlops.version': '0.1.0',
    });
    expect(plan.pushArgs).toBeUndefined();
    expect(plan.buildArgs.at(-1)).toBe(CONTEXT_PLACEHOLDER);
    expect(plan.buildArgs).not.toContain('--build-arg');
  });

  it('passes --base-image and --platform through and pushes when asked', () => {
    const plan = planImage({ model, image: '127.0.0.1:5000/fraud:canary', push: true, baseImage: 'node:20-bookworm', platform: 'linux/arm64', created, contextDir: '/tmp/c' });
    expect(plan.buildArgs).toEqual(expect.arrayContaining(['--build-arg', 'BASE_IMAGE=node:20-bookworm', '--platform', 'linux/arm64', '--tag', '127.0.0.1:5000/fraud:canary']));
    expect(plan.buildArgs.slice(0, 3)).toEqual(['build', '--file', '/tmp/c/Dockerfile']);
    expect(imagePlanCommands(plan, 'docker')).toEqual([
      expect.stringMatching(/^docker build --file \/tmp\/c\/Dockerfile --tag 127\.0\.0\.1:5000\/fraud:canary .* \/tmp\/c$/),
      'docker push 127.0.0.1:5000/fraud:canary',
    ]);
  });

  it('refuses a platform onnxruntime has no Linux binaries for, before anything runs', () => {
    expect(() => planImage({ model, image: 'fraud', platform: 'linux/s390x', created })).toThrow(/unsupported platform 'linux\/s390x'/);
    expect(planImage({ model, image: 'fraud', platform: 'linux/amd64,linux/arm64', created }).buildArgs).toContain('linux/amd64,linux/arm64');
  });

  it('refuses a model version that is not a valid tag unless --image names one', () => {
    expect(() => planImage({ model: { ...model, version: 'v1.0.0+build.7' }, image: 'fraud', created })).toThrow(/invalid image tag 'v1\.0\.0\+build\.7'/);
    expect(planImage({ model: { ...model, version: 'v1.0.0+build.7' }, image: 'fraud:v1.0.0-build.7', created }).tag).toBe('v1.0.0-build.7');
  });
});
