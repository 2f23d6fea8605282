// Blue-green rollout of a model on Kubernetes: read the live color from the Service, plan
// every kubectl call (pure), then apply the plan. Nothing touches the live color before
// the Service switch, and a failure before the switch removes the new color again.
import { setTimeout as delay } from 'node:timers/promises';
import { CheckFailedError, ConflictError, InterruptedError, NotFoundError, ToolFailedError, ToolMissingError, UsageError, messageOf } from '../errors.js';
import type { Runner } from '../tools/runner.js';
import { Kubectl, formatCommand, kubectlCommands, kubectlMessage, type KubectlCommand, type KubectlTarget } from '../tools/kubectl.js';
import { loadK8sTemplates, renderK8sManifests, type K8sTemplates, type RenderedManifests } from './manifests.js';
import { parseDuration } from '../durations.js';

export { parseDuration };

export type Color = 'blue' | 'green';

export function otherColor(color: Color): Color {
  return color === 'blue' ? 'green' : 'blue';
}

export interface RolloutInput {
  model: string;
  version: string;
  /** The pushed image reference, ideally by digest. */
  image: string;
  namespace: string;
  context?: string;
  replicas: number;
  /** How long `kubectl rollout status` may wait, as a Go duration: '300s', '5m'. */
  timeout: string;
  /**
   * What happens to the old color after the switch. Unset: scaled to 0 and kept, so
   * `mlops rollback --deploy` can scale it back. '0': deleted. A longer duration: left
   * running that long (rollback is instant), then deleted; the deploy waits for it.
   */
  keepOld?: string;
  /** Service name and `app` label; default `mlops-<model>`. */
  app?: string;
  sha256?: string;
  /** Port `mlops serve` listens on inside the image; default 8000. */
  port?: number;
  /** kubectl binary path (MLOPS_KUBECTL or 'kubectl'). */
  kubectl: string;
  /** Environment for kubectl (KUBECONFIG, ...); kept out of the plan so --json never shows it. */
  env?: Record<string, string | undefined>;
}

export type RolloutStepId =
  | 'scale-previous'
  | 'apply-deployment'
  | 'rollout-status'
  | 'check-deployment'
  | 'check-pods'
  | 'switch-service'
  | 'keep-old'
  | 'scale-old'
  | 'delete-old';

export interface RolloutStep {
  id: RolloutStepId;
  title: string;
  /** The exact kubectl call; absent for 'keep-old', which only waits. */
  command?: KubectlCommand;
  waitMs?: number;
}

interface StepPlan {
  /** kubectl binary, namespace and context (never the environment). */
  target: Omit<KubectlTarget, 'env'>;
  app: string;
  service: string;
  /** The deployment that will be live after the switch, and what it must run. */
  deployment: string;
  color: Color;
  previousColor?: Color;
  previousDeployment?: string;
  image: string;
  replicas: number;
  timeout: string;
  steps: RolloutStep[];
  /** Undoes the steps before the switch when one of them fails. */
  cleanup?: KubectlCommand;
}

export interface RolloutPlan extends StepPlan {
  kind: 'deploy';
  model: string;
  version: string;
  port: number;
  firstDeploy: boolean;
  /** After the switch: 'scale-to-zero' (kept for rollback), 'delete', or 'delete-after-wait'. */
  oldColor: 'none' | 'scale-to-zero' | 'delete' | 'delete-after-wait';
  keepOld?: string;
  manifests: RenderedManifests;
  notes: string[];
}

export interface RollbackPlan extends StepPlan {
  kind: 'rollback';
  version?: string;
}

export interface RolloutResult {
  app: string;
  namespace: string;
  service: string;
  deployment: string;
  color: Color;
  previousColor?: Color;
  image: string;
  version?: string;
  replicas: number;
  /** What became of the previous color after the switch. */
  oldColor: 'none' | 'scaled-to-zero' | 'deleted' | 'kept';
  /** Problems after the switch: the new version serves, but something needs a look. */
  warnings: string[];
}

export type RolloutEvent =
  | { type: 'step'; step: RolloutStepId; message: string }
  | { type: 'log'; step: RolloutStepId; message: string }
  | { type: 'warning'; step: RolloutStepId; message: string }
  | { type: 'cleanup'; step: RolloutStepId; message: string };

