// Blue-green rollout, the cluster checks: which color the Service selects, and whether a
// Deployment and its pods are really ready, judged from `kubectl get -o json`.
import { ConflictError, ToolFailedError, ToolMissingError } from '../errors.js';
import type { Runner } from '../tools/runner.js';
import { Kubectl, kubectlCommands } from '../tools/kubectl.js';
import { defaultApp, otherColor, targetOf, type ClusterState, type Color, type RolloutInput } from './bluegreen-plan.js';

export type Json = Record<string, unknown>;
export const obj = (value: unknown): Json => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {});
export const num = (value: unknown): number => (typeof value === 'number' ? value : 0);

export function modelContainer(podSpec: Json): Json {
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

export function colorOfService(service: Record<string, unknown>, app: string, namespace: string): Color {
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


/**
 * Everything a deploy plans from, read under the deploy lock: the live color, the live
 * color's replica count (the new color starts there) and the other color's Deployment
 * as it is (what a failure puts back).
 */
export async function readClusterState(
  runner: Runner,
  input: Pick<RolloutInput, 'model' | 'app' | 'namespace' | 'context' | 'kubectl' | 'env'>,
): Promise<{ liveColor?: Color; cluster: ClusterState }> {
  const app = input.app ?? defaultApp(input.model);
  const kubectl = new Kubectl(runner, { ...targetOf(input), env: input.env });
  const liveColor = await readLiveColor(runner, input);
  const newColor: Color = liveColor ? otherColor(liveColor) : 'blue';
  const inactive = await kubectl.readJson(kubectlCommands.getDeployment(kubectl.target, `${app}-${newColor}`));
  const live = liveColor ? await kubectl.readJson(kubectlCommands.getDeployment(kubectl.target, `${app}-${liveColor}`)) : undefined;
  const cluster: ClusterState = {
    ...(live ? { liveReplicas: num(obj(live.spec).replicas) } : {}),
    ...(inactive ? { inactive } : {}),
  };
  return liveColor ? { liveColor, cluster } : { cluster };
}
