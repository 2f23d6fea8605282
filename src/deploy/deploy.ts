// mlops deploy: the image (build, push) and the blue-green rollout, planned together so
// that --dry-run shows every docker and kubectl command and the manifests, then applied
// in order. Every outcome is recorded in the registry.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CheckFailedError, MlopsError } from '../errors.js';
import { writeFileAtomic } from '../registry/fs.js';
import type { Registry } from '../registry/registry.js';
import type { VersionRecord } from '../registry/types.js';
import { Docker } from '../tools/docker.js';
import type { Runner } from '../tools/runner.js';
import { formatPlan, planRollout, type RolloutEvent, type RolloutInput, type RolloutPlan, type RolloutResult } from './bluegreen-plan.js';
import { readClusterState } from './bluegreen-health.js';
import { deployRollout } from './bluegreen-apply.js';
import { randomUUID } from 'node:crypto';
import { parseDuration } from '../durations.js';
import { ToolFailedError, ToolMissingError } from '../errors.js';
import { buildImage, imagePlanCommands, planImage, type ImageEvent, type ImagePlan, type ImageResult } from './image.js';
import { loadK8sTemplates } from './manifests.js';

/** The mlops package itself: copied into the image's build context. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface DeployInput {
  registry: Registry;
  record: VersionRecord;
  image: string;
  push: boolean;
  skipBuild: boolean;
  baseImage?: string;
  platform?: string;
  namespace: string;
  context?: string;
  /** Default: the live color's count (3 on a first deploy). */
  replicas?: number;
  hpa?: { min: number; max: number };
  cpu?: string;
  memory?: string;
  scaleDownDelay?: string;
  /** A team's own manifest templates (--templates DIR, templates: in mlops.yaml). */
  templatesDir?: string;
  timeout: string;
  keepOld?: string;
  dockerBin: string;
  kubectlBin: string;
  env: Record<string, string | undefined>;
  mlopsVersion: string;
  user: string;
  now: () => Date;
}

export interface DeployPlan {
  /** Absent with --skip-build: the image is used as it is. */
  image?: ImagePlan;
  /** docker command lines (the build context folder is assembled first). */
  imageCommands: string[];
  rollout: RolloutPlan;
  text: string;
}

export type DeployEvent = ImageEvent | RolloutEvent;

function imageModel(record: VersionRecord) {
  return { name: record.name, version: record.version, sha256: record.artifact.sha256 };
}

function rolloutInput(input: DeployInput, image: string): RolloutInput {
  return {
    model: input.record.name,
    version: input.record.version,
    image,
    namespace: input.namespace,
    context: input.context,
    ...(input.replicas !== undefined ? { replicas: input.replicas } : {}),
    ...(input.hpa ? { hpa: input.hpa } : {}),
    ...(input.cpu ? { cpu: input.cpu } : {}),
    ...(input.memory ? { memory: input.memory } : {}),
    ...(input.scaleDownDelay !== undefined ? { scaleDownDelay: input.scaleDownDelay } : {}),
    timeout: input.timeout,
    keepOld: input.keepOld,
    sha256: input.record.artifact.sha256,
    kubectl: input.kubectlBin,
    env: input.env,
  };
}

/** What `mlops build` needs: no namespace, no kubectl, no cluster. */
export type BuildInput = Pick<DeployInput, 'registry' | 'record' | 'image' | 'push' | 'baseImage' | 'platform' | 'dockerBin' | 'env' | 'mlopsVersion' | 'now'>;

/** What both the plan and the build need to know about the image. */
function imageOptions(input: BuildInput) {
  return {
    model: imageModel(input.record),
    image: input.image,
    push: input.push,
    platform: input.platform,
    baseImage: input.baseImage,
    created: input.now(),
    mlopsVersion: input.mlopsVersion,
  };
}

function imagePlanOf(input: BuildInput): ImagePlan {
  return planImage(imageOptions(input));
}

/** Read-only: what a deploy would do. Reads the live color when the cluster answers. */
export async function planDeploy(runner: Runner, input: DeployInput): Promise<DeployPlan> {
  const image = input.skipBuild ? undefined : imagePlanOf(input);
  const reference = image ? image.image : input.image;
  let state: Awaited<ReturnType<typeof readClusterState>> = { cluster: {} };
  let note: string | undefined;
  try {
    state = await readClusterState(runner, rolloutInput(input, reference));
  } catch (error) {
    if (!(error instanceof ToolMissingError || error instanceof ToolFailedError)) throw error;
    note = `could not read the cluster (${error.message}); planned as a first deploy`;
  }
  const rollout = planRollout(rolloutInput(input, reference), state.liveColor, await loadK8sTemplates(input.templatesDir), state.cluster);
  // The plan's own 'first deploy' note would be wrong here: the cluster just did not answer.
  if (note) rollout.notes = [note];
  const imageCommands = image ? imagePlanCommands(image, input.dockerBin) : [];
  const text = [
    image ? `build ${image.image} from templates/Dockerfile${input.push ? ' and push it' : ''}:` : `image: ${reference} (--skip-build: used as it is)`,
    ...imageCommands.map((line) => `  ${line}`),
    '',
    formatPlan(rollout),
  ].join('\n');
  return { image, imageCommands, rollout, text };
}

