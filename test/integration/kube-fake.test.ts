// The fake Kubernetes API server is only worth what it resembles: the real kubectl's
// client-side apply (strategic merge patches), label selectors and scale against it.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireOrSkip } from '../support/integration.ts';
import { FakeKube } from '../support/fake-kube.ts';

const kubectlBinary = process.env.MLOPS_KUBECTL ?? 'kubectl';
const available = spawnSync(kubectlBinary, ['version', '--client', '-o', 'json'], { timeout: 30_000 }).status === 0;
const skipReason = requireOrSkip(available, `${kubectlBinary} does not run`);

function kubectl(args: string[], env: Record<string, string>, input = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(kubectlBinary, args, { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

const deployment = (env: string, containers: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web, tier: front}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: main
        image: web:1
        env: [${env}]
${containers}`;

describe.skipIf(skipReason !== undefined)(`the fake API server, seen by kubectl${skipReason ? ` (${skipReason})` : ''}`, () => {
  let fake: FakeKube;
  let work: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    fake = await FakeKube.start({ namespaces: ['default'] });
    work = await mkdtemp(join(tmpdir(), 'mlops-fake-kube-'));
    env = await fake.writeKubeconfig(work);
  });

  afterAll(async () => {
    await fake?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('applies, then re-applies with an env var and a container removed (three-way strategic merge)', async () => {
    const first = deployment('{name: A, value: "1"}, {name: B, value: "2"}', '      - name: sidecar\n        image: side:1\n');
    expect((await kubectl(['apply', '-f', '-'], env, first)).stdout).toBe('deployment.apps/web created\n');
    const second = deployment('{name: B, value: "3"}', '');
    const applied = await kubectl(['apply', '-f', '-'], env, second);
    expect(applied.stdout).toBe('deployment.apps/web configured\n');
    const patch = fake.requests.findLast((request) => request.method === 'PATCH');
    expect(patch?.contentType).toBe('application/strategic-merge-patch+json');
    const containers = (fake.get('deployments', 'default', 'web')?.spec as any).template.spec.containers;
    expect(containers).toEqual([{ name: 'main', image: 'web:1', env: [{ name: 'B', value: '3' }] }]);
    expect((await kubectl(['apply', '-f', '-'], env, second)).stdout).toBe('deployment.apps/web unchanged\n');
  });

  it('answers label selectors, scale and rollout status like a cluster', async () => {
    const listed = await kubectl(['get', 'deployments', '-l', 'tier in (front,back),app!=db', '-o', 'json'], env);
    expect((JSON.parse(listed.stdout) as { items: unknown[] }).items).toHaveLength(1);
    const none = await kubectl(['get', 'deployments', '-l', '!tier', '-o', 'json'], env);
    expect((JSON.parse(none.stdout) as { items: unknown[] }).items).toHaveLength(0);
    expect((await kubectl(['rollout', 'status', 'deployment/web', '--timeout=30s'], env)).code).toBe(0);
    expect((await kubectl(['scale', 'deployment/web', '--replicas=3'], env)).code).toBe(0);
    expect((fake.get('deployments', 'default', 'web')?.spec as { replicas: number }).replicas).toBe(3);
    expect((await kubectl(['rollout', 'status', 'deployment/web', '--timeout=30s'], env)).stdout).toContain('successfully rolled out');
    const pods = await kubectl(['get', 'pods', '-l', 'app=web', '-o', 'json'], env);
    expect((JSON.parse(pods.stdout) as { items: unknown[] }).items).toHaveLength(3);
  });

  it('fails injected requests once and refuses an invalid deployment with 422', async () => {
    fake.fail({ method: 'DELETE', path: /\/deployments\/web$/, status: 500, message: 'injected' });
    const failed = await kubectl(['delete', 'deployment/web', '--wait=false'], env);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('injected');
    const invalid = deployment('', '').replace('selector: {matchLabels: {app: web}}', 'selector: {matchLabels: {app: other}}').replace('name: web,', 'name: bad,');
    const refused = await kubectl(['apply', '-f', '-'], env, invalid);
    expect(refused.stderr).toMatch(/The Deployment "bad" is invalid: spec.template.metadata.labels/);
    expect((await kubectl(['delete', 'deployment/web', '--wait=false'], env)).stdout).toBe('deployment.apps "web" deleted\n');
    expect(fake.get('deployments', 'default', 'web')).toBeUndefined();
  });
});
