// The kubectl adapter and the rollout's kubectl calls, through a recording Runner:
// exact argv, error mapping from real kubectl outputs, and the order of a blue-green deploy.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CheckFailedError, ExitCode, NotFoundError, ToolFailedError, ToolMissingError } from '../../src/errors.ts';
import {
  Kubectl,
  environmentError,
  formatCommand,
  isNotFound,
  kubectlCommands,
  kubectlMessage,
  redact,
  type KubectlTarget,
} from '../../src/tools/kubectl.ts';
import { planRollout, type RolloutEvent, type RolloutInput } from '../../src/deploy/bluegreen-plan.ts';
import { readLiveColor } from '../../src/deploy/bluegreen-health.ts';
import { applyRollout, rollbackRollout } from '../../src/deploy/bluegreen-apply.ts';
import { loadK8sTemplates } from '../../src/deploy/manifests.ts';
import { RecordingRunner } from '../support/recording-runner.ts';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/kubectl/${name}`, import.meta.url), 'utf8');
const target: KubectlTarget = { kubectl: '/opt/bin/kubectl', namespace: 'ml' };
const withContext: KubectlTarget = { ...target, context: 'prod-eu' };

describe('kubectl argv builders', () => {
  it('builds reads with -o json and the namespace, plus --context when given', () => {
    expect(kubectlCommands.getService(target, 'mlops-fraud')).toEqual({
      file: '/opt/bin/kubectl',
      args: ['get', 'service', 'mlops-fraud', '--namespace', 'ml', '-o', 'json'],
    });
    expect(kubectlCommands.getDeployment(withContext, 'mlops-fraud-blue').args).toEqual([
      'get', 'deployment', 'mlops-fraud-blue', '--namespace', 'ml', '--context', 'prod-eu', '-o', 'json',
    ]);
    expect(kubectlCommands.getPods(target, { app: 'mlops-fraud', color: 'green' }).args).toEqual([
      'get', 'pods', '--selector', 'app=mlops-fraud,color=green', '--namespace', 'ml', '-o', 'json',
    ]);
    expect(kubectlCommands.getNamespace(withContext).args).toEqual(['get', 'namespace', 'ml', '-o', 'json', '--context', 'prod-eu']);
  });

  it('builds writes: apply from stdin, rollout status, scale, delete, selector patch', () => {
    expect(kubectlCommands.apply(withContext, 'kind: Service\n')).toEqual({
      file: '/opt/bin/kubectl',
      args: ['apply', '-f', '-', '--namespace', 'ml', '--context', 'prod-eu'],
      input: 'kind: Service\n',
    });
    expect(kubectlCommands.rolloutStatus(target, 'mlops-fraud-green', '300s').args).toEqual([
      'rollout', 'status', 'deployment/mlops-fraud-green', '--namespace', 'ml', '--timeout=300s',
    ]);
    expect(kubectlCommands.scale(target, 'mlops-fraud-blue', 0).args).toEqual(['scale', 'deployment/mlops-fraud-blue', '--replicas=0', '--namespace', 'ml']);
    expect(kubectlCommands.deleteDeployment(target, 'mlops-fraud-blue').args).toEqual([
      'delete', 'deployment/mlops-fraud-blue', '--namespace', 'ml', '--ignore-not-found', '--wait=false',
    ]);
    expect(kubectlCommands.patchServiceSelector(target, 'mlops-fraud', { color: 'blue' }).args).toEqual([
      'patch', 'service', 'mlops-fraud', '--namespace', 'ml', '--type', 'merge', '-p', '{"spec":{"selector":{"color":"blue"}}}',
    ]);
  });

  it('formats commands as shell lines a user can paste', () => {
    expect(formatCommand(kubectlCommands.patchServiceSelector(target, 'mlops-fraud', { color: 'blue' }))).toBe(
      `/opt/bin/kubectl patch service mlops-fraud --namespace ml --type merge -p '{"spec":{"selector":{"color":"blue"}}}'`,
    );
    expect(formatCommand(kubectlCommands.apply(target, 'x'))).toBe('/opt/bin/kubectl apply -f - --namespace ml < manifest');
    expect(formatCommand({ file: 'kubectl', args: ["it's"] })).toBe(`kubectl 'it'\\''s'`);
  });
});