export interface ApplyOptions {
  runner: Runner;
  onEvent?: (event: RolloutEvent) => void;
  /** Environment for kubectl (KUBECONFIG, ...). */
  env?: Record<string, string | undefined>;
  /** How to wait out --keep-old; tests pass a fake clock. */
  sleep?: (ms: number) => Promise<void>;
  /** Ctrl-C / SIGTERM (a cancelled CI job): before the switch the new color is deleted, as on a failure. */
  signal?: AbortSignal;
}

const DEFAULT_PORT = 8000;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SERVICE_NAME = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
/** Leaves room for `-green` within the 63 characters of a label value. */
const MAX_APP_LENGTH = 57;

/** The default app name: `mlops-<model>` made into a valid Service name. */
export function defaultApp(model: string): string {
  return `mlops-${model}`
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .slice(0, MAX_APP_LENGTH)
    .replace(/-+$/, '');
}

function validate(input: RolloutInput): { app: string; port: number; timeout: string; keepOldMs?: number } {
  const app = input.app ?? defaultApp(input.model);
  if (app.length > MAX_APP_LENGTH || !SERVICE_NAME.test(app)) {
    throw new UsageError(`"${app}" cannot name a Kubernetes Service and Deployment`, `pass --app NAME: lowercase letters, digits and '-', starting with a letter, at most ${MAX_APP_LENGTH} characters`);
  }
  if (!DNS_LABEL.test(input.namespace) || input.namespace.length > 63) {
    throw new UsageError(`"${input.namespace}" is not a valid namespace name`, "pass --namespace NAME: lowercase letters, digits and '-'");
  }
  for (const [what, value] of [
    ['model name', input.model],
    ['version', input.version],
  ] as const) {
    if (!value || value.length > 63 || !LABEL_VALUE.test(value)) {
      throw new UsageError(`the ${what} "${value}" cannot be a Kubernetes label value`, "labels allow at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit");
    }
  }
  if (!input.image || /\s/.test(input.image)) throw new UsageError(`"${input.image}" is not an image reference`, 'pass an image such as registry.example.com/fraud:3');
  if (!Number.isInteger(input.replicas) || input.replicas < 1) {
    throw new UsageError(`--replicas must be a whole number of at least 1, not ${String(input.replicas)}`, 'pass --replicas 2, for example');
  }
  const port = input.port ?? DEFAULT_PORT;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`port ${String(port)} is not a TCP port`, 'use a number from 1 to 65535');
  const timeoutMs = parseDuration(input.timeout);
  if (timeoutMs === undefined || timeoutMs <= 0) {
    throw new UsageError(`--timeout "${input.timeout}" is not a duration`, "write it like kubectl does: '300s', '5m' or '1h'");
  }
  const timeout = /^\d+$/.test(input.timeout.trim()) ? `${input.timeout.trim()}s` : input.timeout.trim();
  let keepOldMs: number | undefined;
  if (input.keepOld !== undefined) {
    keepOldMs = parseDuration(input.keepOld);
    if (keepOldMs === undefined) throw new UsageError(`--keep-old "${input.keepOld}" is not a duration`, "write '0' to delete the old color at once, or a duration like '10m'");
  }
  return { app, port, timeout, keepOldMs };
}

function targetOf(input: { kubectl: string; namespace: string; context?: string }): Omit<KubectlTarget, 'env'> {
  return input.context ? { kubectl: input.kubectl, namespace: input.namespace, context: input.context } : { kubectl: input.kubectl, namespace: input.namespace };
}

/** The manifests of one color, rendered from templates/k8s/ (for `--output DIR`). */
export async function renderManifests(input: RolloutInput, color: Color, templates?: K8sTemplates): Promise<RenderedManifests> {
  const { app, port } = validate(input);
  return renderK8sManifests(
    { app, color, model: input.model, version: input.version, image: input.image, replicas: input.replicas, port, namespace: input.namespace, sha256: input.sha256 },
    templates ?? (await loadK8sTemplates()),
  );
}

