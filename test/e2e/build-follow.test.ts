// `mlops build --no-model` with a real docker engine: the image holds no model, and the
// follow Deployment's command run in it (--network host reaches the test RGW) serves the
// production version from the bucket, then the next one after a promote, with a
// read-only root filesystem, no capabilities and the credentials only as env.
import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { EXAMPLE, mlops, tempDir } from '../support/cli.js';
import { dockerForTests } from '../support/docker-tests.js';
import { freePort } from '../support/prometheus.js';
import { s3Backend } from '../support/registry-backends.js';

const docker = dockerForTests();
const { backend, skipReason } = await s3Backend();
const reason = !docker.available ? `no docker engine: ${docker.skipReason}` : !backend ? skipReason : undefined;
if (reason && process.env.MLOPS_REQUIRE_INTEGRATION === '1') throw new Error(`MLOPS_REQUIRE_INTEGRATION=1 but ${reason}`);

describe.skipIf(reason !== undefined)(`mlops build --no-model${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let registry: string;
  const containers: string[] = [];
  const image = 'mlops-test/follow:follow';
  const run = (args: string[], options: { reject?: boolean } = {}) => execa('docker', args, { env: docker.env, reject: options.reject ?? true });
  const env = () => ({ ...backend!.env, DOCKER_HOST: docker.env.DOCKER_HOST, MLOPS_CACHE_DIR: join(dir, 'cache'), HOME: dir, NO_COLOR: '1' });
  const reg = (...args: string[]) => mlops(['--registry', registry, ...args], { cwd: dir, env: env(), timeout: 600_000 });

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    registry = await backend!.location(dir);
    for (const args of [
      ['register', 'fraud', join(EXAMPLE, 'fraud-v1.onnx'), '--version', 'v1.0.0'],
      ['register', 'fraud', join(EXAMPLE, 'fraud-v2.onnx'), '--version', 'v1.1.0'],
      ['promote', 'fraud', 'v1.0.0'],
    ]) {
      const result = await reg(...args);
      if (result.exitCode !== 0) throw new Error(result.stderr);
    }
  }, 120_000);
  afterAll(async () => {
    for (const name of containers) await run(['rm', '-f', name], { reject: false });
    await cleanup?.();
  });

  it('the model-less image runs the follow command against the bucket and follows a promote', async () => {
    const built = await reg('build', 'fraud', '--no-model', '--image', 'mlops-test/follow', '--base-image', docker.baseImage, '--json');
    expect(built.exitCode, built.stderr).toBe(0);
    expect(JSON.parse(built.stdout)).toMatchObject({ image, pushed: false });
    // No model inside: /app/registry does not exist; the labels name no version.
    const inside = await run(['run', '--rm', '--entrypoint', 'node', image, '-e', "console.log(require('fs').existsSync('/app/registry'))"]);
    expect(inside.stdout.trim()).toBe('false');
    const labels = JSON.parse((await run(['image', 'inspect', '--format', '{{json .Config.Labels}}', image])).stdout) as Record<string, string>;
    expect(labels['io.mlops.model.name']).toBe('fraud');
    expect(labels['io.mlops.model.version']).toBeUndefined();
    const cmd = JSON.parse((await run(['image', 'inspect', '--format', '{{json .Config.Cmd}}', image])).stdout) as string[];
    expect(cmd).toEqual(['node', '/app/bin/mlops', 'serve', 'fraud', '--host', '0.0.0.0', '--port', '8000']);

    // The Deployment's command and env, as deploy --follow-registry renders them.
    const out = join(dir, 'k8s');
    const rendered = await reg('deploy', 'fraud', '--follow-registry', '--s3-secret', 'mlops-s3', '--skip-build', '--image', image, '--output', out, '--dry-run');
    expect(rendered.exitCode, rendered.stderr).toBe(0);
    const container = (parseAllDocuments(await readFile(join(out, 'mlops-fraud-blue.yaml'), 'utf8'))[0]!.toJS() as {
      spec: { template: { spec: { containers: Array<{ command: string[]; env: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef: { key: string } } }> }> } } };
    }).spec.template.spec.containers[0]!;
    const secret: Record<string, string> = { AWS_ACCESS_KEY_ID: backend!.env.AWS_ACCESS_KEY_ID!, AWS_SECRET_ACCESS_KEY: backend!.env.AWS_SECRET_ACCESS_KEY! };
    const envArgs = container.env.flatMap((entry) => ['-e', `${entry.name}=${entry.value ?? secret[entry.valueFrom!.secretKeyRef.key]!}`]);
    const port = await freePort();
    const command = container.command.map((word, index) => (container.command[index - 1] === '--port' ? String(port) : word));
    const name = `mlops-test-follow-${port}`;
    containers.push(name);
    await run(['run', '-d', '--name', name, '--network', 'host', '--read-only', '--tmpfs', '/tmp', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges', ...envArgs, image, ...command]);
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 90_000;
    let ready = false;
    while (!ready && Date.now() < deadline) {
      ready = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) }).then((response) => response.ok, () => false);
      if (!ready) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(ready, (await run(['logs', name], { reject: false })).stderr).toBe(true);
    const version = async () => ((await (await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ features: Array(10).fill(1) }) })).json()) as { version: string }).version;
    expect(await version()).toBe('v1.0.0');
    const promoted = await reg('promote', 'fraud', 'v1.1.0');
    expect(promoted.exitCode, promoted.stderr).toBe(0);
    const reloadBy = Date.now() + 30_000;
    let served = await version();
    while (served !== 'v1.1.0' && Date.now() < reloadBy) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      served = await version();
    }
    expect(served).toBe('v1.1.0');
    const logs = await run(['logs', name], { reject: false });
    expect(logs.stdout + logs.stderr).not.toContain(secret.AWS_SECRET_ACCESS_KEY);
  }, 600_000);
});