describe("kubectl's errors (real outputs in test/fixtures/kubectl)", () => {
  it('names a missing context, exit 4', () => {
    const error = environmentError(fixture('context-not-found.stderr.txt'), withContext);
    expect(error).toBeInstanceOf(ToolFailedError);
    expect(error?.exitCode).toBe(ExitCode.tool);
    expect(error?.message).toBe('kubectl context "nope" does not exist');
    expect(error?.hint).toMatch(/kubectl config get-contexts/);
  });

  it('says the cluster is unreachable, without the client-go log noise', () => {
    const error = environmentError(fixture('connection-refused.stderr.txt'), target);
    expect(error?.message).toBe(
      'cannot reach the Kubernetes API server 127.0.0.1:1: The connection to the server 127.0.0.1:1 was refused - did you specify the right host or port?',
    );
    expect(error?.message).not.toContain('memcache.go');
    expect(error?.hint).toMatch(/kubectl cluster-info/);
  });

  it('recognises kubectl running with no kubeconfig at all', () => {
    const error = environmentError(fixture('no-kubeconfig.stderr.txt'), target);
    expect(error?.message).toMatch(/no cluster configured/);
    expect(error?.hint).toMatch(/KUBECONFIG/);
  });

  it('names an absent namespace, both from a read and from an apply', () => {
    for (const name of ['namespace-not-found.stderr.txt', 'apply-namespace-not-found.stderr.txt']) {
      const error = environmentError(fixture(name), { ...target, namespace: 'absent' });
      expect(error?.message).toBe('namespace "absent" does not exist');
      expect(error?.hint).toMatch(/kubectl create namespace absent/);
    }
  });

  it('tells an object NotFound from a namespace NotFound', () => {
    expect(isNotFound(fixture('service-not-found.stderr.txt'))).toBe(true);
    expect(isNotFound(fixture('namespace-not-found.stderr.txt'))).toBe(false);
    expect(environmentError(fixture('service-not-found.stderr.txt'), target)).toBeUndefined();
  });

  it("keeps kubectl's message on one line", () => {
    expect(kubectlMessage(fixture('rollout-status-timeout.stderr.txt'))).toBe('error: timed out waiting for the condition');
    expect(kubectlMessage(fixture('apply-invalid.stderr.txt'))).toBe(
      'The Deployment "mlops-fraud-red" is invalid: spec.template.metadata.labels: Invalid value: `selector` does not match template `labels`',
    );
    expect(kubectlMessage(fixture('apply-server-error.stderr.txt'))).toBe(
      'Error from server (InternalError): error when patching "STDIN": etcdserver: request timed out',
    );
    expect(kubectlMessage('The Deployment "x" is invalid: \n* spec.selector: Required value\n* spec.replicas: Invalid value: -1\n')).toBe(
      'The Deployment "x" is invalid: spec.selector: Required value; spec.replicas: Invalid value: -1',
    );
    expect(kubectlMessage('', 'kubectl exited with code 1')).toBe('kubectl exited with code 1');
  });

  it('redacts credentials kubectl might echo', () => {
    const text = redact('Authorization: Bearer abc.def.ghi from https://admin:hunter2@10.0.0.1:6443 token=s3cr3t "password": "pw"');
    expect(text).not.toMatch(/abc\.def|hunter2|s3cr3t|"pw"/);
    expect(text).toContain('https://[redacted]@10.0.0.1:6443');
  });
});

