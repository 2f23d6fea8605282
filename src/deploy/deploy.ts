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
import { readLiveColor, readLiveColorForPlan } from './bluegreen-health.js';
import { applyRollout } from './bluegreen-apply.js';
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
  replicas: number;
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
  image: ImagePlan;
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
    replicas: input.replicas,
    timeout: input.timeout,
    keepOld: input.keepOld,
    sha256: input.record.artifact.sha256,
    kubectl: input.kubectlBin,
    env: input.env,
  };
}

/** What both the plan and the build need to know about the image. */
function imageOptions(input: DeployInput) {
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

function imagePlanOf(input: DeployInput): ImagePlan {
  return planImage(imageOptions(input));
}

/** Read-only: what a deploy would do. Reads the live color when the cluster answers. */
export async function planDeploy(runner: Runner, input: DeployInput): Promise<DeployPlan> {
  const image = imagePlanOf(input);
  const { liveColor, note } = await readLiveColorForPlan(runner, rolloutInput(input, image.image));
  const rollout = planRollout(rolloutInput(input, image.image), liveColor, await loadK8sTemplates());
  // The plan's own 'first deploy' note would be wrong here: the cluster just did not answer.
  if (note) rollout.notes = [note];
  const imageCommands = input.skipBuild ? [] : imagePlanCommands(image, input.dockerBin);
  const text = [
    input.skipBuild ? `image: ${image.image} (--skip-build: used as it is)` : `build ${image.image} from templates/Dockerfile${input.push ? ' and push it' : ''}:`,
    ...imageCommands.map((line) => `  ${line}`),
    '',
    formatPlan(rollout),
  ].join('\n');
  return { image, imageCommands, rollout, text };
}

/** Write the manifests a deploy would apply, for GitOps users (--output DIR). */
export async function writeManifests(plan: DeployPlan, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files = [join(dir, `${plan.rollout.deployment}.yaml`), join(dir, `${plan.rollout.service}-service.yaml`)];
  await writeFileAtomic(files[0]!, plan.rollout.manifests.deployment);
  await writeFileAtomic(files[1]!, plan.rollout.manifests.service);
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

  // The cluster is asked first: a build is minutes, a missing namespace is a second.
  await readLiveColor(runner, rolloutInput(input, input.image));
  let image: ImageResult | undefined;
  let reference = imagePlanOf(input).image;
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
  // Planned again now: another deploy may have switched colors during the build.
  const liveColor = await readLiveColor(runner, rolloutInput(input, reference));
  const plan = planRollout(rolloutInput(input, reference), liveColor, await loadK8sTemplates());
  try {
    const rollout = await applyRollout(plan, { runner, env: input.env, onEvent, signal });
    await record('succeeded', reference, rollout.color);
    return { image, rollout };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    await record('failed', reference, plan.color, stepOf(error, signal?.aborted ? 'interrupted' : 'rollout'), message);
    if (error instanceof MlopsError) throw error;
    throw new CheckFailedError(`deploy of ${input.record.name} ${input.record.version} failed: ${message}`, undefined, 'rollout_failed');
  }
}