function colorOfService(service: Record<string, unknown>, app: string, namespace: string): Color {
  const spec = service.spec as { selector?: Record<string, string> } | undefined;
  const color = spec?.selector?.color;
  if (color === 'blue' || color === 'green') return color;
  throw new ConflictError(
    `service "${app}" in namespace "${namespace}" exists but was not made by mlops (its selector has no color blue or green)`,
    'pass --app NAME to deploy under another name, or remove that service',
  );
}

/**
 * The live color: what the Service selects, or undefined on a first deploy (no Service).
 * Checks context, cluster and namespace first, so those problems end as exit 4.
 */
export async function readLiveColor(runner: Runner, input: Pick<RolloutInput, 'model' | 'app' | 'namespace' | 'context' | 'kubectl' | 'env'>): Promise<Color | undefined> {
  const app = input.app ?? defaultApp(input.model);
  const kubectl = new Kubectl(runner, { ...targetOf(input), env: input.env });
  await kubectl.preflight();
  const service = await kubectl.readJson(kubectlCommands.getService(kubectl.target, app));
  return service ? colorOfService(service, app, input.namespace) : undefined;
}

/** For --dry-run: the live color if the cluster answers, else a first deploy and a note why. */
export async function readLiveColorForPlan(
  runner: Runner,
  input: Pick<RolloutInput, 'model' | 'app' | 'namespace' | 'context' | 'kubectl' | 'env'>,
): Promise<{ liveColor?: Color; note?: string }> {
  try {
    return { liveColor: await readLiveColor(runner, input) };
  } catch (error) {
    if (error instanceof ToolMissingError || error instanceof ToolFailedError) {
      return { note: `could not read the live color (${error.message}); planned as a first deploy` };
    }
    throw error;
  }
}

/** Pure: every kubectl call of a deploy, in order, with the manifests they apply. */
export function planRollout(input: RolloutInput, liveColor: Color | undefined, templates: K8sTemplates): RolloutPlan {
  const { app, port, timeout, keepOldMs } = validate(input);
  const target = targetOf(input);
  const color: Color = liveColor ? otherColor(liveColor) : 'blue';
  const deployment = `${app}-${color}`;
  const previousDeployment = liveColor ? `${app}-${liveColor}` : undefined;
  const manifests = renderK8sManifests(
    { app, color, model: input.model, version: input.version, image: input.image, replicas: input.replicas, port, namespace: input.namespace, sha256: input.sha256 },
    templates,
  );
  const steps: RolloutStep[] = [
    { id: 'apply-deployment', title: `apply deployment ${deployment} (${input.image}, ${input.replicas} replicas)`, command: kubectlCommands.apply(target, manifests.deployment) },
    { id: 'rollout-status', title: `wait for ${deployment} to roll out within ${timeout}`, command: kubectlCommands.rolloutStatus(target, deployment, timeout) },
    { id: 'check-deployment', title: `check ${deployment} reports ${input.replicas} of ${input.replicas} replicas ready`, command: kubectlCommands.getDeployment(target, deployment) },
    { id: 'check-pods', title: `check every pod of ${deployment} is Ready`, command: kubectlCommands.getPods(target, { app, color }) },
    {
      id: 'switch-service',
      title: liveColor ? `switch service ${app} from ${liveColor} to ${color}` : `create service ${app} selecting ${color}`,
      command: kubectlCommands.apply(target, manifests.service),
    },
  ];
  let oldColor: RolloutPlan['oldColor'] = 'none';
  if (previousDeployment) {
    if (keepOldMs === undefined) {
      oldColor = 'scale-to-zero';
      steps.push({ id: 'scale-old', title: `scale ${previousDeployment} to 0 (kept for mlops rollback --deploy)`, command: kubectlCommands.scale(target, previousDeployment, 0) });
    } else {
      if (keepOldMs > 0) {
        oldColor = 'delete-after-wait';
        steps.push({ id: 'keep-old', title: `keep ${previousDeployment} running for ${input.keepOld ?? ''} for an instant rollback`, waitMs: keepOldMs });
      } else oldColor = 'delete';
      steps.push({ id: 'delete-old', title: `delete ${previousDeployment}`, command: kubectlCommands.deleteDeployment(target, previousDeployment) });
    }
  }
  const notes = liveColor
    ? [`${liveColor} is live; ${input.model} ${input.version} goes to ${color} and the service switches once it is ready`]
    : [`no service ${app} in namespace ${input.namespace} yet: first deploy, to ${color}`];
  return {
    kind: 'deploy',
    target,
    app,
    service: app,
    deployment,
    color,
    ...(liveColor ? { previousColor: liveColor, previousDeployment } : {}),
    image: input.image,
    replicas: input.replicas,
    timeout,
    steps,
    cleanup: kubectlCommands.deleteDeployment(target, deployment),
    model: input.model,
    version: input.version,
    port,
    firstDeploy: liveColor === undefined,
    oldColor,
    ...(input.keepOld !== undefined ? { keepOld: input.keepOld } : {}),
    manifests,
    notes,
  };
}