describe('Kubectl client', () => {
  it('parses -o json reads and passes env, stdin and allowFailure to the runner', async () => {
    const runner = new RecordingRunner().on(['get', 'service'], { stdout: fixture('service.json') });
    const kubectl = new Kubectl(runner, { ...target, env: { KUBECONFIG: '/tmp/kc' } });
    const service = await kubectl.readJson(kubectlCommands.getService(target, 'mlops-fraud'));
    expect((service?.spec as { selector: unknown }).selector).toEqual({ app: 'mlops-fraud', color: 'blue' });
    expect(runner.calls[0]?.options).toMatchObject({ env: { KUBECONFIG: '/tmp/kc' }, allowFailure: true });
  });

  it('returns undefined for NotFound and throws exit-4 errors for the environment', async () => {
    const runner = new RecordingRunner()
      .on(['get', 'service', 'nope'], { exitCode: 1, stderr: fixture('service-not-found.stderr.txt') })
      .on(['get', 'service'], { exitCode: 1, stderr: fixture('connection-refused.stderr.txt') });
    const kubectl = new Kubectl(runner, target);
    expect(await kubectl.readJson(kubectlCommands.getService(target, 'nope'))).toBeUndefined();
    const error = await kubectl.readJson(kubectlCommands.getService(target, 'x')).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ToolFailedError);
    expect((error as ToolFailedError).exitCode).toBe(ExitCode.tool);
  });

  it('rejects output that is not JSON', async () => {
    const runner = new RecordingRunner().on(['get'], { stdout: 'NAME   TYPE\nx      ClusterIP\n' });
    await expect(new Kubectl(runner, target).readJson(kubectlCommands.getService(target, 'x'))).rejects.toThrow(/not a JSON object/);
  });

  it('preflight: passes when namespaces are Forbidden, fails on an absent namespace, lets ToolMissingError through', async () => {
    const forbidden = new RecordingRunner().on(['get', 'namespace'], {
      exitCode: 1,
      stderr: 'Error from server (Forbidden): namespaces "ml" is forbidden: User "ci" cannot get resource "namespaces"\n',
    });
    await expect(new Kubectl(forbidden, target).preflight()).resolves.toBeUndefined();

    const absent = new RecordingRunner().on(['get', 'namespace'], { exitCode: 1, stderr: fixture('namespace-not-found.stderr.txt') });
    await expect(new Kubectl(absent, { ...target, namespace: 'absent' }).preflight()).rejects.toThrow('namespace "absent" does not exist');

    const missing = new RecordingRunner().on([], { error: new ToolMissingError('kubectl', 'install kubectl') });
    await expect(new Kubectl(missing, target).preflight()).rejects.toBeInstanceOf(ToolMissingError);
  });
});

const input: RolloutInput = {
  model: 'fraud',
  version: '3',
  image: 'registry.example.com/fraud@sha256:' + 'a'.repeat(64),
  namespace: 'ml',
  replicas: 2,
  timeout: '120s',
  // These tests check the order of kubectl calls; the delay has its own test below.
  scaleDownDelay: '0',
  kubectl: '/opt/bin/kubectl',
  env: { KUBECONFIG: '/tmp/kc' },
};

/** A PodList/Deployment the way kubectl prints them, for the checks to pass. */
function readyDeployment(color: string, image = input.image, replicas = 2) {
  return JSON.stringify({
    metadata: { name: `mlops-fraud-${color}`, generation: 3, labels: { version: '2' } },
    spec: { replicas, template: { spec: { containers: [{ name: 'model', image }] } } },
    status: { observedGeneration: 3, replicas, updatedReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas },
  });
}
function readyPods(image = input.image, count = 2) {
  return JSON.stringify({
    items: Array.from({ length: count }, (_, index) => ({
      metadata: { name: `p${index}` },
      spec: { containers: [{ name: 'model', image }] },
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    })),
  });
}

