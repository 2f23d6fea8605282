// End to end on a real engine: build the example model's image from templates/Dockerfile
// on the locally made base, check what is inside, run it, compare its predictions with
// onnxruntime in this process, and push it to a real registry.
import { execa } from 'execa';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, type ImageEvent, type ImageResult } from '../../src/deploy/image.js';
import { createSession } from '../../src/model/onnx.js';
import { Registry } from '../../src/registry/registry.js';
import { Docker } from '../../src/tools/docker.js';
import { ExecaRunner } from '../../src/tools/runner.js';
import { EXAMPLE, ROOT, mlops } from '../support/cli.js';
import { startImageRegistry, type ImageRegistry } from '../support/docker-registry.js';
import { freePort } from '../support/prometheus.js';
import { dockerForTests } from '../support/docker-tests.js';

const { available, skipReason, baseImage, env: dockerEnv } = dockerForTests();
const docker = (args: string[], options: { reject?: boolean; timeout?: number } = {}) =>
  execa('docker', args, { env: dockerEnv, reject: options.reject ?? true, timeout: options.timeout ?? 60_000 });

const title = available ? 'mlops deploy image' : `mlops deploy image (skipped: ${skipReason})`;

describe.skipIf(!available)(title, () => {
  let work: string;
  let registryDir: string;
  let imageRegistry: ImageRegistry;
  let result: ImageResult;
  let artifactSha: string;
  const events: (ImageEvent & { at: number })[] = [];
  const phases: Record<string, number> = {};
  const containers: string[] = [];

  beforeAll(async () => {
    await readFile(join(ROOT, 'dist', 'cli', 'main.js')).catch(() => {
      throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
    });
    phases.start = Date.now();
    work = await mkdtemp(join(tmpdir(), 'mlops-docker-build-'));
    registryDir = join(work, 'registry');
    for (const args of [
      ['init'],
      ['register', 'fraud', join(EXAMPLE, 'fraud-v1.onnx'), '--version', 'v1.0.0'],
    ]) {
      const run = await mlops(['--registry', registryDir, ...args]);
      if (run.exitCode !== 0) throw new Error(`mlops ${args.join(' ')} failed: ${run.stderr}`);
    }
    const registry = await Registry.open(registryDir);
    artifactSha = (await registry.resolve('fraud', 'v1.0.0')).artifact.sha256;
    imageRegistry = await startImageRegistry();
    phases.registries = Date.now();

    const packageJson = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    result = await buildImage({
      docker: new Docker({ runner: new ExecaRunner(), env: dockerEnv }),
      packageRoot: ROOT,
      model: { name: 'fraud', version: 'v1.0.0', sha256: artifactSha },
      exportModel: async (dest) => {
        await registry.exportVersion('fraud', 'v1.0.0', dest, new Date());
      },
      image: `${imageRegistry.host}/mlops-test/fraud`,
      push: true,
      baseImage,
      created: new Date('2026-01-02T03:04:05Z'),
      mlopsVersion: packageJson.version,
      source: 'https://example.com/acme/fraud',
      onEvent: (event) => events.push({ ...event, at: Date.now() }),
    });
    phases.done = Date.now();
    const at = (type: ImageEvent['type'], phase?: string) =>
      events.find((event) => event.type === type && (phase === undefined || ('phase' in event && event.phase === phase)))?.at ?? NaN;
    const seconds = (from: number, to: number) => `${((to - from) / 1000).toFixed(1)} s`;
    console.info(
      `[docker-build] registries ${seconds(phases.start!, phases.registries!)}, context ${seconds(phases.registries!, at('image-context'))}, ` +
        `docker build ${seconds(at('image-command', 'build'), at('image-built'))}, docker push ${seconds(at('image-command', 'push'), at('image-pushed'))}`,
    );
  }, 300_000);

  afterAll(async () => {
    for (const name of containers) await docker(['rm', '-f', name], { reject: false });
    if (result) await docker(['image', 'rm', '-f', result.image], { reject: false });
    await imageRegistry?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('tags with the model version, labels the image and reports the build as it goes', async () => {
    expect(result.image).toBe(`${imageRegistry.host}/mlops-test/fraud:v1.0.0`);
    const { stdout } = await docker(['image', 'inspect', '--format', '{{json .}}', result.image]);
    const info = JSON.parse(stdout) as { Id: string; Size: number; Config: { Labels: Record<string, string>; User: string; Cmd: string[]; Healthcheck?: { Test: string[] } } };
    expect(info.Id).toBe(result.imageId);
    expect(info.Config.Labels).toMatchObject({
      'org.opencontainers.image.title': 'fraud',
      'org.opencontainers.image.version': 'v1.0.0',
      'org.opencontainers.image.created': '2026-01-02T03:04:05.000Z',
      'org.opencontainers.image.source': 'https://example.com/acme/fraud',
      'io.mlops.model.name': 'fraud',
      'io.mlops.model.version': 'v1.0.0',
      'io.mlops.model.sha256': artifactSha,
    });
    expect(info.Config.User).toBe('10001:10001');
    expect(info.Config.Cmd).toEqual(['node', '/app/bin/mlops', 'serve', 'fraud@v1.0.0', '--registry', '/app/registry', '--host', '0.0.0.0', '--port', '8000', '--no-watch']);
    expect(info.Config.Healthcheck?.Test.join(' ')).toMatch(/^CMD node -e fetch\('http:\/\/127\.0\.0\.1:8000\/healthz'\)/);

    const steps = events.filter((event) => event.type === 'image-step');
    expect(steps.map((event) => event.instruction)).toEqual(expect.arrayContaining(['COPY app/ /app/', 'COPY registry/ /app/registry/', 'USER 10001:10001']));
    expect(events.some((event) => event.type === 'image-output' && event.phase === 'push')).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'image-pushed', image: result.image });

    const base = JSON.parse((await docker(['image', 'inspect', '--format', '{{json .}}', baseImage])).stdout) as { Size: number };
    console.info(
      `[docker-build] image ${(info.Size / 1e6).toFixed(1)} MB (base ${(base.Size / 1e6).toFixed(1)} MB + mlops and model ${((info.Size - base.Size) / 1e6).toFixed(1)} MB); ` +
        `context ${(result.context.bytes / 1e6).toFixed(1)} MB in ${result.context.files} files, ${result.context.packages} packages; ` +
        `left out ${(result.context.droppedBytes / 1e6).toFixed(1)} MB of onnxruntime binaries for other platforms`,
    );
    // Everything on top of Node is mlops, its production packages and one small model.
    expect(info.Size - base.Size).toBeLessThan(100e6);
    expect(result.sizeBytes).toBe(info.Size);
  });

  it('holds only production packages and linux-x64 onnxruntime, read-only for a non-root user', async () => {
    const script = `
      const fs = require('node:fs'), path = require('node:path');
      const walk = (dir) => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]);
      let appWritable = true;
      try { fs.writeFileSync('/app/registry/x', 'x'); } catch { appWritable = false; }
      console.log(JSON.stringify({
        uid: process.getuid(), gid: process.getgid(),
        onnxBinaries: walk('/app/node_modules/onnxruntime-node/bin').map((f) => path.relative('/app/node_modules/onnxruntime-node/bin', f)).sort(),
        devPackages: ['vitest', 'typescript', '@types/node', 'smtp-server'].filter((p) => fs.existsSync('/app/node_modules/' + p)),
        hasSources: fs.existsSync('/app/src'),
        registry: walk('/app/registry').map((f) => path.relative('/app/registry', f)).sort(),
        appWritable,
        tmpWritable: (() => { try { fs.writeFileSync('/tmp/x', 'x'); return true; } catch { return false; } })(),
      }));`;
    const { stdout } = await docker(['run', '--rm', '--network', 'host', result.image, 'node', '-e', script]);
    const inside = JSON.parse(stdout) as Record<string, unknown>;
    expect(inside).toMatchObject({ uid: 10001, gid: 10001, devPackages: [], hasSources: false, appWritable: false, tmpWritable: true });
    expect(inside.onnxBinaries).toEqual(['napi-v6/linux/x64/libonnxruntime.so.1', 'napi-v6/linux/x64/onnxruntime_binding.node']);
    expect(inside.registry).toEqual(expect.arrayContaining(['mlops-registry.yaml', 'models/fraud/versions/v1.0.0.yaml', `blobs/sha256/${artifactSha}`]));
    expect((inside.registry as string[]).filter((file) => file.startsWith('models/'))).toEqual(['models/fraud/state.yaml', 'models/fraud/versions/v1.0.0.yaml']);
  });

  it('loads onnxruntime\'s native addon inside the image and runs the baked model', async () => {
    // Independent of `mlops serve`: the shipped node_modules and the base's libraries suffice.
    const features = [120.5, 21, 0.38, 2.8, 389, 3, 20.4, 1, 1, -0.5];
    const script = `
      import('onnxruntime-node').then(async (ort) => {
        const session = await ort.InferenceSession.create('/app/registry/blobs/sha256/${artifactSha}');
        const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', Float32Array.from(${JSON.stringify(features)}), [1, 10]) });
        console.log(JSON.stringify({ label: Number(out.label.data[0]), probabilities: Array.from(out.probabilities.data) }));
      });`;
    const { stdout } = await docker(['run', '--rm', '--network', 'host', '--workdir', '/app', result.image, 'node', '-e', script]);
    const inside = JSON.parse(stdout) as { label: number; probabilities: number[] };

    const session = await createSession(await readFile(join(EXAMPLE, 'fraud-v1.onnx')), 'fraud-v1.onnx');
    const ort = await import('onnxruntime-node');
    try {
      const expected = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', Float32Array.from(features), [1, 10]) });
      expect(inside.label).toBe(Number(expected.label!.data[0]));
      expect(inside.probabilities).toEqual(Array.from(expected.probabilities!.data as Float32Array));
    } finally {
      await session.release();
    }
  });

  it('serves predictions equal to onnxruntime run in this process', async () => {
    // Host networking (the engine has no bridge): the image's CMD with a free port instead of 8000.
    const info = JSON.parse((await docker(['image', 'inspect', '--format', '{{json .Config.Cmd}}', result.image])).stdout) as string[];
    const port = await freePort();
    const command = info.map((word, index) => (info[index - 1] === '--port' ? String(port) : word));
    const name = `mlops-test-serve-${port}`;
    containers.push(name);
    await docker(['run', '-d', '--name', name, '--network', 'host', result.image, ...command]);

    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 60_000;
    let ready = false;
    while (!ready && Date.now() < deadline) {
      ready = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) }).then((response) => response.ok, () => false);
      if (!ready) {
        const state = (await docker(['inspect', '--format', '{{.State.Running}}', name], { reject: false })).stdout.trim();
        if (state !== 'true') break;
        await new Promise((done) => setTimeout(done, 250));
      }
    }
    if (!ready) {
      const logs = await docker(['logs', name], { reject: false });
      throw new Error(`the container never became ready on ${url}/readyz:\n${logs.stdout}\n${logs.stderr}`.slice(0, 4_000));
    }

    // The image's HEALTHCHECK command, pointed at this port: passes against the server,
    // fails where nothing listens.
    const health = JSON.parse((await docker(['image', 'inspect', '--format', '{{json .Config.Healthcheck.Test}}', result.image])).stdout) as string[];
    expect(health[0]).toBe('CMD');
    const probe = (target: number) => docker(['exec', name, ...health.slice(1).map((word) => word.replace(':8000/', `:${target}/`))], { reject: false });
    expect((await probe(port)).exitCode).toBe(0);
    expect((await probe(await freePort())).exitCode).toBe(1);

    const rows = (await readFile(join(EXAMPLE, 'current.csv'), 'utf8')).trim().split('\n').slice(1, 6).map((line) => line.split(',').map(Number));
    const session = await createSession(await readFile(join(EXAMPLE, 'fraud-v1.onnx')), 'fraud-v1.onnx');
    const ort = await import('onnxruntime-node');
    try {
      for (const features of rows) {
        expect(features).toHaveLength(10);
        const expected = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', Float32Array.from(features), [1, 10]) });
        const response = await fetch(`${url}/predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ features }),
        });
        const body = (await response.json()) as { model?: string; version?: string; prediction?: unknown; probability?: number[] };
        expect(response.status, JSON.stringify(body)).toBe(200);
        // /predict answers a binary classifier with its label and the class probabilities.
        expect(body).toMatchObject({ model: 'fraud', version: 'v1.0.0' });
        expect(Number(body.prediction)).toBe(Number(expected.label!.data[0]));
        expect(body.probability![1]).toBeCloseTo((expected.probabilities!.data as Float32Array)[1]!, 5);
      }
    } finally {
      await session.release();
    }
  });

  it('pushed the image to the registry under the version tag', async () => {
    expect(await imageRegistry.catalog()).toContain('mlops-test/fraud');
    expect(await imageRegistry.tags('mlops-test/fraud')).toEqual(['v1.0.0']);
    expect(result.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await imageRegistry.manifestDigest('mlops-test/fraud', 'v1.0.0')).toBe(result.digest);
  });
});
