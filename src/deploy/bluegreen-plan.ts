// Blue-green rollout, the pure part: the types of a rollout, input validation, and the
// plans of a deploy and a rollback (every kubectl call, in order). No I/O except
// renderManifests, which reads the templates when none are given.
import { UsageError } from '../errors.js';
import { formatCommand, kubectlCommands, type KubectlCommand, type KubectlTarget } from '../tools/kubectl.js';
import { loadK8sTemplates, renderK8sManifests, workersForCpu, type K8sTemplates, type ManifestValues, type RenderedManifests } from './manifests.js';
import { parseDuration } from '../durations.js';
import { modelContainer, num, obj } from './bluegreen-health.js';

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
  /** Pods of the new color; default: what the live color runs (3 on a first deploy). */
  replicas?: number;
  /** `--hpa MIN:MAX`: an autoscaler owns the count; the new color starts within it. */
  hpa?: { min: number; max: number };
  /** CPU and memory limit (= request) of a pod; default '1' and '1Gi'. */
  cpu?: string;
  memory?: string;
  /** How long the old color keeps running after the switch; default '30s'. */
  scaleDownDelay?: string;
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
  | 'finish-scale-down'
  | 'scale-previous'
  | 'apply-deployment'
  | 'rollout-status'
  | 'check-deployment'
  | 'check-pods'
  | 'switch-service'
  | 'keep-old'
  | 'mark-scale-down'
  | 'scale-down-delay'
  | 'scale-old'
  | 'delete-old';

export interface RolloutStep {
  id: RolloutStepId;
  title: string;
  /** The exact kubectl call; absent for 'keep-old', which only waits. */
  command?: KubectlCommand;
  waitMs?: number;
}

