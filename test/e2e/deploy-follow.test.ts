// mlops deploy --follow-registry with a team registry on S3 (the test RGW), the real
// kubectl against the in-memory API server, and `deploy --output DIR` checked by
// `kubectl apply --dry-run=client`. The pod's argv is also run as a process against the
// bucket, with exactly the env the Deployment gives it.
import { spawn, spawnSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { BIN, EXAMPLE, expectCleanError, mlops, tempDir } from '../support/cli.js';
import { FakeKube } from '../support/fake-kube.js';
import { ExecaRunner } from '../../src/tools/runner.js';
import { freePort } from '../support/prometheus.js';
import { s3Backend } from '../support/registry-backends.js';

const { backend, skipReason } = await s3Backend();
const kubectlBinary = process.env.MLOPS_KUBECTL ?? 'kubectl';
const kubectl = spawnSync(kubectlBinary, ['version', '--client', '-o', 'json'], { encoding: 'utf8', timeout: 30_000 }).status === 0;
const reason = !backend ? skipReason : !kubectl ? 'no kubectl' : undefined;
const NS = 'ml';
const IMAGE = 'registry.example.com/mlops@sha256:' + 'a'.repeat(64);

interface Container {
  name: string;
  image: string;
  command: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }>;
}
const containerOf = (deployment: unknown) => (deployment as { spec: { template: { spec: { containers: Container[] } } } }).spec.template.spec.containers[0]!;