/** Write the manifests a deploy would apply, for GitOps users (--output DIR). */
export async function writeManifests(plan: DeployPlan, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const { manifests } = plan.rollout;
  const written: Array<[string, string | undefined]> = [
    [`${plan.rollout.deployment}.yaml`, manifests.deployment],
    [`${plan.rollout.deployment}-pdb.yaml`, manifests.podDisruptionBudget],
    [`${plan.rollout.deployment}-hpa.yaml`, manifests.hpa],
    [`${plan.rollout.service}-service.yaml`, manifests.service],
  ];
  const files: string[] = [];
  for (const [name, text] of written) {
    if (text === undefined) continue;
    await writeFileAtomic(join(dir, name), text);
    files.push(join(dir, name));
  }
  return files;
}

export interface DeployResult {
  image?: ImageResult;
  rollout: RolloutResult;
}

/** Which step failed, for the registry's record and the message. */
function stepOf(error: unknown, fallback: string): string {
  const step = (error as { step?: unknown }).step;
  if (typeof step === 'string') return step;
  const match = /\b(apply-deployment|rollout-status|check-deployment|check-pods|switch-service)\b/.exec(error instanceof Error ? error.message : '');
  return match?.[1] ?? fallback;
}

/**
 * `mlops build`: the image alone (and its push), with no cluster and no kubeconfig. The
 * result's `reference` is what `mlops deploy --skip-build --image` takes: by digest once
 * pushed.
 */
export async function runBuild(runner: Runner, input: BuildInput, onEvent: (event: ImageEvent) => void, signal?: AbortSignal): Promise<ImageResult & { reference: string }> {
  const image = await buildImage({
    docker: new Docker({ runner, bin: input.dockerBin, env: input.env, signal }),
    packageRoot: PACKAGE_ROOT,
    ...imageOptions(input),
    exportModel: async (dest) => {
      await input.registry.exportVersion(input.record.name, input.record.version, dest, input.now());
    },
    onEvent,
  });
  return { ...image, reference: image.digest ? `${image.plan.repository}@${image.digest}` : image.image };
}

export async function runDeploy(runner: Runner, input: DeployInput, onEvent: (event: DeployEvent) => void, signal?: AbortSignal): Promise<DeployResult> {
  const record = async (outcome: 'succeeded' | 'failed', image: string, color: string, step?: string, message?: string) =>
    input.registry.recordDeployment({
      at: input.now().toISOString(),
      by: input.user,
      model: input.record.name,
      version: input.record.version,
      image,
      color,
      namespace: input.namespace,
      ...(input.context ? { context: input.context } : {}),
      outcome,
      ...(step ? { step } : {}),
      ...(message ? { message } : {}),
    });

  // The image is built (and pushed) before kubectl is asked anything: a CI job may build
  // without cluster access, and the cluster state is read under the lock, just in time.
  let image: ImageResult | undefined;
  let reference = input.skipBuild ? input.image : imagePlanOf(input).image;
  if (!input.skipBuild) {
    try {
      image = await buildImage({
        docker: new Docker({ runner, bin: input.dockerBin, env: input.env, signal }),
        packageRoot: PACKAGE_ROOT,
        ...imageOptions(input),
        exportModel: async (dest) => {
          await input.registry.exportVersion(input.record.name, input.record.version, dest, input.now());
        },
        onEvent,
      });
    } catch (error) {
      await record('failed', reference, 'none', input.push ? 'build-or-push' : 'build', error instanceof Error ? error.message : String(error));
      throw error;
    }
    // Pinning by digest: the cluster runs exactly the bytes that were pushed.
    reference = image.digest ? `${image.plan.repository}@${image.digest}` : image.image;
  }
  const templates = await loadK8sTemplates(input.templatesDir);
  const seconds = (text: string | undefined, fallback: number) => Math.ceil((parseDuration(text ?? '') ?? fallback) / 1000);
  let color = 'none';
  try {
    const rollout = await deployRollout(runner, rolloutInput(input, reference), templates, {
      runner,
      env: input.env,
      onEvent,
      signal,
      holder: `${input.user}: mlops deploy ${input.record.name} ${input.record.version} (${randomUUID().slice(0, 8)})`,
      now: input.now,
      lockSeconds: seconds(input.timeout, 300_000) + seconds(input.scaleDownDelay, 30_000) + seconds(input.keepOld, 0) + 120,
      onPlan: (plan) => {
        color = plan.color;
      },
    });
    await record('succeeded', reference, rollout.color);
    return { image, rollout };
  } catch (error) {
    // Refused by the lock, or the cluster could not be read: nothing was changed, nothing to record.
    if (color === 'none' && error instanceof MlopsError && !(error instanceof CheckFailedError)) throw error;
    const message = error instanceof Error ? error.message : String(error);
    await record('failed', reference, color, stepOf(error, signal?.aborted ? 'interrupted' : 'rollout'), message);
    if (error instanceof MlopsError) throw error;
    throw new CheckFailedError(`deploy of ${input.record.name} ${input.record.version} failed: ${message}`, undefined, 'rollout_failed');
  }
}
