// Blue-green deploys with the real kubectl against the in-memory API server of
// test/support/fake-kube.ts: colors alternate, the Service switches only after the new
// color is ready, failures leave the live color serving, rollback, and exit-4 preflights.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { requireOrSkip } from '../support/integration.ts';
import { CheckFailedError, ExitCode, NotFoundError, ToolFailedError, ToolMissingError } from '../../src/errors.ts';
import { type RolloutEvent, type RolloutInput } from '../../src/deploy/bluegreen-plan.ts';
import { readLiveColor, readLiveColorForPlan } from '../../src/deploy/bluegreen-health.ts';
import { deployRollout, rollbackRollout } from '../../src/deploy/bluegreen-apply.ts';
import { loadK8sTemplates, type K8sTemplates } from '../../src/deploy/manifests.ts';
import { ExecaRunner } from '../../src/tools/runner.ts';
import { FakeKube, writeKubeconfig, type StateChange } from '../support/fake-kube.ts';
import type { JsonObject } from '../support/fake-kube-patch.ts';

const kubectlBinary = process.env.MLOPS_KUBECTL ?? 'kubectl';
const probe = spawnSync(kubectlBinary, ['version', '--client', '-o', 'json'], { encoding: 'utf8', timeout: 30_000 });
const available = probe.status === 0;
const skipReason = requireOrSkip(available, `${kubectlBinary} does not run: ${probe.error?.message ?? probe.stderr}`);
if (skipReason) console.warn(`skipping kube-bluegreen integration tests: ${skipReason}`);

const runner = new ExecaRunner();
const NS = 'ml';
const APP = 'mlops-fraud';
const SERVICE_PATH = `/api/v1/namespaces/${NS}/services/${APP}`;
const deploymentPath = (color: string) => `/apis/apps/v1/namespaces/${NS}/deployments/${APP}-${color}`;

const spec = (object: JsonObject | undefined) => (object?.spec ?? {}) as Record<string, any>;
const selectorColor = (change: StateChange) => spec(change.object).selector?.color as string | undefined;