/** A plan as lines a user can read (and copy the commands from), for --dry-run. */
export function formatPlan(plan: RolloutPlan | RollbackPlan): string {
  const header =
    plan.kind === 'deploy'
      ? `deploy ${plan.model} ${plan.version} to ${plan.target.namespace}${plan.target.context ? ` (context ${plan.target.context})` : ''} as ${plan.deployment}`
      : `roll back ${plan.service} in ${plan.target.namespace} from ${plan.previousColor ?? '?'} to ${plan.color}`;
  const lines = [header];
  if (plan.kind === 'deploy') for (const note of plan.notes) lines.push(`  note: ${note}`);
  plan.steps.forEach((step, index) => {
    lines.push(`  ${index + 1}. ${step.title}`);
    if (step.command) lines.push(`     ${formatCommand(step.command)}`);
  });
  if (plan.cleanup) lines.push(`  if a step before the switch fails: ${formatCommand(plan.cleanup)}`);
  if (plan.kind === 'deploy') {
    lines.push('', '--- deployment manifest ---', plan.manifests.deployment.trimEnd(), '', '--- service manifest ---', plan.manifests.service.trimEnd());
  }
  return lines.join('\n');
}

// ---- readiness checks on kubectl's JSON -------------------------------------------------

type Json = Record<string, unknown>;
const obj = (value: unknown): Json => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {});
const num = (value: unknown): number => (typeof value === 'number' ? value : 0);

function modelContainer(podSpec: Json): Json {
  const containers = Array.isArray(podSpec.containers) ? podSpec.containers.map(obj) : [];
  return containers.find((container) => container.name === 'model') ?? containers[0] ?? {};
}

/** Why a deployment is not fully rolled out to `replicas` pods of `image`, or undefined. */
export function deploymentProblem(deployment: Json, expected: { replicas: number; image: string }): string | undefined {
  const metadata = obj(deployment.metadata);
  const spec = obj(deployment.spec);
  const status = obj(deployment.status);
  const image = modelContainer(obj(obj(spec.template).spec)).image;
  if (image !== expected.image) return `it runs image ${String(image)}, not ${expected.image} (changed by someone else?)`;
  if (num(status.observedGeneration) < num(metadata.generation)) return 'the controller has not observed its latest spec yet';
  // Kubernetes leaves zero counters out of the status, hence num() defaulting to 0.
  const ready = num(status.readyReplicas);
  const available = num(status.availableReplicas);
  const updated = num(status.updatedReplicas);
  if (updated < expected.replicas || ready < expected.replicas || available < expected.replicas) {
    return `${ready} of ${expected.replicas} replicas ready (${updated} updated, ${available} available)`;
  }
  return undefined;
}

/** Why the pods (a PodList) are not `replicas` Ready pods of `image`, or undefined. */
export function podsProblem(podList: Json, expected: { replicas: number; image: string }): string | undefined {
  const pods = (Array.isArray(podList.items) ? podList.items.map(obj) : []).filter((pod) => !obj(pod.metadata).deletionTimestamp);
  const isReady = (pod: Json) => (Array.isArray(obj(pod.status).conditions) ? (obj(pod.status).conditions as unknown[]).map(obj) : []).some((c) => c.type === 'Ready' && c.status === 'True');
  const notReady = pods.filter((pod) => !isReady(pod)).map((pod) => String(obj(pod.metadata).name));
  const stale = pods.filter((pod) => modelContainer(obj(pod.spec)).image !== expected.image).map((pod) => String(obj(pod.metadata).name));
  const ready = pods.length - notReady.length;
  if (notReady.length > 0) return `${ready} of ${pods.length} pods Ready; not Ready: ${notReady.slice(0, 5).join(', ')}`;
  if (ready < expected.replicas) return `${ready} Ready pods, expected ${expected.replicas}`;
  if (stale.length > 0) return `pods still run another image: ${stale.slice(0, 5).join(', ')}`;
  return undefined;
}