export interface StepPlan {
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
  /**
   * Undoes the steps before the switch when one of them fails: the new color back to
   * exactly what it was (a `kubectl replace` of the object as read), or deleted when it
   * did not exist.
   */
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

const DEFAULT_PORT = 8000;
const DEFAULT_REPLICAS = 3;
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

interface Validated {
  app: string;
  port: number;
  timeout: string;
  keepOldMs?: number;
  scaleDownDelayMs: number;
  cpu: string;
  memory: string;
  workers: number;
}

const MEMORY = /^\d+(\.\d+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$/;

function validate(input: RolloutInput): Validated {
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
  if (input.replicas !== undefined && (!Number.isInteger(input.replicas) || input.replicas < 1)) {
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
  const scaleDownDelayMs = parseDuration(input.scaleDownDelay ?? '30s');
  if (scaleDownDelayMs === undefined) throw new UsageError(`--scale-down-delay "${input.scaleDownDelay ?? ''}" is not a duration`, "write it like '30s' or '2m' (0: scale the old color down at once)");
  const cpu = (input.cpu ?? '1').trim();
  const workers = workersForCpu(cpu);
  if (workers === undefined) throw new UsageError(`--cpu "${cpu}" is not a CPU quantity`, "write cores like '1', '2' or '500m'");
  const memory = (input.memory ?? '1Gi').trim();
  if (!MEMORY.test(memory)) throw new UsageError(`--memory "${memory}" is not a memory quantity`, "write it like '512Mi' or '2Gi'");
  if (input.hpa && !(Number.isInteger(input.hpa.min) && Number.isInteger(input.hpa.max) && input.hpa.min >= 1 && input.hpa.max >= input.hpa.min)) {
    throw new UsageError(`--hpa ${input.hpa.min}:${input.hpa.max} is not a replica range`, 'write MIN:MAX with 1 <= MIN <= MAX, e.g. --hpa 2:10');
  }
  return { app, port, timeout, keepOldMs, scaleDownDelayMs, cpu, memory, workers };
}

/** `--hpa MIN:MAX` as numbers, or a UsageError. */
export function parseHpa(text: string): { min: number; max: number } {
  const match = /^(\d+):(\d+)$/.exec(text.trim());
  const range = match ? { min: Number(match[1]), max: Number(match[2]) } : undefined;
  if (!range || range.min < 1 || range.max < range.min) throw new UsageError(`--hpa "${text}" is not a replica range`, 'write MIN:MAX with 1 <= MIN <= MAX, e.g. --hpa 2:10');
  return range;
}

/** The annotation that records a scale-down still to do, so a cancelled CLI leaves the intent behind. */
export const SCALE_DOWN_ANNOTATION = 'mlops.dev/scale-down-at';

/** What the cluster holds before a deploy, read under the deploy lock (bluegreen-health.ts). */
export interface ClusterState {
  /** spec.replicas of the live color's Deployment. */
  liveReplicas?: number;
  /** The Deployment of the color about to be replaced, exactly as `kubectl get -o json` shows it. */
  inactive?: Record<string, unknown>;
}

/** The object to `kubectl replace` to put a Deployment back as it was read (server-owned fields dropped). */
export function restorable(deployment: Record<string, unknown>, overrides: { replicas?: number; dropAnnotation?: string } = {}): string {
  const copy = JSON.parse(JSON.stringify(deployment)) as Record<string, unknown>;
  delete copy.status;
  const metadata = obj(copy.metadata);
  for (const field of ['resourceVersion', 'uid', 'creationTimestamp', 'generation', 'managedFields', 'selfLink']) delete metadata[field];
  if (overrides.dropAnnotation && metadata.annotations) delete obj(metadata.annotations)[overrides.dropAnnotation];
  if (overrides.replicas !== undefined) obj(copy.spec).replicas = overrides.replicas;
  return JSON.stringify(copy);
}

export function targetOf(input: { kubectl: string; namespace: string; context?: string }): Omit<KubectlTarget, 'env'> {
  return input.context ? { kubectl: input.kubectl, namespace: input.namespace, context: input.context } : { kubectl: input.kubectl, namespace: input.namespace };
}

function manifestValues(input: RolloutInput, valid: Validated, color: Color, replicas: number): ManifestValues {
  return {
    app: valid.app,
    color,
    model: input.model,
    version: input.version,
    image: input.image,
    replicas,
    port: valid.port,
    namespace: input.namespace,
    sha256: input.sha256,
    cpu: valid.cpu,
    memory: valid.memory,
    workers: valid.workers,
    ...(input.hpa ? { minReplicas: input.hpa.min, maxReplicas: input.hpa.max } : {}),
  };
}

/** The new color's replicas: --replicas, else the live color's count (capacity never drops), within --hpa. */
export function startingReplicas(input: Pick<RolloutInput, 'replicas' | 'hpa'>, liveReplicas: number | undefined): number {
  let replicas = input.replicas ?? (liveReplicas !== undefined && liveReplicas > 0 ? liveReplicas : DEFAULT_REPLICAS);
  if (input.hpa) replicas = Math.min(Math.max(replicas, input.hpa.min), input.hpa.max);
  return replicas;
}

/** The manifests of one color, rendered from templates/k8s/ (for `--output DIR`). */
export async function renderManifests(input: RolloutInput, color: Color, templates?: K8sTemplates): Promise<RenderedManifests> {
  const valid = validate(input);
  return renderK8sManifests(manifestValues(input, valid, color, startingReplicas(input, undefined)), templates ?? (await loadK8sTemplates()));
}

/** The manifests one apply sends: the Deployment, its PodDisruptionBudget and (with --hpa) its autoscaler. */
export function colorManifest(manifests: RenderedManifests): string {
  return [manifests.deployment, manifests.podDisruptionBudget, ...(manifests.hpa ? [manifests.hpa] : [])].map((doc) => doc.trimEnd()).join('\n---\n') + '\n';
}

/** Pure: every kubectl call of a deploy, in order, with the manifests they apply. */
export function planRollout(input: RolloutInput, liveColor: Color | undefined, templates: K8sTemplates, cluster: ClusterState = {}): RolloutPlan {
  const valid = validate(input);
  const { app, port, timeout, keepOldMs, scaleDownDelayMs } = valid;
  const target = targetOf(input);
  const color: Color = liveColor ? otherColor(liveColor) : 'blue';
  const deployment = `${app}-${color}`;
  const previousDeployment = liveColor ? `${app}-${liveColor}` : undefined;
  const replicas = startingReplicas(input, cluster.liveReplicas);
  const manifests = renderK8sManifests(manifestValues(input, valid, color, replicas), templates);
  const steps: RolloutStep[] = [];
  const inactive = cluster.inactive;
  const pending = inactive ? obj(obj(inactive.metadata).annotations)[SCALE_DOWN_ANNOTATION] : undefined;
  if (inactive && typeof pending === 'string') {
    // A deploy cancelled during its scale-down delay left this intent behind: finish it first.
    steps.push({
      id: 'finish-scale-down',
      title: `finish the scale-down of ${deployment} left by an earlier deploy (due ${pending})`,
      command: kubectlCommands.patchDeployment(target, deployment, { metadata: { annotations: { [SCALE_DOWN_ANNOTATION]: null } }, spec: { replicas: 0 } }),
    });
  }
  steps.push(
    { id: 'apply-deployment', title: `apply deployment ${deployment} (${input.image}, ${replicas} replicas)`, command: kubectlCommands.apply(target, colorManifest(manifests)) },
    { id: 'rollout-status', title: `wait for ${deployment} to roll out within ${timeout}`, command: kubectlCommands.rolloutStatus(target, deployment, timeout) },
    { id: 'check-deployment', title: `check ${deployment} reports ${replicas} of ${replicas} replicas ready`, command: kubectlCommands.getDeployment(target, deployment) },
    { id: 'check-pods', title: `check every pod of ${deployment} is Ready`, command: kubectlCommands.getPods(target, { app, color }) },
    {
      id: 'switch-service',
      title: liveColor ? `switch service ${app} from ${liveColor} to ${color}` : `create service ${app} selecting ${color}`,
      command: kubectlCommands.apply(target, manifests.service),
    },
  );
  let oldColor: RolloutPlan['oldColor'] = 'none';
  if (previousDeployment) {
    if (keepOldMs === undefined) {
      oldColor = 'scale-to-zero';
      if (scaleDownDelayMs > 0) {
        steps.push(
          {
            id: 'mark-scale-down',
            title: `record on ${previousDeployment} that it is to be scaled down (finished by the next deploy or rollback if this one is cancelled)`,
            command: kubectlCommands.patchDeployment(target, previousDeployment, { metadata: { annotations: { [SCALE_DOWN_ANNOTATION]: `+${input.scaleDownDelay ?? '30s'}` } } }),
          },
          { id: 'scale-down-delay', title: `keep ${previousDeployment} running for ${input.scaleDownDelay ?? '30s'} while endpoints update`, waitMs: scaleDownDelayMs },
        );
      }
      steps.push({
        id: 'scale-old',
        title: `scale ${previousDeployment} to 0 (kept for mlops rollback --deploy)`,
        command: kubectlCommands.patchDeployment(target, previousDeployment, { metadata: { annotations: { [SCALE_DOWN_ANNOTATION]: null } }, spec: { replicas: 0 } }),
      });
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
  if (inactive) notes.push(`${deployment} exists (${String(modelContainer(obj(obj(obj(inactive.spec).template).spec)).image)}); a failure before the switch puts it back exactly as it is`);
  if (input.hpa) notes.push(`the HorizontalPodAutoscaler ${deployment} owns the replica count (${input.hpa.min} to ${input.hpa.max})`);
  return {
    kind: 'deploy',
    target,
    app,
    service: app,
    deployment,
    color,
    ...(liveColor ? { previousColor: liveColor, previousDeployment } : {}),
    image: input.image,
    replicas,
    timeout,
    steps,
    cleanup: inactive
      ? kubectlCommands.replace(target, restorable(inactive, typeof pending === 'string' ? { replicas: 0, dropAnnotation: SCALE_DOWN_ANNOTATION } : {}))
      : kubectlCommands.deleteDeployment(target, deployment),
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
  /** Who rolls back (shown to a deploy refused by the lock) and the clock of the lock. */
  user?: string;
  now?: () => Date;
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
  // A scale-down a cancelled deploy left on the color coming back is void: it goes live.
  const pending = typeof obj(obj(state.previous.metadata).annotations)[SCALE_DOWN_ANNOTATION] === 'string';
  if (pending) {
    steps.push({
      id: 'scale-previous',
      title: `scale ${deployment} to ${replicas} replicas and drop its pending scale-down`,
      command: kubectlCommands.patchDeployment(target, deployment, { metadata: { annotations: { [SCALE_DOWN_ANNOTATION]: null } }, spec: { replicas } }),
    });
  } else if (currentReplicas !== replicas) {
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