describe.skipIf(skipReason !== undefined)(skipReason ? `blue-green deploys with kubectl (${skipReason})` : 'blue-green deploys with kubectl', () => {
  let templates: K8sTemplates;
  let fake: FakeKube;
  let work: string;
  let env: Record<string, string>;
  let events: RolloutEvent[];

  beforeAll(async () => {
    templates = await loadK8sTemplates();
  });

  beforeEach(async () => {
    fake = await FakeKube.start({ namespaces: ['default', NS] });
    work = await mkdtemp(join(tmpdir(), 'mlops-kube-'));
    env = await fake.writeKubeconfig(work);
    events = [];
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
    replicas: 2,
    timeout: '60s',
    // The scale-down delay has its own tests (kube-safety.test.ts).
    scaleDownDelay: '0',
    kubectl: kubectlBinary,
    env,
    ...change,
  });

  async function deploy(version: string, change: Partial<RolloutInput> = {}) {
    const input = inputFor(version, change);
    return deployRollout(runner, input, templates, { runner, env, onEvent: (event) => events.push(event), holder: `test ${version}`, now: () => new Date(), lockSeconds: 300 });
  }

  it('first deploy: blue, service created after the deployment is ready', async () => {
    const result = await deploy('1');
    expect(result).toMatchObject({ color: 'blue', service: APP, deployment: `${APP}-blue`, oldColor: 'none', warnings: [] });
    expect(result.previousColor).toBeUndefined();

    const service = fake.get('services', NS, APP);
    expect(spec(service).selector).toEqual({ app: APP, color: 'blue' });
    const deployment = fake.get('deployments', NS, `${APP}-blue`);
    expect(spec(deployment).template.spec.containers[0].image).toBe('registry.example.com/fraud:1');
    expect((deployment?.status as Record<string, number>).readyReplicas).toBe(2);
    // Client-side apply, as a user's own `kubectl apply` would do it.
    expect((deployment?.metadata as Record<string, any>).annotations['kubectl.kubernetes.io/last-applied-configuration']).toContain('fraud:1');

    const serviceCreated = fake.changes.find((change) => change.resource === 'services' && change.type === 'ADDED');
    const blueReady = fake.changes.find((change) => change.name === `${APP}-blue` && (change.object.status as Record<string, number> | undefined)?.readyReplicas === 2);
    expect(blueReady && serviceCreated && blueReady.seq < serviceCreated.seq).toBe(true);
    expect(events.filter((event) => event.type === 'step').map((event) => event.step)).toEqual([
      'apply-deployment',
      'rollout-status',
      'check-deployment',
      'check-pods',
      'switch-service',
    ]);
    expect(events.some((event) => event.type === 'log' && event.message.includes('successfully rolled out'))).toBe(true);
  });

  it('second deploy goes to green while blue serves; the switch comes only after green is ready', async () => {
    await deploy('1');
    const start = fake.changes.length;
    const requestStart = fake.requests.length;
    const result = await deploy('2');
    expect(result).toMatchObject({ color: 'green', previousColor: 'blue', oldColor: 'scaled-to-zero' });

    const changes = fake.changes.slice(start);
    const switchChange = changes.find((change) => change.resource === 'services' && selectorColor(change) === 'green');
    const greenReady = changes.find((change) => change.name === `${APP}-green` && (change.object.status as Record<string, number> | undefined)?.readyReplicas === 2);
    expect(switchChange).toBeDefined();
    expect(greenReady).toBeDefined();
    expect(greenReady!.seq).toBeLessThan(switchChange!.seq);

    // Before the switch nothing wrote to blue or to the service; blue kept all its replicas.
    const switchRequest = fake.requests.find((request) => request.seq === switchChange!.cause)!;
    expect(switchRequest).toMatchObject({ method: 'PATCH', path: SERVICE_PATH, contentType: 'application/strategic-merge-patch+json' });
    const writesBefore = fake.requests.slice(requestStart).filter((request) => request.method !== 'GET' && request.seq < switchRequest.seq);
    expect(writesBefore.map((request) => `${request.method} ${request.path}`)).toEqual([
      `POST /apis/coordination.k8s.io/v1/namespaces/${NS}/leases`,
      `POST /apis/apps/v1/namespaces/${NS}/deployments`,
      `POST /apis/policy/v1/namespaces/${NS}/poddisruptionbudgets`,
    ]);
    expect(changes.filter((change) => change.name === `${APP}-blue` && change.seq < switchChange!.seq)).toEqual([]);

    // After it, blue is scaled to zero (kept for rollback), its scale-down mark dropped in the same write.
    const blueScaled = fake.requests.slice(requestStart).find((request) => request.path === deploymentPath('blue') && request.method === 'PATCH');
    expect(blueScaled).toMatchObject({ method: 'PATCH', body: { spec: { replicas: 0 } } });
    expect(blueScaled!.seq).toBeGreaterThan(switchRequest.seq);
    expect(spec(fake.get('deployments', NS, `${APP}-blue`)).replicas).toBe(0);
    expect(spec(fake.get('services', NS, APP)).selector).toEqual({ app: APP, color: 'green' });
  });

  it('a third deploy returns to blue, patching the scaled-down deployment back to full size', async () => {
    await deploy('1');
    await deploy('2');
    const requestStart = fake.requests.length;
    const result = await deploy('3');
    expect(result).toMatchObject({ color: 'blue', previousColor: 'green' });
    const blue = fake.get('deployments', NS, `${APP}-blue`);
    expect(spec(blue).replicas).toBe(2);
    expect(spec(blue).template.spec.containers[0].image).toBe('registry.example.com/fraud:3');
    expect(spec(blue).template.metadata.labels.version).toBe('3');
    expect(spec(fake.get('deployments', NS, `${APP}-green`)).replicas).toBe(0);
    // The existing deployment is patched, not re-created.
    const blueWrite = fake.requests.slice(requestStart).find((request) => request.path === deploymentPath('blue') && request.method !== 'GET');
    expect(blueWrite?.method).toBe('PATCH');
  });

  it('a rollout that never becomes ready: new color deleted, service untouched, CheckFailedError naming the step', async () => {
    await deploy('1');
    fake.neverReady(NS, `${APP}-green`);
    const start = fake.changes.length;
    const error = (await deploy('2', { timeout: '2s' }).catch((caught: unknown) => caught)) as CheckFailedError;
    expect(error).toBeInstanceOf(CheckFailedError);
    expect(error.exitCode).toBe(ExitCode.checkFailed);
    expect(error.message).toMatch(/failed at step "rollout-status" .*: error: timed out waiting for the condition; mlops-fraud-green was (removed|put back as it was)$/);
    expect(error.hint).toMatch(/traffic still goes to blue/);

    expect(fake.get('deployments', NS, `${APP}-green`)).toBeUndefined();
    expect(spec(fake.get('services', NS, APP)).selector.color).toBe('blue');
    expect(spec(fake.get('deployments', NS, `${APP}-blue`)).replicas).toBe(2);
    const touched = fake.changes.slice(start).filter((change) => change.resource === 'services' || change.name === `${APP}-blue`);
    expect(touched).toEqual([]);
    expect(events.filter((event) => event.type === 'cleanup')).toHaveLength(1);
  });

  it('a refused apply: nothing is created, the error carries the server message', async () => {
    fake.fail({ method: 'POST', path: `/apis/apps/v1/namespaces/${NS}/deployments`, status: 500, reason: 'InternalError', message: 'etcdserver: request timed out' });
    const error = (await deploy('1').catch((caught: unknown) => caught)) as CheckFailedError;
    expect(error).toBeInstanceOf(CheckFailedError);
    expect(error.message).toMatch(/failed at step "apply-deployment" .*: Error from server \(InternalError\): .*etcdserver: request timed out; mlops-fraud-blue was removed$/);
    expect(error.hint).toMatch(/nothing was serving yet/);
    expect(fake.list('deployments', NS)).toEqual([]);
    expect(fake.get('services', NS, APP)).toBeUndefined();
  });

  it('a refused service switch deletes the ready new color and leaves the service as it was', async () => {
    await deploy('1');
    fake.fail({ method: 'PATCH', path: SERVICE_PATH, status: 422, reason: 'Invalid', message: 'Service "mlops-fraud" is invalid: spec.selector: Forbidden by policy' });
    const error = (await deploy('2').catch((caught: unknown) => caught)) as CheckFailedError;
    expect(error.message).toMatch(/failed at step "switch-service" .*Forbidden by policy/);
    expect(fake.get('deployments', NS, `${APP}-green`)).toBeUndefined();
    expect(spec(fake.get('services', NS, APP)).selector.color).toBe('blue');
  });

  it('rollback scales the previous color back up and switches the service to it, and back again', async () => {
    await deploy('1');
    await deploy('2');
    const back = await rollbackRollout(runner, { model: 'fraud', namespace: NS, kubectl: kubectlBinary, env }, { onEvent: (event) => events.push(event) });
    expect(back).toMatchObject({ color: 'blue', previousColor: 'green', replicas: 2, version: '1', image: 'registry.example.com/fraud:1', oldColor: 'scaled-to-zero' });
    expect(spec(fake.get('services', NS, APP)).selector.color).toBe('blue');
    expect(spec(fake.get('deployments', NS, `${APP}-blue`)).replicas).toBe(2);
    expect(spec(fake.get('deployments', NS, `${APP}-green`)).replicas).toBe(0);
    const selectorPatch = fake.requests.find((request) => request.path === SERVICE_PATH && request.contentType === 'application/merge-patch+json');
    expect(selectorPatch?.body).toEqual({ spec: { selector: { color: 'blue' } } });

    const forward = await rollbackRollout(runner, { model: 'fraud', namespace: NS, kubectl: kubectlBinary, env });
    expect(forward).toMatchObject({ color: 'green', version: '2' });
    expect(spec(fake.get('services', NS, APP)).selector.color).toBe('green');
  });

  it('--keep-old 0 deletes the old color, after which rollback has nothing to return to (exit 3)', async () => {
    await deploy('1');
    const result = await deploy('2', { keepOld: '0' });
    expect(result.oldColor).toBe('deleted');
    expect(fake.get('deployments', NS, `${APP}-blue`)).toBeUndefined();
    const error = await rollbackRollout(runner, { model: 'fraud', namespace: NS, kubectl: kubectlBinary, env }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as NotFoundError).exitCode).toBe(ExitCode.notFound);
    expect(spec(fake.get('services', NS, APP)).selector.color).toBe('green');
  });

  it('an absent namespace is an exit-4 error with a hint, before anything is written', async () => {
    const error = await readLiveColor(runner, inputFor('1', { namespace: 'absent' })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ToolFailedError);
    expect((error as ToolFailedError).exitCode).toBe(ExitCode.tool);
    expect((error as ToolFailedError).message).toBe('namespace "absent" does not exist');
    expect((error as ToolFailedError).hint).toMatch(/kubectl create namespace absent/);
    expect(fake.writes()).toEqual([]);
  });

  it('a missing context and an unreachable cluster are exit-4 errors', async () => {
    const noContext = await readLiveColor(runner, inputFor('1', { context: 'nope' })).catch((caught: unknown) => caught);
    expect(noContext).toBeInstanceOf(ToolFailedError);
    expect((noContext as ToolFailedError).message).toBe('kubectl context "nope" does not exist');

    const dead = await writeKubeconfig(join(work, 'dead'), 'http://127.0.0.1:1');
    const unreachable = await readLiveColor(runner, inputFor('1', { env: dead })).catch((caught: unknown) => caught);
    expect(unreachable).toBeInstanceOf(ToolFailedError);
    expect((unreachable as ToolFailedError).exitCode).toBe(ExitCode.tool);
    expect((unreachable as ToolFailedError).message).toMatch(/^cannot reach the Kubernetes API server 127\.0\.0\.1:1: /);

    // A dry run still plans, as a first deploy, and says why.
    const planned = await readLiveColorForPlan(runner, inputFor('1', { env: dead }));
    expect(planned.liveColor).toBeUndefined();
    expect(planned.note).toMatch(/could not read the live color \(cannot reach .*\); planned as a first deploy/);
  });
});

describe('kubectl itself missing', () => {
  it('is a ToolMissingError (exit 4) with an install hint', async () => {
    const work = await mkdtemp(join(tmpdir(), 'mlops-kube-missing-'));
    try {
      const error = await readLiveColor(runner, {
        model: 'fraud',
        namespace: NS,
        kubectl: join(work, 'no-such-dir', 'kubectl'),
      }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ToolMissingError);
      expect((error as ToolMissingError).exitCode).toBe(ExitCode.tool);
      expect((error as ToolMissingError).hint).toMatch(/MLOPS_KUBECTL/);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