// ---- applying a plan ------------------------------------------------------------------

class StepFailure extends Error {}

function rolloutTimeoutMs(plan: StepPlan): number {
  // kubectl enforces --timeout itself; the Runner's limit only catches a hung kubectl.
  return (parseDuration(plan.timeout) ?? 300_000) + 60_000;
}

async function runStep(kubectl: Kubectl, plan: StepPlan, step: RolloutStep, emit: (event: RolloutEvent) => void): Promise<void> {
  const command = step.command;
  if (!command) return;
  const expected = { replicas: plan.replicas, image: plan.image };
  if (step.id === 'check-deployment' || step.id === 'check-pods') {
    const value = await kubectl.readJson(command);
    if (!value) throw new StepFailure(`${plan.deployment} no longer exists`);
    const problem = step.id === 'check-deployment' ? deploymentProblem(value, expected) : podsProblem(value, expected);
    if (problem) throw new StepFailure(problem);
    return;
  }
  const result = await kubectl.run(command, {
    timeoutMs: step.id === 'rollout-status' ? rolloutTimeoutMs(plan) : undefined,
    onLine: (line) => emit({ type: 'log', step: step.id, message: line }),
  });
  if (result.exitCode !== 0) throw new StepFailure(kubectlMessage(result.stderr, `kubectl exited with code ${result.exitCode}`));
}

function failureHint(plan: StepPlan, step: RolloutStep): string {
  const traffic = plan.previousColor ? `traffic still goes to ${plan.previousColor}` : 'nothing was serving yet';
  switch (step.id) {
    case 'apply-deployment':
    case 'switch-service':
      return `${traffic}; the cluster refused the manifest: write it out with --output DIR and check it with kubectl apply --dry-run=server -f DIR`;
    case 'rollout-status':
    case 'check-deployment':
    case 'check-pods':
      return `${traffic}; check that the image starts and answers /readyz (docker run -p 8000:8000 ${plan.image}), or raise --timeout`;
    default:
      return traffic;
  }
}

async function executePlan(plan: StepPlan, options: ApplyOptions, describe: string): Promise<{ warnings: string[]; oldColor: RolloutResult['oldColor'] }> {
  const emit = options.onEvent ?? (() => undefined);
  // The --keep-old wait ends early on an interruption (the loop then stops tidying).
  const sleep = options.sleep ?? ((ms: number) => delay(ms, undefined, { signal: options.signal }).catch(() => undefined));
  const kubectl = new Kubectl(options.runner, { ...plan.target, env: options.env, signal: options.signal });
  // The clean-up must run even though the signal already stopped the step's kubectl.
  const cleanupKubectl = new Kubectl(options.runner, { ...plan.target, env: options.env });
  const warnings: string[] = [];
  let oldColor: RolloutResult['oldColor'] = 'none';
  let switched = false;
  for (const step of plan.steps) {
    emit({ type: 'step', step: step.id, message: step.title });
    if (!switched) {
      try {
        await runStep(kubectl, plan, step, emit);
      } catch (error) {
        if (error instanceof ToolMissingError) throw error;
        const reason = messageOf(error);
        const cleanupNote = await cleanUp(cleanupKubectl, plan, step.id, emit);
        if (options.signal?.aborted) {
          throw new InterruptedError(`${describe} interrupted at step "${step.id}"; ${plan.cleanup ? `the new color was removed${cleanupNote}` : 'nothing was changed'}, the service was not switched`);
        }
        throw new CheckFailedError(`${describe} failed at step "${step.id}" (${step.title}): ${reason}${cleanupNote}`, failureHint(plan, step), 'rollout_failed', {
          step: step.id,
          reason,
          color: plan.color,
          liveColor: plan.previousColor ?? null,
        });
      }
      if (step.id === 'switch-service') switched = true;
      continue;
    }
    // After the switch the new version serves: problems with the old color are warnings,
    // and an interruption only cuts the tidying short.
    if (options.signal?.aborted) {
      warnings.push(`interrupted before "${step.title}"; the new version is live`);
      break;
    }
    try {
      if (step.id === 'keep-old') {
        await sleep(step.waitMs ?? 0);
        continue;
      }
      if (step.id === 'delete-old' && plan.steps.some((other) => other.id === 'keep-old')) {
        // Someone may have rolled back while we waited: never delete what is live.
        const service = await kubectl.readJson(kubectlCommands.getService(kubectl.target, plan.service));
        const live = service ? (obj(obj(service.spec).selector).color as string | undefined) : undefined;
        if (live !== plan.color) {
          const message = `service ${plan.service} now selects ${String(live)}; left ${plan.previousDeployment ?? ''} in place`;
          warnings.push(message);
          emit({ type: 'warning', step: step.id, message });
          oldColor = 'kept';
          continue;
        }
      }
      await runStep(kubectl, plan, step, emit);
      if (step.id === 'scale-old') oldColor = 'scaled-to-zero';
      if (step.id === 'delete-old') oldColor = 'deleted';
    } catch (error) {
      if (error instanceof ToolMissingError) throw error;
      const message = `${step.title} failed: ${messageOf(error)}`;
      warnings.push(message);
      emit({ type: 'warning', step: step.id, message });
      oldColor = 'kept';
    }
  }
  return { warnings, oldColor };
}

