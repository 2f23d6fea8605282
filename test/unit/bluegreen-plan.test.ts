// Pure blue-green planning: colors alternate, every step's argv and manifest is in the
// plan, the live color is never touched before the switch, and bad input is a UsageError.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ExitCode, UsageError } from '../../src/errors.ts';
import { defaultApp, formatPlan, planRollback, planRollout, renderManifests, type Color, type RolloutInput } from '../../src/deploy/bluegreen-plan.ts';
import { deploymentProblem, podsProblem } from '../../src/deploy/bluegreen-health.ts';
import { parseDuration } from '../../src/durations.ts';
import { K8S_TEMPLATE_DIR, loadK8sTemplates, renderTemplate, type K8sTemplates } from '../../src/deploy/manifests.ts';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/kubectl/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;

const input: RolloutInput = {
  model: 'fraud',
  version: '3',
  image: 'registry.example.com/fraud:3',
  namespace: 'ml',
  replicas: 2,
  timeout: '300s',
  kubectl: 'kubectl',
  env: { KUBECONFIG: '/secret/place/kubeconfig' },
};

let templates: K8sTemplates;
beforeAll(async () => {
  templates = await loadK8sTemplates();
});

type Manifest = {
  metadata: { name: string; namespace: string; labels: Record<string, string>; annotations?: Record<string, string> };
  spec: Record<string, any>;
};

