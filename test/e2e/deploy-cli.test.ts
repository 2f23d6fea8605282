// End-to-end `mlops deploy` and `mlops rollback --deploy` through the built CLI: a real
// docker engine builds and pushes to a real registry, the real kubectl rolls out against
// the in-memory Kubernetes API of test/support/fake-kube.ts.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE, expectCleanError, mlops, spawnMlops, tempDir } from '../support/cli.js';
import { startImageRegistry, type ImageRegistry } from '../support/docker-registry.js';
import { dockerForTests } from '../support/docker-tests.js';
import { FakeKube } from '../support/fake-kube.js';
import { requireOrSkip } from '../support/integration.js';

const docker = dockerForTests();
const kubectlAvailable = spawnSync('kubectl', ['version', '--client', '-o', 'json'], { timeout: 30_000 }).status === 0;
// Without an engine dockerForTests() has already failed the run when integration is required.
const reason = !docker.available ? `no docker engine: ${docker.skipReason}` : requireOrSkip(kubectlAvailable, 'kubectl is not installed');

const NS = 'ml';
const selectorColor = (fake: FakeKube) => (fake.get('services', NS, 'mlops-fraud')?.spec as { selector?: { color?: string } } | undefined)?.selector?.color;
const deployment = (fake: FakeKube, color: string) => fake.get('deployments', NS, `mlops-fraud-${color}`) as { spec: { replicas: number; template: { spec: { containers: Array<{ image: string }> } } } } | undefined;