describe.skipIf(reason !== undefined)(`mlops deploy --follow-registry${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let registry: string;
  let fake: FakeKube;
  let kubeEnv: Record<string, string>;
  const env = () => ({ ...backend!.env, ...kubeEnv, MLOPS_CACHE_DIR: join(dir, 'cache'), NO_COLOR: '1' });
  const run = (...args: string[]) => mlops(['--registry', registry, ...args], { cwd: dir, env: env(), timeout: 120_000 });
  const secretValue = () => backend!.env.AWS_SECRET_ACCESS_KEY!;
  const accessKey = () => backend!.env.AWS_ACCESS_KEY_ID!;
  // Not spawnSync: the fake API server answers from this process's event loop.
  const kubectlApplyDryRun = (folder: string) => new ExecaRunner().run(kubectlBinary, ['apply', '--dry-run=client', '-f', folder, '--namespace', NS], { env: { ...process.env, ...kubeEnv } as Record<string, string>, timeoutMs: 60_000 });

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    registry = await backend!.location(dir);
    fake = await FakeKube.start({ namespaces: ['default', NS] });
    kubeEnv = await fake.writeKubeconfig(dir);
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
    await cleanup?.();
  });

  it('--output DIR writes a follow Deployment (serve NAME from the bucket, credentials by secretKeyRef), PDB, HPA and Service that kubectl accepts', async () => {
    const out = join(dir, 'k8s');
    const result = await run('deploy', 'fraud', '--follow-registry', '--s3-secret', 'mlops-s3', '--skip-build', '--image', IMAGE, '--namespace', NS, '--hpa', '2:5', '--output', out, '--dry-run');
    expect(result.exitCode, result.stderr).toBe(0);
    const files = (await readdir(out)).sort();
    expect(files).toEqual(['mlops-fraud-blue-hpa.yaml', 'mlops-fraud-blue-pdb.yaml', 'mlops-fraud-blue.yaml', 'mlops-fraud-service.yaml']);
    const kinds: string[] = [];
    let all = '';
    for (const file of files) {
      const text = await readFile(join(out, file), 'utf8');
      all += text;
      const docs = parseAllDocuments(text);
      expect(docs.every((doc) => doc.errors.length === 0), file).toBe(true);
      kinds.push(...docs.map((doc) => (doc.toJS() as { kind: string }).kind));
    }
    expect(kinds.sort()).toEqual(['Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Service']);

    const deployment = parseAllDocuments(await readFile(join(out, 'mlops-fraud-blue.yaml'), 'utf8'))[0]!.toJS() as { metadata: { annotations: Record<string, string> } };
    const container = containerOf(deployment);
    expect(container.image).toBe(IMAGE);
    expect(container.command).toEqual(['node', '/app/bin/mlops', 'serve', 'fraud', '--registry', registry, '--host', '0.0.0.0', '--port', '8000', '--workers', '1']);
    expect(container.command).not.toContain('--no-watch');
    expect(container.env).toEqual([
      { name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 'mlops-s3', key: 'AWS_ACCESS_KEY_ID' } } },
      { name: 'AWS_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: 'mlops-s3', key: 'AWS_SECRET_ACCESS_KEY' } } },
      { name: 'AWS_ENDPOINT_URL_S3', value: backend!.env.AWS_ENDPOINT_URL_S3 },
      { name: 'AWS_REGION', value: backend!.env.AWS_REGION },
    ]);
    expect(deployment.metadata.annotations['mlops.dev/follows']).toBe(registry);
    // The credentials themselves appear nowhere: not in the files, not in the output.
    for (const text of [all, result.stdout, result.stderr]) {
      expect(text).not.toContain(secretValue());
      expect(text).not.toContain(accessKey());
    }
    expect(result.stdout).toMatch(/the pods follow s3:\/\/.* without a new image; S3 credentials from the Secret mlops-s3/);

    // The real kubectl takes the folder as it is (client-side dry run; discovery from the fake server).
    const check = await kubectlApplyDryRun(out);
    expect(check.exitCode, check.stderr).toBe(0);
    expect(check.stdout).toMatch(/deployment.apps\/mlops-fraud-blue created \(dry run\)/);
    expect(check.stdout).toMatch(/service\/mlops-fraud created \(dry run\)/);
    expect(check.stdout).toMatch(/horizontalpodautoscaler.autoscaling\/mlops-fraud-blue created \(dry run\)/);
    expect(check.stdout).toMatch(/poddisruptionbudget.policy\/mlops-fraud-blue created \(dry run\)/);
    expect(fake.writes()).toEqual([]);
  });

  it('--output without --hpa writes no HPA, and a baked image keeps serve NAME@VERSION --no-watch', async () => {
    const out = join(dir, 'k8s-baked');
    const result = await run('deploy', 'fraud', '--skip-build', '--image', IMAGE, '--namespace', NS, '--output', out, '--dry-run', '--json');
    expect(result.exitCode, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).files.map((file: string) => file.slice(out.length + 1)).sort()).toEqual(['mlops-fraud-blue-pdb.yaml', 'mlops-fraud-blue.yaml', 'mlops-fraud-service.yaml']);
    const container = containerOf(parseAllDocuments(await readFile(join(out, 'mlops-fraud-blue.yaml'), 'utf8'))[0]!.toJS());
    expect(container.command).toContain('fraud@v1.0.0');
    expect(container.command).toContain('--no-watch');
    expect(container.env).toBeUndefined();
    const check = await kubectlApplyDryRun(out);
    expect(check.exitCode, check.stderr).toBe(0);
  });

  it('a deploy with --follow-registry rolls out through the API server with the Secret reference and no secret value', async () => {
    const writesBefore = fake.writes().length;
    const result = await run('deploy', 'fraud', '--follow-registry', '--s3-secret', 'mlops-s3', '--skip-build', '--image', IMAGE, '--namespace', NS, '--replicas', '2', '--timeout', '60s', '--scale-down-delay', '0', '--json');
    expect(result.exitCode, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).rollout).toMatchObject({ color: 'blue', replicas: 2 });
    const stored = fake.get('deployments', NS, 'mlops-fraud-blue');
    const container = containerOf(stored);
    expect(container.command.slice(2, 6)).toEqual(['serve', 'fraud', '--registry', registry]);
    expect(container.env?.find((entry) => entry.name === 'AWS_SECRET_ACCESS_KEY')).toEqual({ name: 'AWS_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: 'mlops-s3', key: 'AWS_SECRET_ACCESS_KEY' } } });
    const sent = JSON.stringify(fake.writes().slice(writesBefore));
    expect(sent).not.toContain(secretValue());
    expect(sent).not.toContain(accessKey());
    expect(result.stdout + result.stderr).not.toContain(secretValue());
    // The deployment record in the bucket names the image, as for a baked deploy.
    const list = await run('show', 'fraud', '--json');
    expect(list.exitCode, list.stderr).toBe(0);
  });

  it('the pod argv, run as a process with the pod env, serves production from the bucket and follows a promote', async () => {
    const out = join(dir, 'k8s-process');
    const rendered = await run('deploy', 'fraud', '--follow-registry', '--s3-secret', 'mlops-s3', '--skip-build', '--image', IMAGE, '--namespace', NS, '--output', out, '--dry-run');
    expect(rendered.exitCode, rendered.stderr).toBe(0);
    // The next deploy goes to the color that is not live.
    const file = (await readdir(out)).find((name) => /^mlops-fraud-(blue|green)\.yaml$/.test(name))!;
    const container = containerOf(parseAllDocuments(await readFile(join(out, file), 'utf8'))[0]!.toJS());
    // What the kubelet would do: plain values as they are, secretKeyRef from the Secret's data.
    const secret: Record<string, string> = { AWS_ACCESS_KEY_ID: accessKey(), AWS_SECRET_ACCESS_KEY: secretValue() };
    const podEnv: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: dir, MLOPS_CACHE_DIR: join(dir, 'pod-cache') };
    for (const entry of container.env ?? []) podEnv[entry.name] = entry.value ?? secret[entry.valueFrom!.secretKeyRef!.key]!;
    const port = await freePort();
    const argv = container.command.slice(2).map((arg, index, all) => (all[index - 1] === '--port' ? String(port) : arg === '0.0.0.0' ? '127.0.0.1' : arg));
    const child = spawn(process.execPath, [BIN, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env: podEnv });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const url = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 60_000;
      while (!(await fetch(`${url}/readyz`).then((r) => r.ok, () => false))) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`serve did not become ready:\n${stderr}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const version = async () => ((await (await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ features: Array(10).fill(1) }) })).json()) as { version: string }).version;
      expect(await version()).toBe('v1.0.0');
      const promoted = await run('promote', 'fraud', 'v1.1.0');
      expect(promoted.exitCode, promoted.stderr).toBe(0);
      const reloadBy = Date.now() + 20_000;
      let served = await version();
      while (served !== 'v1.1.0' && Date.now() < reloadBy) {
        await new Promise((r) => setTimeout(r, 200));
        served = await version();
      }
      expect(served).toBe('v1.1.0');
      expect(stderr).not.toContain(secretValue());
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  }, 120_000);

  it('refuses a folder registry, @VERSION, and --s3-secret without --follow-registry (exit 2, nothing sent)', async () => {
    const writesBefore = fake.writes().length;
    const folder = await mlops(['--registry', join(dir, 'folder-registry'), 'init'], { cwd: dir, env: env() });
    expect(folder.exitCode, folder.stderr).toBe(0);
    await mlops(['--registry', join(dir, 'folder-registry'), 'register', 'fraud', join(EXAMPLE, 'fraud-v1.onnx'), '--version', 'v1.0.0'], { cwd: dir, env: env() });
    await mlops(['--registry', join(dir, 'folder-registry'), 'promote', 'fraud', 'v1.0.0'], { cwd: dir, env: env() });
    const local = await mlops(['--registry', join(dir, 'folder-registry'), 'deploy', 'fraud', '--follow-registry', '--skip-build', '--image', IMAGE, '--namespace', NS], { cwd: dir, env: env() });
    expect(local.exitCode).toBe(2);
    expect(expectCleanError(local)).toMatch(/--follow-registry needs a team registry on S3/);
    const pinned = await run('deploy', 'fraud@v1.0.0', '--follow-registry', '--skip-build', '--image', IMAGE, '--namespace', NS);
    expect(pinned.exitCode).toBe(2);
    expect(expectCleanError(pinned)).toMatch(/--follow-registry serves the production version of fraud, not v1.0.0/);
    const stray = await run('deploy', 'fraud', '--s3-secret', 'x', '--skip-build', '--image', IMAGE, '--namespace', NS);
    expect(stray.exitCode).toBe(2);
    expect(expectCleanError(stray)).toMatch(/--s3-secret only goes with --follow-registry/);
    const badSecret = await run('deploy', 'fraud', '--follow-registry', '--s3-secret', 'Not_A_Name', '--skip-build', '--image', IMAGE, '--namespace', NS);
    expect(badSecret.exitCode).toBe(2);
    expect(expectCleanError(badSecret)).toMatch(/cannot name a Kubernetes Secret/);
    expect(fake.writes().slice(writesBefore).filter((request) => !request.path.includes('/leases'))).toEqual([]);
  });
});