async function cleanUp(kubectl: Kubectl, plan: StepPlan, failed: RolloutStepId, emit: (event: RolloutEvent) => void): Promise<string> {
  if (!plan.cleanup) return '';
  emit({ type: 'cleanup', step: failed, message: `undoing: ${formatCommand(plan.cleanup)}` });
  try {
    const result = await kubectl.run(plan.cleanup);
    if (result.exitCode === 0) return '';
    return `; cleaning up also failed (${kubectlMessage(result.stderr)}): run ${formatCommand(plan.cleanup)}`;
  } catch (error) {
    return `; cleaning up also failed (${messageOf(error)}): run ${formatCommand(plan.cleanup)}`;
  }
}

/** Runs a deploy plan. Throws CheckFailedError (exit 1) if a step before the switch fails. */
export async function applyRollout(plan: RolloutPlan, options: ApplyOptions): Promise<RolloutResult> {
  const { warnings, oldColor } = await executePlan(plan, options, `deploy of ${plan.model} ${plan.version} to ${plan.deployment}`);
  return {
    app: plan.app,
    namespace: plan.target.namespace,
    service: plan.service,
    deployment: plan.deployment,
    color: plan.color,
    ...(plan.previousColor ? { previousColor: plan.previousColor } : {}),
    image: plan.image,
    version: plan.version,
    replicas: plan.replicas,
    oldColor,
    warnings,
  };
}

// ---- rollback -------------------------------------------------------------------------

export interface RollbackInput {
  model: string;
  app?: string;
  namespace: string;
  context?: string;
  kubectl: string;
  env?: Record<string, string | undefined>;
  /** Replicas for the color coming back; default: what the live color runs. */
  replicas?: number;
  /** Rollout timeout when the previous color must be scaled back up; default '300s'. */
  timeout?: string;
}

/** What the cluster holds, as read by rollbackRollout, for planRollback. */
export interface RollbackState {
  app: string;
  liveColor: Color;
  /** The deployment to switch back to (the other color), as `kubectl get -o json` shows it. */
  previous: Record<string, unknown>;
  /** The live color's deployment, if it still exists. */
  live?: Record<string, unknown>;
}