describe.skipIf(reason !== undefined)(`mlops deploy${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let fake: FakeKube;
  let images: ImageRegistry;
  let env: Record<string, string | undefined>;
  let run: (...args: string[]) => ReturnType<typeof mlops>;
  let repository: string;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    fake = await FakeKube.start({ namespaces: ['default', NS] });
    images = await startImageRegistry();
    env = { ...(await fake.writeKubeconfig(dir)), DOCKER_HOST: docker.env.DOCKER_HOST };
    run = (...args: string[]) => mlops(['--registry', join(dir, 'registry'), ...args], { cwd: dir, env, timeout: 300_000 });
    repository = `${images.host}/mlops/fraud`;
    for (const args of [
      ['register', 'fraud', join(EXAMPLE, 'fraud-v1.onnx'), '--version', 'v1.0.0'],
      ['register', 'fraud', join(EXAMPLE, 'fraud-v2.onnx'), '--version', 'v1.1.0'],
      ['promote', 'fraud', 'v1.0.0'],
    ]) {
      const result = await run(...args);
      if (result.exitCode !== 0) throw new Error(result.stderr);
    }
  }, 120_000);
  afterAll(async () => {
    await fake?.stop();
    await images?.stop();
    await cleanup?.();
  });

  it('--dry-run prints the docker and kubectl commands and the manifests, touching nothing', async () => {
    const result = await run('deploy', 'fraud', '--image', repository, '--namespace', NS, '--dry-run');
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/docker build .*--tag \S+\/mlops\/fraud:v1.0.0/);
    expect(result.stdout).toMatch(/kubectl apply -f - --namespace ml/);
    expect(result.stdout).toMatch(/kubectl rollout status deployment\/mlops-fraud-blue/);
    expect(result.stdout).toMatch(/kind: Deployment/);
    expect(fake.writes()).toEqual([]);
  });

  it('first deploy: builds, pushes, rolls out blue, pins the image by digest and records it', async () => {
    const result = await run('deploy', 'fraud', '--image', repository, '--push', '--base-image', docker.baseImage, '--namespace', NS, '--replicas', '2', '--timeout', '60s');
    expect(result.exitCode, result.stderr).toBe(0);
    expect(await images.tags('mlops/fraud')).toContain('v1.0.0');
    expect(selectorColor(fake)).toBe('blue');
    const blue = deployment(fake, 'blue')!;
    expect(blue.spec.replicas).toBe(2);
    expect(blue.spec.template.spec.containers[0]!.image).toMatch(new RegExp(`^${repository.replace(/\./g, '\\.')}@sha256:[0-9a-f]{64}$`));
    const show = JSON.parse((await run('show', 'fraud@v1.0.0', '--json')).stdout);
    expect(show.deployments).toEqual([expect.objectContaining({ outcome: 'succeeded', color: 'blue', namespace: NS })]);
  }, 300_000);

  it('second deploy goes to green and switches the Service only after green is ready', async () => {
    await run('promote', 'fraud', 'v1.1.0');
    const image = deployment(fake, 'blue')!.spec.template.spec.containers[0]!.image;
    const result = await run('deploy', 'fraud', '--image', image.replace(/@.*/, ':v1.0.0'), '--skip-build', '--namespace', NS, '--replicas', '2', '--timeout', '60s');
    expect(result.exitCode, result.stderr).toBe(0);
    expect(selectorColor(fake)).toBe('green');
    expect(deployment(fake, 'blue')!.spec.replicas).toBe(0);
    expect(deployment(fake, 'green')!.spec.replicas).toBe(2);
  });

  it('rollback --deploy switches the Service back to blue and the registry back to v1.0.0', async () => {
    const result = await run('rollback', 'fraud', '--deploy', '--namespace', NS, '--timeout', '60s');
    expect(result.exitCode, result.stderr).toBe(0);
    expect(selectorColor(fake)).toBe('blue');
    expect(deployment(fake, 'blue')!.spec.replicas).toBe(2);
    const production = JSON.parse((await run('show', 'fraud@production', '--json')).stdout);
    expect(production.version).toBe('v1.0.0');
  });

  it('a rollout that never becomes ready exits 1 naming the step, puts the kept color back and leaves the Service alone', async () => {
    const greenBefore = deployment(fake, 'green')!;
    fake.neverReady(NS, 'mlops-fraud-green');
    const result = await run('deploy', 'fraud@v1.1.0', '--image', `${repository}:v1.0.0`, '--skip-build', '--namespace', NS, '--replicas', '2', '--timeout', '3s');
    expect(result.exitCode).toBe(1);
    expect(expectCleanError(result)).toMatch(/rollout-status/);
    expect(selectorColor(fake)).toBe('blue');
    // green was the rollback target: it is back exactly as it was, not deleted.
    expect(deployment(fake, 'green')!.spec).toEqual(greenBefore.spec);
    const show = JSON.parse((await run('show', 'fraud@v1.1.0', '--json')).stdout);
    expect(show.deployments.at(-1)).toMatchObject({ outcome: 'failed', color: 'green' });
  });

  it('SIGTERM during the rollout (a cancelled CI job) puts the kept color back and exits 130', async () => {
    const greenBefore = deployment(fake, 'green')!;
    fake.neverReady(NS, 'mlops-fraud-green');
    const child = spawnMlops(['--registry', join(dir, 'registry'), 'deploy', 'fraud@v1.1.0', '--image', `${repository}:v1.0.0`, '--skip-build', '--namespace', NS, '--replicas', '2', '--timeout', '120s'], { cwd: dir, env });
    // Signal once the CLI says it waits for the rollout (the step the cancel must undo).
    let progress = '';
    child.stderr?.on('data', (chunk: Buffer) => (progress += chunk.toString()));
    const deadline = Date.now() + 60_000;
    while (!progress.includes('to roll out within') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(progress).toContain('to roll out within');
    expect(deployment(fake, 'green')!.spec.replicas).toBe(2);
    child.kill('SIGTERM');
    const result = await child;
    expect(result.exitCode, String(result.stderr)).toBe(130);
    expect(String(result.stderr)).toMatch(/interrupted at step "rollout-status"; mlops-fraud-green was put back as it was/);
    expect(selectorColor(fake)).toBe('blue');
    expect(deployment(fake, 'green')!.spec).toEqual(greenBefore.spec);
    expect(fake.get('leases', NS, 'mlops-fraud-deploy')).toBeUndefined();
    const show = JSON.parse((await run('show', 'fraud@v1.1.0', '--json')).stdout);
    expect(show.deployments.at(-1)).toMatchObject({ outcome: 'failed', color: 'green' });
  });

  it('rollback --deploy works after the failed deploys, and its hint names flags that exist', async () => {
    fake.readyAgain(NS, 'mlops-fraud-green');
    const result = await run('rollback', 'fraud', '--deploy', '--namespace', NS, '--timeout', '60s');
    expect(result.exitCode, result.stderr).toBe(0);
    expect(selectorColor(fake)).toBe('green');
    expect(deployment(fake, 'green')!.spec.replicas).toBe(2);
  });

  it('exits 4 with a hint when the namespace is absent or docker is missing', async () => {
    const absent = await run('deploy', 'fraud', '--image', repository, '--skip-build', '--namespace', 'nowhere');
    expect(absent.exitCode).toBe(4);
    expect(expectCleanError(absent)).toMatch(/nowhere/);
    const noDocker = await mlops(['--registry', join(dir, 'registry'), 'deploy', 'fraud', '--image', repository, '--namespace', NS], { env: { ...env, MLOPS_DOCKER: '/nonexistent/docker' } });
    expect(noDocker.exitCode).toBe(4);
    expect(noDocker.stderr).toMatch(/hint: install Docker/);
  });
});