describe('a blue-green deploy through a recording runner', () => {
  it('reads the live color after checking the namespace', async () => {
    const runner = new RecordingRunner().on(['get', 'namespace'], { stdout: '{"kind":"Namespace"}' }).on(['get', 'service'], { stdout: fixture('service.json') });
    expect(await readLiveColor(runner, input)).toBe('blue');
    expect(runner.commands).toEqual([
      ['/opt/bin/kubectl', 'get', 'namespace', 'ml', '-o', 'json'],
      ['/opt/bin/kubectl', 'get', 'service', 'mlops-fraud', '--namespace', 'ml', '-o', 'json'],
    ]);
  });

  it('runs apply, rollout status, checks, switch, then scales the old color, in that order', async () => {
    const plan = planRollout(input, 'blue', await loadK8sTemplates());
    const runner = new RecordingRunner()
      .on(['rollout'], { stdout: 'Waiting for deployment "mlops-fraud-green" rollout to finish: 0 of 2 updated replicas are available...\ndeployment "mlops-fraud-green" successfully rolled out\n' })
      .on(['get', 'deployment'], { stdout: readyDeployment('green') })
      .on(['get', 'pods'], { stdout: readyPods() });
    const events: RolloutEvent[] = [];
    const result = await applyRollout(plan, { runner, env: input.env, onEvent: (event) => events.push(event) });
    const k = '/opt/bin/kubectl';
    expect(runner.commands).toEqual([
      [k, 'apply', '-f', '-', '--namespace', 'ml'],
      [k, 'rollout', 'status', 'deployment/mlops-fraud-green', '--namespace', 'ml', '--timeout=120s'],
      [k, 'get', 'deployment', 'mlops-fraud-green', '--namespace', 'ml', '-o', 'json'],
      [k, 'get', 'pods', '--selector', 'app=mlops-fraud,color=green', '--namespace', 'ml', '-o', 'json'],
      [k, 'apply', '-f', '-', '--namespace', 'ml'],
      [k, 'patch', 'deployment', 'mlops-fraud-blue', '--namespace', 'ml', '--type', 'merge', '-p', '{"metadata":{"annotations":{"mlops.dev/scale-down-at":null}},"spec":{"replicas":0}}'],
    ]);
    expect(runner.calls[0]?.options.input).toContain(plan.manifests.deployment.trimEnd());
    expect(runner.calls[0]?.options.input).toContain('kind: PodDisruptionBudget');
    expect(runner.calls[4]?.options.input).toBe(plan.manifests.service);
    expect(runner.calls.every((call) => call.options.env?.KUBECONFIG === '/tmp/kc')).toBe(true);
    expect(result).toMatchObject({ color: 'green', previousColor: 'blue', deployment: 'mlops-fraud-green', service: 'mlops-fraud', oldColor: 'scaled-to-zero', warnings: [] });
    expect(events.filter((event) => event.type === 'step').map((event) => event.step)).toEqual(plan.steps.map((step) => step.id));
    expect(events).toContainEqual({ type: 'log', step: 'rollout-status', message: 'deployment "mlops-fraud-green" successfully rolled out' });
  });

  it('on a rollout timeout deletes the new color, never touches the service, and names the step (exit 1)', async () => {
    const plan = planRollout(input, 'blue', await loadK8sTemplates());
    const runner = new RecordingRunner().on(['rollout'], {
      exitCode: 1,
      stdout: fixture('rollout-status-timeout.stdout.txt'),
      stderr: fixture('rollout-status-timeout.stderr.txt'),
    });
    const error = (await applyRollout(plan, { runner }).catch((caught: unknown) => caught)) as CheckFailedError;
    expect(error).toBeInstanceOf(CheckFailedError);
    expect(error.exitCode).toBe(ExitCode.checkFailed);
    expect(error.message).toBe(
      'deploy of fraud 3 to mlops-fraud-green failed at step "rollout-status" (wait for mlops-fraud-green to roll out within 120s): error: timed out waiting for the condition; mlops-fraud-green was removed',
    );
    expect(error.hint).toMatch(/traffic still goes to blue/);
    expect(runner.commands.map((argv) => argv.slice(1, 3))).toEqual([
      ['apply', '-f'],
      ['rollout', 'status'],
      ['delete', 'deployment/mlops-fraud-green'],
    ]);
  });

  it('fails the smoke check when a pod is not Ready, and says so when cleaning up fails too', async () => {
    const plan = planRollout(input, undefined, await loadK8sTemplates());
    const runner = new RecordingRunner()
      .on(['get', 'deployment'], { stdout: readyDeployment('blue') })
      .on(['get', 'pods'], { stdout: fixture('pods-not-ready.json') })
      .on(['delete'], { exitCode: 1, stderr: fixture('connection-refused.stderr.txt') });
    const error = (await applyRollout(plan, { runner }).catch((caught: unknown) => caught)) as CheckFailedError;
    expect(error.message).toMatch(/failed at step "check-pods" .*: 0 of 2 pods Ready; not Ready: mlops-fraud-green-\w+-xxxx0, mlops-fraud-green-\w+-xxxx1; mlops-fraud-blue was removed; cleaning up also failed \(The connection to the server 127\.0\.0\.1:1 was refused/);
    expect(error.message).toContain('run /opt/bin/kubectl delete deployment/mlops-fraud-blue --namespace ml --ignore-not-found --wait=false');
    expect(error.hint).toMatch(/nothing was serving yet/);
    expect(runner.commands.some((argv) => argv[1] === 'apply' && runner.calls[runner.commands.indexOf(argv)]?.options.input?.includes('kind: Service'))).toBe(false);
  });

  it('turns a failure after the switch into a warning: the new version serves', async () => {
    const plan = planRollout(input, 'green', await loadK8sTemplates());
    const runner = new RecordingRunner()
      .on(['get', 'deployment'], { stdout: readyDeployment('blue') })
      .on(['get', 'pods'], { stdout: readyPods() })
      .on(['patch', 'deployment'], { exitCode: 1, stderr: 'Error from server (NotFound): deployments.apps "mlops-fraud-green" not found\n' });
    const result = await applyRollout(plan, { runner });
    expect(result.color).toBe('blue');
    expect(result.oldColor).toBe('kept');
    expect(result.warnings).toEqual([
      'scale mlops-fraud-green to 0 (kept for mlops rollback --deploy) failed: Error from server (NotFound): deployments.apps "mlops-fraud-green" not found',
    ]);
  });

  it('waits out --keep-old, then deletes the old color unless the service moved back', async () => {
    const plan = planRollout({ ...input, keepOld: '10m' }, 'blue', await loadK8sTemplates());
    const slept: number[] = [];
    const runner = new RecordingRunner()
      .on(['get', 'deployment'], { stdout: readyDeployment('green') })
      .on(['get', 'pods'], { stdout: readyPods() })
      .on(['get', 'service'], { stdout: fixture('service.json') });
    const result = await applyRollout(plan, { runner, sleep: async (ms) => void slept.push(ms) });
    expect(slept).toEqual([600_000]);
    // service.json selects blue: someone rolled back while we waited, so blue stays.
    expect(result.oldColor).toBe('kept');
    expect(result.warnings[0]).toMatch(/now selects blue; left mlops-fraud-blue in place/);
    expect(runner.commands.some((argv) => argv[1] === 'delete')).toBe(false);
  });
});

describe('rollback through a recording runner', () => {
  it('scales the previous color back up, waits, checks, patches the selector, scales the bad one down', async () => {
    const previous = JSON.parse(readyDeployment('blue', 'registry.example.com/fraud:2', 0)) as { spec: { replicas: number } };
    const runner = new RecordingRunner()
      .on(['get', 'namespace'], { stdout: '{}' })
      .on(['get', 'service'], { stdout: fixture('service.json').replace('"color": "blue"', '"color": "green"') })
      .on(['get', 'deployment', 'mlops-fraud-blue'], { stdout: JSON.stringify(previous) }, 1)
      .on(['get', 'deployment', 'mlops-fraud-green'], { stdout: readyDeployment('green', input.image, 3) })
      .on(['get', 'deployment', 'mlops-fraud-blue'], { stdout: readyDeployment('blue', 'registry.example.com/fraud:2', 3) })
      .on(['get', 'pods'], { stdout: readyPods('registry.example.com/fraud:2', 3) });
    const result = await rollbackRollout(runner, { model: 'fraud', namespace: 'ml', kubectl: 'kubectl', context: 'prod-eu' });
    const scope = ['--namespace', 'ml', '--context', 'prod-eu'];
    // The deploy lock is taken first and released last.
    expect(runner.commands[1]).toEqual(['kubectl', 'create', '-f', '-', ...scope]);
    expect(runner.commands.at(-1)).toEqual(['kubectl', 'delete', 'lease', 'mlops-fraud-deploy', ...scope, '--ignore-not-found', '--wait=false']);
    expect(runner.commands.slice(5, -1)).toEqual([
      ['kubectl', 'scale', 'deployment/mlops-fraud-blue', '--replicas=3', ...scope],
      ['kubectl', 'rollout', 'status', 'deployment/mlops-fraud-blue', ...scope, '--timeout=300s'],
      ['kubectl', 'get', 'deployment', 'mlops-fraud-blue', ...scope, '-o', 'json'],
      ['kubectl', 'get', 'pods', '--selector', 'app=mlops-fraud,color=blue', ...scope, '-o', 'json'],
      ['kubectl', 'patch', 'service', 'mlops-fraud', ...scope, '--type', 'merge', '-p', '{"spec":{"selector":{"color":"blue"}}}'],
      ['kubectl', 'scale', 'deployment/mlops-fraud-green', '--replicas=0', ...scope],
    ]);
    expect(result).toMatchObject({ color: 'blue', previousColor: 'green', replicas: 3, image: 'registry.example.com/fraud:2', version: '2', oldColor: 'scaled-to-zero' });
  });

  it('says there is nothing to roll back to when the other color was deleted (exit 3)', async () => {
    const runner = new RecordingRunner()
      .on(['get', 'namespace'], { stdout: '{}' })
      .on(['get', 'service'], { stdout: fixture('service.json') })
      .on(['get', 'deployment'], { exitCode: 1, stderr: 'Error from server (NotFound): deployments.apps "mlops-fraud-green" not found\n' });
    const error = (await rollbackRollout(runner, { model: 'fraud', namespace: 'ml', kubectl: 'kubectl' }).catch((caught: unknown) => caught)) as NotFoundError;
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.exitCode).toBe(ExitCode.notFound);
    expect(error.message).toBe('deployment mlops-fraud-green no longer exists, so there is no previous version to switch back to');
  });
});
