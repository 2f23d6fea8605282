// The deploy lock is renewed while a deploy runs, and the scale-down intent is written
// before the switch: the real kubectl against the in-memory API server of
// test/support/fake-kube.ts.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CheckFailedError, ConflictError } from '../../src/errors.ts';
import type { RolloutInput } from '../../src/deploy/bluegreen-plan.ts';
import { deployRollout, rollbackRollout, type DeployRolloutOptions } from '../../src/deploy/bluegreen-apply.ts';
import { loadK8sTemplates, type K8sTemplates } from '../../src/deploy/manifests.ts';
import { FakeKube } from '../support/fake-kube.ts';
import { APP, NS, annotations, kubectlBinary, kubectlSkip, runner, spec, until } from '../support/kube-rollout.ts';

const MARK = 'mlops.dev/scale-down-at';

describe.skipIf(kubectlSkip !== undefined)('deploy lease renewal and the scale-down mark (real kubectl, fake API server)', () => {
  let templates: K8sTemplates;
  let fake: FakeKube;
  let work: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    templates = await loadK8sTemplates();
  });
  beforeEach(async () => {
    fake = await FakeKube.start({ namespaces: ['default', NS] });
    work = await mkdtemp(join(tmpdir(), 'mlops-kube-lease-'));
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
    deployRollout(runner, inputFor(version, change), templates, { runner, env, holder: `deploy of ${version}`, now: () => new Date(), ...options });
  const deployment = (color: string) => fake.get('deployments', NS, `${APP}-${color}`);
  const liveColor = () => spec(fake.get('services', NS, APP)).selector?.color as string | undefined;
  const lease = () => fake.get('leases', NS, `${APP}-deploy`);
  const renewTime = () => spec(lease()).renewTime as string | undefined;

  it('a long deploy renews its lease past its duration; a second deploy is refused all along', async () => {
    await deploy('1', { replicas: 1 });
    // Green never becomes ready: the rollout waits its whole 7 s timeout, more than twice
    // the 3 s lease, which is renewed every second.
    fake.neverReady(NS, `${APP}-green`);
    const first = deploy('2', { timeout: '7s' }, { lockSeconds: 3 });
    await until('the first deploy to hold the lease', () => lease() !== undefined);
    const taken = lease()!;
    const firstRenewTime = renewTime()!;
    expect(spec(taken)).toMatchObject({ holderIdentity: 'deploy of 2', leaseDurationSeconds: 3 });
    await until('a renewal', () => renewTime() !== undefined && renewTime() !== firstRenewTime, 10_000);
    expect(Date.parse(renewTime()!)).toBeGreaterThan(Date.parse(firstRenewTime));
    // acquireTime stays; only renewTime moves.
    expect(spec(lease()).acquireTime).toBe(spec(taken).acquireTime);

    // Well past the lease's 3 s since it was taken: still held, so a second deploy is refused.
    await until('4 s since the lease was taken', () => Date.now() - Date.parse(spec(taken).acquireTime as string) > 4_000);
    const second = (await deploy('3', {}, { lockSeconds: 3 }).catch((error: unknown) => error)) as ConflictError;
    expect(second).toBeInstanceOf(ConflictError);
    expect(second.message).toMatch(/another deploy of mlops-fraud is running \(deploy of 2/);
    expect(spec(lease()).holderIdentity).toBe('deploy of 2');

    await expect(first).rejects.toBeInstanceOf(CheckFailedError);
    expect(lease()).toBeUndefined();
    expect(liveColor()).toBe('blue');
  });

  it('a lease no longer renewed (a killed CLI) expires after its duration and is taken over', async () => {
    const now = new Date().toISOString().replace('Z', '000Z');
    const leaseOf = JSON.stringify({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: `${APP}-deploy` },
      spec: { holderIdentity: 'killed', leaseDurationSeconds: 2, acquireTime: now, renewTime: now },
    });
    expect((await runner.run(kubectlBinary, ['create', '-f', '-', '--namespace', NS], { env, input: leaseOf })).exitCode).toBe(0);
    await expect(deploy('1')).rejects.toBeInstanceOf(ConflictError);
    await delay(2_500);
    expect(await deploy('1')).toMatchObject({ color: 'blue' });
    // The takeover was a replace of the expired lease, then the release deleted it.
    const leaseChanges = fake.changes.filter((change) => change.resource === 'leases').map((change) => [change.type, spec(change.object).holderIdentity]);
    expect(leaseChanges).toEqual([
      ['ADDED', 'killed'],
      ['MODIFIED', 'deploy of 1'],
      ['DELETED', 'deploy of 1'],
    ]);
  });

  it('the release leaves alone a lease another deploy took over', async () => {
    await deploy('1', { replicas: 1 });
    fake.neverReady(NS, `${APP}-green`);
    const first = deploy('2', { timeout: '3s' }, { lockSeconds: 30 });
    await until('the first deploy to hold the lease', () => lease() !== undefined);
    // Someone deletes the lease and another holder takes it.
    await runner.run(kubectlBinary, ['delete', 'lease', `${APP}-deploy`, '--namespace', NS], { env });
    const other = JSON.stringify({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: `${APP}-deploy` }, spec: { holderIdentity: 'other', leaseDurationSeconds: 60 } });
    expect((await runner.run(kubectlBinary, ['create', '-f', '-', '--namespace', NS], { env, input: other })).exitCode).toBe(0);
    await expect(first).rejects.toBeInstanceOf(CheckFailedError);
    expect(spec(lease()).holderIdentity).toBe('other');
  });

  it('the scale-down mark lands on the old color before the service switches', async () => {
    await deploy('1', { replicas: 2 });
    const start = fake.changes.length;
    await deploy('2', { scaleDownDelay: '0' });
    const later = fake.changes.slice(start);
    const marked = later.findIndex((change) => change.resource === 'deployments' && change.name === `${APP}-blue` && annotations(change.object)[MARK] !== undefined);
    const switched = later.findIndex((change) => change.resource === 'services' && spec(change.object).selector?.color === 'green');
    const scaled = later.findIndex((change) => change.resource === 'deployments' && change.name === `${APP}-blue` && spec(change.object).replicas === 0);
    expect(marked).toBeGreaterThanOrEqual(0);
    expect(marked).toBeLessThan(switched);
    expect(switched).toBeLessThan(scaled);
    expect(annotations(deployment('blue'))[MARK]).toBeUndefined();
  });

  it('cancelled right after the switch: the old color is marked, and the next rollback drops the mark as it brings it back', async () => {
    await deploy('1', { replicas: 2 });
    const abort = new AbortController();
    // Cancelled as soon as the service selects green (during the 10 minute scale-down delay).
    const cancelled = deploy('2', { scaleDownDelay: '10m' }, { signal: abort.signal });
    await until('the switch', () => liveColor() === 'green');
    abort.abort();
    expect(await cancelled).toMatchObject({ color: 'green', oldColor: 'kept' });
    expect(spec(deployment('blue')).replicas).toBe(2);
    expect(annotations(deployment('blue'))[MARK]).toBe('+10m');
    const back = await rollbackRollout(runner, { model: 'fraud', namespace: NS, kubectl: kubectlBinary, env, user: 'test' });
    expect(back).toMatchObject({ color: 'blue', replicas: 2 });
    expect(annotations(deployment('blue'))[MARK]).toBeUndefined();
    expect(spec(deployment('green')).replicas).toBe(0);
  });

  it('a switch that fails takes the mark off the live color, which keeps serving as it was', async () => {
    await deploy('1', { replicas: 2 });
    const blueBefore = deployment('blue');
    fake.fail({ method: 'PATCH', path: `/api/v1/namespaces/${NS}/services/${APP}`, status: 422, reason: 'Invalid', message: 'injected: service refused', times: 5 });
    const failed = (await deploy('2').catch((error: unknown) => error)) as CheckFailedError;
    expect(failed).toBeInstanceOf(CheckFailedError);
    expect(failed.message).toMatch(/failed at step "switch-service"/);
    expect(liveColor()).toBe('blue');
    expect(annotations(deployment('blue'))[MARK]).toBeUndefined();
    expect(spec(deployment('blue')).replicas).toBe(2);
    expect(spec(deployment('blue')).template).toEqual(spec(blueBefore).template);
    expect(deployment('green')).toBeUndefined();
    expect(lease()).toBeUndefined();
  });
});
