// The way back is never lost, capacity never drops, and deploys of one model take turns:
// the real kubectl against the in-memory API server of test/support/fake-kube.ts.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CheckFailedError, ConflictError } from '../../src/errors.ts';
import type { RolloutInput } from '../../src/deploy/bluegreen-plan.ts';
import { deployRollout, rollbackRollout, type DeployRolloutOptions } from '../../src/deploy/bluegreen-apply.ts';
import { loadK8sTemplates, type K8sTemplates } from '../../src/deploy/manifests.ts';
import { FakeKube } from '../support/fake-kube.ts';
import type { JsonObject } from '../support/fake-kube-patch.ts';
import { APP, NS, annotations, kubectlBinary, kubectlSkip, runner, spec, until } from '../support/kube-rollout.ts';

describe.skipIf(kubectlSkip !== undefined)('deploys that never lose the way back (real kubectl, fake API server)', () => {
  let templates: K8sTemplates;
  let fake: FakeKube;
  let work: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    templates = await loadK8sTemplates();
  });
  beforeEach(async () => {
    fake = await FakeKube.start({ namespaces: ['default', NS] });
    work = await mkdtemp(join(tmpdir(), 'mlops-kube-safety-'));
    env = await fake.writeKubeconfig(work);
  });
  afterEach(async () => {
    await fake.stop();
    await rm(work, { recursive: true, force: true });
  });

  const inputFor = (version: string, change: Partial<RolloutInput> = {}): RolloutInput => ({
    model: 'fraud',
    version,
    image: `registry.example.com/fraud:${version}`,
    namespace: NS,
    timeout: '20s',
    scaleDownDelay: '0',
    kubectl: kubectlBinary,
    env,
    ...change,
  });
  const deploy = (version: string, change: Partial<RolloutInput> = {}, options: Partial<DeployRolloutOptions> = {}) =>
    deployRollout(runner, inputFor(version, change), templates, { runner, env, holder: `deploy of ${version}`, now: () => new Date(), lockSeconds: 300, ...options });
  const rollback = () => rollbackRollout(runner, { model: 'fraud', namespace: NS, kubectl: kubectlBinary, env, user: 'test' });
  const deployment = (color: string) => fake.get('deployments', NS, `${APP}-${color}`);
  const imageOf = (color: string) => spec(deployment(color)).template?.spec?.containers?.[0]?.image as string | undefined;
  const liveColor = () => spec(fake.get('services', NS, APP)).selector?.color as string | undefined;
  const lease = () => fake.get('leases', NS, `${APP}-deploy`);

  it('deploy, failing deploy, rollback, second failing deploy, rollback: the kept color always comes back exactly', async () => {
    await deploy('1', { replicas: 2 });
    await deploy('2');
    expect([liveColor(), imageOf('blue'), spec(deployment('blue')).replicas]).toEqual(['green', 'registry.example.com/fraud:1', 0]);
    const blueBefore = deployment('blue');

    // A failing deploy of 3 goes to blue, the rollback target: blue must come back as it was.
    fake.neverReady(NS, `${APP}-blue`);
    const failed = (await deploy('3', { timeout: '2s' }).catch((error: unknown) => error)) as CheckFailedError;
    expect(failed).toBeInstanceOf(CheckFailedError);
    expect(failed.message).toMatch(/failed at step "rollout-status".*mlops-fraud-blue was put back as it was/);
    const blueAfter = deployment('blue');
    expect(imageOf('blue')).toBe('registry.example.com/fraud:1');
    expect(spec(blueAfter).replicas).toBe(0);
    expect((blueAfter?.metadata as JsonObject).labels).toEqual((blueBefore?.metadata as JsonObject).labels);
    expect(spec(blueAfter).template).toEqual(spec(blueBefore).template);
    expect(liveColor()).toBe('green');
    expect(lease()).toBeUndefined();

    // Rollback works after it: blue (version 1) serves again at green's replica count.
    fake.readyAgain(NS, `${APP}-blue`);
    const back = await rollback();
    expect(back).toMatchObject({ color: 'blue', version: '1', replicas: 2 });
    expect(liveColor()).toBe('blue');
    expect([imageOf('green'), spec(deployment('green')).replicas]).toEqual(['registry.example.com/fraud:2', 0]);

    // A second failing deploy now goes to green, which holds version 2: it comes back too.
    fake.neverReady(NS, `${APP}-green`);
    await expect(deploy('4', { timeout: '2s' })).rejects.toBeInstanceOf(CheckFailedError);
    expect([liveColor(), imageOf('green'), spec(deployment('green')).replicas]).toEqual(['blue', 'registry.example.com/fraud:2', 0]);
    expect(((deployment('green')?.metadata as JsonObject).labels as Record<string, string>).version).toBe('2');
    fake.readyAgain(NS, `${APP}-green`);
    expect(await rollback()).toMatchObject({ color: 'green', version: '2' });
  });

  it('two concurrent deploys: the second is refused with "another deploy is running" and changes nothing', async () => {
    await deploy('1', { replicas: 2 });
    await deploy('2');
    // The first holds the lock while its rollout waits (its pods take a while to become ready).
    fake.neverReady(NS, `${APP}-blue`);
    const first = deploy('3', { timeout: '4s' });
    await until('the first deploy to hold the lease', () => lease() !== undefined);
    const writesBefore = fake.writes().length;
    const second = (await deploy('4').catch((error: unknown) => error)) as ConflictError;
    expect(second).toBeInstanceOf(ConflictError);
    expect(second.code).toBe('deploy_running');
    expect(second.message).toMatch(/^another deploy of mlops-fraud is running \(deploy of 3, since .*\); this deploy was refused and nothing was changed$/);
    expect(second.hint).toContain(`kubectl delete lease ${APP}-deploy --namespace ${NS}`);
    // The refused deploy wrote nothing but its failed attempt to take the lease.
    expect(fake.writes().slice(writesBefore).filter((request) => !request.path.includes('/leases')).map((request) => request.path).filter((path) => !path.includes(`${APP}-blue`))).toEqual([]);
    await expect(first).rejects.toBeInstanceOf(CheckFailedError);
    // Neither deploy touched the kept color for good: blue is version 1 at 0, green serves 2.
    expect([liveColor(), imageOf('green'), imageOf('blue'), spec(deployment('blue')).replicas]).toEqual(['green', 'registry.example.com/fraud:2', 'registry.example.com/fraud:1', 0]);
    expect(lease()).toBeUndefined();
  });

  it('a live color scaled to 8 stays at 8 through a deploy and a rollback', async () => {
    await deploy('1', { replicas: 2 });
    const scaled = await runner.run(kubectlBinary, ['scale', `deployment/${APP}-blue`, '--replicas=8', '--namespace', NS], { env });
    expect(scaled.exitCode).toBe(0);
    const result = await deploy('2');
    expect(result).toMatchObject({ color: 'green', replicas: 8 });
    expect(spec(deployment('green')).replicas).toBe(8);
    expect(spec(deployment('blue')).replicas).toBe(0);
    expect(await rollback()).toMatchObject({ color: 'blue', replicas: 8 });
    expect(spec(deployment('blue')).replicas).toBe(8);
  });

  it('a deploy cancelled during the scale-down delay leaves the intent; the next deploy finishes it first', async () => {
    await deploy('1', { replicas: 2 });
    const abort = new AbortController();
    const cancelled = deploy('2', { scaleDownDelay: '10m' }, { signal: abort.signal });
    await until('the switch to green', () => liveColor() === 'green');
    expect(annotations(deployment('blue'))['mlops.dev/scale-down-at']).toBe('+10m');
    abort.abort();
    const result = await cancelled;
    expect(result).toMatchObject({ color: 'green', oldColor: 'kept' });
    expect(result.warnings.join(' ')).toMatch(/the next deploy or rollback scales it down/);
    // Cancelled: blue still runs its 2 pods, with the intent recorded on it.
    expect(spec(deployment('blue')).replicas).toBe(2);
    expect(lease()).toBeUndefined();

    const start = fake.changes.length;
    await deploy('3');
    const blueChanges = fake.changes.slice(start).filter((change) => change.resource === 'deployments' && change.name === `${APP}-blue`);
    const finished = blueChanges.findIndex((change) => spec(change.object).replicas === 0 && annotations(change.object)['mlops.dev/scale-down-at'] === undefined);
    const redeployed = blueChanges.findIndex((change) => spec(change.object).template?.spec?.containers?.[0]?.image === 'registry.example.com/fraud:3');
    expect(finished).toBeGreaterThanOrEqual(0);
    expect(finished).toBeLessThan(redeployed);
    expect([liveColor(), imageOf('blue'), spec(deployment('blue')).replicas]).toEqual(['blue', 'registry.example.com/fraud:3', 2]);
  });

  it('an expired lease left by a killed CLI is taken over; a fresh one is not', async () => {
    const leaseOf = (renewTime: string) =>
      JSON.stringify({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: `${APP}-deploy` }, spec: { holderIdentity: 'killed', leaseDurationSeconds: 60, renewTime } });
    await runner.run(kubectlBinary, ['create', '-f', '-', '--namespace', NS], { env, input: leaseOf(new Date().toISOString().replace('Z', '000Z')) });
    await expect(deploy('1')).rejects.toBeInstanceOf(ConflictError);
    expect(deployment('blue')).toBeUndefined();
    await runner.run(kubectlBinary, ['replace', '-f', '-', '--namespace', NS], { env, input: leaseOf('2020-01-01T00:00:00.000000Z') });
    expect(await deploy('1')).toMatchObject({ color: 'blue' });
    expect(lease()).toBeUndefined();
  });
});