describe('planRollout', () => {
  it('alternates colors: first deploy blue, then green, then blue', () => {
    let live: Color | undefined;
    const colors: Color[] = [];
    for (const version of ['1', '2', '3']) {
      const plan = planRollout({ ...input, version }, live, templates);
      colors.push(plan.color);
      live = plan.color;
    }
    expect(colors).toEqual(['blue', 'green', 'blue']);
  });

  it('plans a first deploy: no old color to scale, the service is created', () => {
    const plan = planRollout(input, undefined, templates);
    expect(plan).toMatchObject({ color: 'blue', firstDeploy: true, deployment: 'mlops-fraud-blue', service: 'mlops-fraud', oldColor: 'none' });
    expect(plan.previousColor).toBeUndefined();
    expect(plan.steps.map((step) => step.id)).toEqual(['apply-deployment', 'rollout-status', 'check-deployment', 'check-pods', 'switch-service']);
    expect(plan.steps[4]?.title).toBe('create service mlops-fraud selecting blue');
    expect(plan.cleanup?.args).toEqual(['delete', 'deployment/mlops-fraud-blue', '--namespace', 'ml', '--ignore-not-found', '--wait=false']);
  });

  it('plans the exact argv of a second deploy, with the manifests on stdin', () => {
    const plan = planRollout({ ...input, context: 'prod' }, 'blue', templates);
    const scope = ['--namespace', 'ml', '--context', 'prod'];
    expect(plan.steps.map((step) => [step.id, step.command?.args])).toEqual([
      ['apply-deployment', ['apply', '-f', '-', ...scope]],
      ['rollout-status', ['rollout', 'status', 'deployment/mlops-fraud-green', ...scope, '--timeout=300s']],
      ['check-deployment', ['get', 'deployment', 'mlops-fraud-green', ...scope, '-o', 'json']],
      ['check-pods', ['get', 'pods', '--selector', 'app=mlops-fraud,color=green', ...scope, '-o', 'json']],
      ['switch-service', ['apply', '-f', '-', ...scope]],
      ['mark-scale-down', ['patch', 'deployment', 'mlops-fraud-blue', ...scope, '--type', 'merge', '-p', '{"metadata":{"annotations":{"mlops.dev/scale-down-at":"+30s"}}}']],
      ['scale-down-delay', undefined],
      ['scale-old', ['patch', 'deployment', 'mlops-fraud-blue', ...scope, '--type', 'merge', '-p', '{"metadata":{"annotations":{"mlops.dev/scale-down-at":null}},"spec":{"replicas":0}}']],
    ]);
    expect(plan.steps[5 + 1]?.waitMs).toBe(30_000);
    // The Deployment goes with its PodDisruptionBudget in one apply.
    expect(plan.steps[0]?.command?.input).toBe(`${plan.manifests.deployment.trimEnd()}\n---\n${plan.manifests.podDisruptionBudget.trimEnd()}\n`);
    expect(plan.steps[4]?.command?.input).toBe(plan.manifests.service);
    expect((parse(plan.manifests.service) as Manifest).spec.selector).toEqual({ app: 'mlops-fraud', color: 'green' });
  });

  it('never names the live color before the switch', () => {
    const plan = planRollout(input, 'green', templates);
    const switchAt = plan.steps.findIndex((step) => step.id === 'switch-service');
    for (const step of plan.steps.slice(0, switchAt)) {
      expect(JSON.stringify(step.command)).not.toContain('mlops-fraud-green');
    }
    expect(JSON.stringify(plan.cleanup)).not.toContain('green');
  });

  it('keeps the environment (KUBECONFIG, tokens) out of the plan', () => {
    expect(JSON.stringify(planRollout(input, 'blue', templates))).not.toContain('/secret/place');
  });

  it('deletes the old color with --keep-old 0, and waits first with a longer --keep-old', () => {
    const now = planRollout({ ...input, keepOld: '0' }, 'blue', templates);
    expect(now.oldColor).toBe('delete');
    expect(now.steps.slice(5).map((step) => [step.id, step.command?.args.slice(0, 2)])).toEqual([['delete-old', ['delete', 'deployment/mlops-fraud-blue']]]);
    const later = planRollout({ ...input, keepOld: '10m' }, 'blue', templates);
    expect(later.oldColor).toBe('delete-after-wait');
    expect(later.steps.slice(5).map((step) => [step.id, step.waitMs])).toEqual([
      ['keep-old', 600_000],
      ['delete-old', undefined],
    ]);
  });

  it('turns a bare number of seconds into a kubectl duration', () => {
    expect(planRollout({ ...input, timeout: '90' }, undefined, templates).steps[1]?.command?.args.at(-1)).toBe('--timeout=90s');
  });

  it.each([
    [{ app: 'Fraud_App' }, /cannot name a Kubernetes Service/],
    [{ app: 'a'.repeat(58) }, /at most 57 characters/],
    [{ namespace: 'ML' }, /not a valid namespace/],
    [{ version: 'v 3' }, /version "v 3" cannot be a Kubernetes label value/],
    [{ model: 'x'.repeat(64) }, /model name/],
    [{ replicas: 0 }, /--replicas must be a whole number of at least 1/],
    [{ replicas: 1.5 }, /--replicas/],
    [{ timeout: 'soon' }, /--timeout "soon" is not a duration/],
    [{ timeout: '0s' }, /--timeout/],
    [{ keepOld: 'forever' }, /--keep-old "forever"/],
    [{ image: 'has space:1' }, /not an image reference/],
    [{ port: 70000 }, /not a TCP port/],
  ] as Array<[Partial<RolloutInput>, RegExp]>)('rejects %j with a usage error', (change, message) => {
    let error: unknown;
    try {
      planRollout({ ...input, ...change }, undefined, templates);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(ExitCode.usage);
    expect(`${(error as UsageError).message} (${(error as UsageError).hint ?? ''})`).toMatch(message);
    expect((error as UsageError).hint).toBeTruthy();
  });

  it('prints a dry run with every command and both manifests', () => {
    const text = formatPlan(planRollout({ ...input, sha256: 'f'.repeat(64) }, 'blue', templates));
    expect(text).toContain('deploy fraud 3 to ml as mlops-fraud-green');
    expect(text).toContain('note: blue is live; fraud 3 goes to green');
    expect(text).toContain('1. apply deployment mlops-fraud-green (registry.example.com/fraud:3, 2 replicas)');
    expect(text).toContain('kubectl rollout status deployment/mlops-fraud-green --namespace ml --timeout=300s');
    expect(text).toContain('8. scale mlops-fraud-blue to 0 (kept for mlops rollback --deploy)');
    expect(text).toContain('if a step before the switch fails: kubectl delete deployment/mlops-fraud-green');
    expect(text).toContain('--- deployment manifest ---');
    expect(text).toContain(`mlops.dev/sha256: ${'f'.repeat(64)}`);
  });
});

/**
 * The Pod Security Standards "restricted" profile (v1.32), as the fields it checks:
 * https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function restrictedViolations(pod: any): string[] {
  const problems: string[] = [];
  const podContext = pod.securityContext ?? {};
  if (podContext.runAsNonRoot !== true) problems.push('pod runAsNonRoot is not true');
  if (podContext.runAsUser === 0) problems.push('pod runs as user 0');
  if (pod.hostNetwork || pod.hostPID || pod.hostIPC) problems.push('pod uses host namespaces');
  for (const volume of pod.volumes ?? []) {
    const allowed = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];
    if (!Object.keys(volume).filter((key) => key !== 'name').every((key) => allowed.includes(key))) problems.push(`volume ${volume.name} has a restricted type`);
  }
  for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
    const context = container.securityContext ?? {};
    const seccomp = context.seccompProfile?.type ?? podContext.seccompProfile?.type;
    if (context.privileged) problems.push(`container ${container.name} is privileged`);
    if (context.allowPrivilegeEscalation !== false) problems.push(`container ${container.name} allows privilege escalation`);
    if (!(context.capabilities?.drop ?? []).includes('ALL')) problems.push(`container ${container.name} does not drop ALL capabilities`);
    if ((context.capabilities?.add ?? []).some((cap: string) => cap !== 'NET_BIND_SERVICE')) problems.push(`container ${container.name} adds capabilities`);
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') problems.push(`container ${container.name} has no seccomp profile`);
    if (context.runAsNonRoot === false || context.runAsUser === 0) problems.push(`container ${container.name} may run as root`);
    if ((container.ports ?? []).some((port: { hostPort?: number }) => port.hostPort)) problems.push(`container ${container.name} uses a host port`);
  }
  return problems;
}

describe('manifests', () => {
  it('renders the Deployment the issue asks for', async () => {
    const { deployment } = await renderManifests({ ...input, sha256: 'abc123' }, 'green');
    const manifest = parse(deployment) as Manifest;
    expect(manifest.metadata).toEqual({
      name: 'mlops-fraud-green',
      namespace: 'ml',
      labels: {
        app: 'mlops-fraud',
        color: 'green',
        model: 'fraud',
        version: '3',
        'app.kubernetes.io/name': 'fraud',
        'app.kubernetes.io/instance': 'mlops-fraud-green',
        'app.kubernetes.io/version': '3',
        'app.kubernetes.io/component': 'model-server',
        'app.kubernetes.io/part-of': 'mlops-fraud',
        'app.kubernetes.io/managed-by': 'mlops',
      },
      annotations: { 'mlops.dev/sha256': 'abc123' },
    });
    const spec = manifest.spec;
    expect(spec.replicas).toBe(2);
    expect(spec.selector).toEqual({ matchLabels: { app: 'mlops-fraud', color: 'green' } });
    expect(spec.template.metadata.labels).toEqual({
      app: 'mlops-fraud',
      color: 'green',
      model: 'fraud',
      version: '3',
      'app.kubernetes.io/name': 'fraud',
      'app.kubernetes.io/instance': 'mlops-fraud-green',
      'app.kubernetes.io/version': '3',
      'app.kubernetes.io/managed-by': 'mlops',
    });
    expect(spec.template.metadata.annotations).toEqual({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '8000', 'prometheus.io/path': '/metrics' });
    const pod = spec.template.spec;
    expect(pod.terminationGracePeriodSeconds).toBe(30);
    const container = pod.containers[0];
    expect(container.image).toBe('registry.example.com/fraud:3');
    expect(container.ports).toEqual([{ name: 'http', containerPort: 8000 }]);
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container.lifecycle.preStop.exec.command).toEqual(['node', '-e', 'setTimeout(() => {}, 5000)']);
    expect(container.startupProbe).toEqual({ httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 5, failureThreshold: 60 });
    // Guaranteed QoS, and serve's workers follow the CPU limit (passed as --workers).
    expect(container.resources).toEqual({ requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } });
    expect(container.command).toEqual(['node', '/app/bin/mlops', 'serve', 'fraud@3', '--registry', '/app/registry', '--host', '0.0.0.0', '--port', '8000', '--no-watch', '--workers', '1']);
    expect(deployment.startsWith('# Rendered by mlops from templates/k8s/deployment.yaml.')).toBe(true);
    expect(deployment).not.toContain('${');
  });

  it('passes a Pod Security "restricted" check (every field the profile requires)', async () => {
    const pod = (parse((await renderManifests({ ...input, cpu: '2500m', memory: '2Gi' }, 'blue')).deployment) as Manifest).spec.template.spec;
    expect(restrictedViolations(pod)).toEqual([]);
    expect(pod.containers[0].securityContext.readOnlyRootFilesystem).toBe(true);
    expect(pod.containers[0].volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
    expect(pod.containers[0].command.slice(-2)).toEqual(['--workers', '2']);
    expect(pod.containers[0].resources.limits).toEqual({ cpu: '2500m', memory: '2Gi' });
    // The checker itself catches a missing field.
    const weakened = JSON.parse(JSON.stringify(pod)) as typeof pod;
    delete weakened.containers[0].securityContext.capabilities;
    weakened.securityContext.runAsNonRoot = false;
    expect(restrictedViolations(weakened)).toEqual(['pod runAsNonRoot is not true', 'container model does not drop ALL capabilities']);
  });

  it('renders a PodDisruptionBudget per color, and an HPA only with --hpa', async () => {
    const plain = await renderManifests(input, 'green');
    expect(plain.hpa).toBeUndefined();
    const pdb = parse(plain.podDisruptionBudget) as Manifest;
    expect((pdb as unknown as { kind: string }).kind).toBe('PodDisruptionBudget');
    expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: { app: 'mlops-fraud', color: 'green' } } });
    const withHpa = await renderManifests({ ...input, hpa: { min: 2, max: 10 } }, 'green');
    const hpa = parse(withHpa.hpa ?? '') as Manifest;
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'mlops-fraud-green' });
    expect([hpa.spec.minReplicas, hpa.spec.maxReplicas]).toEqual([2, 10]);
  });

  it('starts the new color at the live count unless --replicas says otherwise, within --hpa', () => {
    const { replicas: _omit, ...noReplicas } = input;
    expect(planRollout(noReplicas, 'blue', templates, { liveReplicas: 8 }).replicas).toBe(8);
    expect(planRollout(noReplicas, undefined, templates).replicas).toBe(3);
    expect(planRollout({ ...noReplicas, replicas: 4 }, 'blue', templates, { liveReplicas: 8 }).replicas).toBe(4);
    expect(planRollout({ ...noReplicas, hpa: { min: 2, max: 5 } }, 'blue', templates, { liveReplicas: 8 }).replicas).toBe(5);
  });

  it("uses a team's own templates (--templates DIR), the missing ones from mlops, and refuses a missing folder", async () => {
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'mlops-templates-'));
    try {
      await writeFile(join(dir, 'service.yaml'), 'apiVersion: v1\nkind: Service\nmetadata:\n  name: ${app}\n  labels:\n    team: risk\nspec:\n  selector:\n    app: ${app}\n    color: ${color}\n  ports:\n    - port: 8080\n');
      const own = await loadK8sTemplates(dir);
      const rendered = await renderManifests(input, 'blue', own);
      expect((parse(rendered.service) as Manifest).metadata.labels).toEqual({ team: 'risk' });
      expect(rendered.deployment).toBe((await renderManifests(input, 'blue')).deployment);
      await expect(loadK8sTemplates(join(dir, 'absent'))).rejects.toThrow(/is not a folder/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('renders the Service selecting {app, color}', async () => {
    const manifest = parse((await renderManifests(input, 'blue')).service) as Manifest;
    expect(manifest.metadata.name).toBe('mlops-fraud');
    expect(manifest.spec).toEqual({ type: 'ClusterIP', selector: { app: 'mlops-fraud', color: 'blue' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] });
  });

  it('drops the sha256 annotation (and the empty map) when the digest is unknown', async () => {
    const manifest = parse((await renderManifests(input, 'blue')).deployment) as Manifest;
    expect(manifest.metadata.annotations).toBeUndefined();
  });

  it('keeps values that look like other YAML types as strings', async () => {
    for (const version of ['3', '1.10', 'true', 'null', '0x1F', 'yes']) {
      const manifest = parse((await renderManifests({ ...input, version }, 'blue')).deployment) as Manifest;
      expect(manifest.metadata.labels.version).toBe(version);
    }
  });

  it('cannot be broken out of by a value: newlines, colons, quotes and comments stay inside it', () => {
    const hostile = 'x"\n  injected: true\n# comment: y\'';
    // In flow collections `{` is syntax, so a placeholder there is quoted.
    const rendered = renderTemplate('a: ${v}\nb: "${v}"\nc: pre-${v}-post\nlist: ["${v}"]\n', { v: hostile }, 'test.yaml');
    expect(parse(rendered)).toEqual({ a: hostile, b: hostile, c: `pre-${hostile}-post`, list: [hostile] });
  });

  it('names an unknown placeholder and a missing value used inside text', () => {
    expect(() => renderTemplate('a: ${nope}\n', { v: 'x' }, 'test.yaml')).toThrow('template test.yaml uses the unknown placeholder ${nope}');
    expect(() => renderTemplate('a: x-${v}\n', { v: undefined }, 'test.yaml')).toThrow(/needs a value for \$\{v\} inside text/);
  });

  it('finds the templates relative to the package (src/deploy -> templates/k8s)', () => {
    expect(K8S_TEMPLATE_DIR.replace(/\/$/, '').endsWith('/templates/k8s')).toBe(true);
  });
});

describe('helpers', () => {
  it('derives a valid app name from any model name', () => {
    expect(defaultApp('fraud')).toBe('mlops-fraud');
    expect(defaultApp('Fraud_Detector.v2')).toBe('mlops-fraud-detector-v2');
    expect(defaultApp('x'.repeat(80))).toHaveLength(57);
  });

  it('parses Go durations the way kubectl writes them', () => {
    expect(parseDuration('300s')).toBe(300_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('1.5s')).toBe(1_500);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('45')).toBe(45_000);
    expect(parseDuration('0')).toBe(0);
    expect(parseDuration('5 minutes')).toBeUndefined();
    expect(parseDuration('')).toBeUndefined();
  });

  it('judges readiness from real kubectl JSON, including omitted zero counters', () => {
    const expected = { replicas: 2, image: 'reg/mlops-fraud:1' };
    expect(deploymentProblem(fixture('deployment-ready.json'), expected)).toBeUndefined();
    expect(deploymentProblem(fixture('deployment-not-ready.json'), expected)).toBe('0 of 2 replicas ready (2 updated, 0 available)');
    expect(deploymentProblem(fixture('deployment-ready.json'), { ...expected, image: 'reg/other:2' })).toMatch(/runs image reg\/mlops-fraud:1, not reg\/other:2/);
    expect(deploymentProblem(fixture('deployment-ready.json'), { ...expected, replicas: 3 })).toMatch(/2 of 3 replicas ready/);
    expect(podsProblem(fixture('pods-ready.json'), expected)).toBeUndefined();
    expect(podsProblem(fixture('pods-not-ready.json'), expected)).toMatch(/^0 of 2 pods Ready; not Ready: /);
    expect(podsProblem({ items: [] }, expected)).toBe('0 Ready pods, expected 2');
  });
});

describe('planRollback', () => {
  const previous = fixture('deployment-ready.json');
  it('scales a scaled-down color back to what the live color runs, then patches only the color', () => {
    const scaledDown = { ...previous, spec: { ...(previous.spec as object), replicas: 0 } };
    const live = { spec: { replicas: 4 } };
    const plan = planRollback({ model: 'fraud', namespace: 'ml', kubectl: 'kubectl' }, { app: 'mlops-fraud', liveColor: 'green', previous: scaledDown, live });
    expect(plan).toMatchObject({ color: 'blue', previousColor: 'green', replicas: 4, image: 'reg/mlops-fraud:1', deployment: 'mlops-fraud-blue' });
    expect(plan.steps.map((step) => step.id)).toEqual(['scale-previous', 'rollout-status', 'check-deployment', 'check-pods', 'switch-service', 'scale-old']);
    expect(plan.steps[4]?.command?.args.slice(-2)).toEqual(['-p', '{"spec":{"selector":{"color":"blue"}}}']);
    expect(plan.cleanup?.args).toEqual(['scale', 'deployment/mlops-fraud-blue', '--replicas=0', '--namespace', 'ml']);
  });

  it('skips the scale-up when the previous color still runs', () => {
    const plan = planRollback({ model: 'fraud', namespace: 'ml', kubectl: 'kubectl', replicas: 2 }, { app: 'mlops-fraud', liveColor: 'green', previous });
    expect(plan.steps[0]?.id).toBe('rollout-status');
    expect(plan.cleanup).toBeUndefined();
    expect(plan.steps.some((step) => step.id === 'scale-old')).toBe(false);
  });
});