/** Pure: the kubectl calls that put the previous color back in service. */
export function planRollback(input: RollbackInput, state: RollbackState): RollbackPlan {
  const target = targetOf(input);
  const timeout = (input.timeout ?? '300s').trim();
  if (!parseDuration(timeout)) throw new UsageError(`--timeout "${timeout}" is not a duration`, "write it like kubectl does: '300s', '5m' or '1h'");
  const color = otherColor(state.liveColor);
  const deployment = `${state.app}-${color}`;
  const liveDeployment = `${state.app}-${state.liveColor}`;
  const previousSpec = obj(state.previous.spec);
  const currentReplicas = num(previousSpec.replicas);
  const liveReplicas = state.live ? num(obj(state.live.spec).replicas) : 0;
  const replicas = input.replicas ?? (liveReplicas > 0 ? liveReplicas : Math.max(currentReplicas, 1));
  if (!Number.isInteger(replicas) || replicas < 1) throw new UsageError(`--replicas must be a whole number of at least 1, not ${String(replicas)}`, 'pass --replicas 2, for example');
  const image = String(modelContainer(obj(obj(previousSpec.template).spec)).image ?? '');
  const version = obj(obj(state.previous.metadata).labels).version;
  const steps: RolloutStep[] = [];
  if (currentReplicas !== replicas) {
    steps.push({ id: 'scale-previous', title: `scale ${deployment} to ${replicas} replicas`, command: kubectlCommands.scale(target, deployment, replicas) });
  }
  steps.push(
    { id: 'rollout-status', title: `wait for ${deployment} to roll out within ${timeout}`, command: kubectlCommands.rolloutStatus(target, deployment, timeout) },
    { id: 'check-deployment', title: `check ${deployment} reports ${replicas} of ${replicas} replicas ready`, command: kubectlCommands.getDeployment(target, deployment) },
    { id: 'check-pods', title: `check every pod of ${deployment} is Ready`, command: kubectlCommands.getPods(target, { app: state.app, color }) },
    { id: 'switch-service', title: `switch service ${state.app} from ${state.liveColor} back to ${color}`, command: kubectlCommands.patchServiceSelector(target, state.app, { color }) },
  );
  if (state.live) {
    steps.push({ id: 'scale-old', title: `scale ${liveDeployment} to 0 (kept: rolling back again returns to it)`, command: kubectlCommands.scale(target, liveDeployment, 0) });
  }
  return {
    kind: 'rollback',
    target,
    app: state.app,
    service: state.app,
    deployment,
    color,
    previousColor: state.liveColor,
    ...(state.live ? { previousDeployment: liveDeployment } : {}),
    image,
    replicas,
    timeout,
    steps,
    // A failed rollback leaves the previous color as it was found.
    ...(currentReplicas !== replicas ? { cleanup: kubectlCommands.scale(target, deployment, currentReplicas) } : {}),
    ...(typeof version === 'string' ? { version } : {}),
  };
}

/**
 * `mlops rollback NAME --deploy`: points the Service back at the other color, scaling
 * that color back up first if it was scaled to zero. NotFoundError if it was deleted.
 */
export async function rollbackRollout(runner: Runner, input: RollbackInput, options: Omit<ApplyOptions, 'runner' | 'env'> = {}): Promise<RolloutResult> {
  const app = input.app ?? defaultApp(input.model);
  const kubectl = new Kubectl(runner, { ...targetOf(input), env: input.env });
  await kubectl.preflight();
  const service = await kubectl.readJson(kubectlCommands.getService(kubectl.target, app));
  if (!service) {
    throw new NotFoundError(`service ${app} does not exist in namespace ${input.namespace}: nothing was deployed there to roll back`, `deploy first with mlops deploy ${input.model}`);
  }
  const liveColor = colorOfService(service, app, input.namespace);
  const previousName = `${app}-${otherColor(liveColor)}`;
  const previous = await kubectl.readJson(kubectlCommands.getDeployment(kubectl.target, previousName));
  if (!previous) {
    throw new NotFoundError(
      `deployment ${previousName} no longer exists, so there is no previous version to switch back to`,
      `deploy the version you want instead: mlops deploy ${input.model} --version VERSION`,
    );
  }
  const live = await kubectl.readJson(kubectlCommands.getDeployment(kubectl.target, `${app}-${liveColor}`));
  const plan = planRollback(input, { app, liveColor, previous, ...(live ? { live } : {}) });
  const { warnings, oldColor } = await executePlan(plan, { ...options, runner, env: input.env }, `rollback of ${app} to ${plan.color}`);
  return {
    app,
    namespace: input.namespace,
    service: app,
    deployment: plan.deployment,
    color: plan.color,
    previousColor: liveColor,
    image: plan.image,
    ...(plan.version ? { version: plan.version } : {}),
    replicas: plan.replicas,
    oldColor,
    warnings,
  };
}
