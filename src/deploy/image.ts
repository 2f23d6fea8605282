// The image half of `mlops deploy`: a pure plan (reference, labels, docker argv) that
// --dry-run prints, and its application: assemble the context, docker build, docker push.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildStepOf,
  dockerBuildArgs,
  dockerPushArgs,
  formatCommand,
  formatImageRef,
  parseImageRef,
  type BuildSpec,
  type Docker,
} from '../tools/docker.js';
import { assembleContext, onnxArchsFor, type BuildContext } from './context.js';

export interface ImageModel {
  name: string;
  version: string;
  /** sha256 of the model artifact, from its version record. */
  sha256: string;
}

export interface ImagePlanOptions {
  model: ImageModel;
  /** --image REPO[:TAG]; the tag defaults to the model version. */
  image: string;
  push?: boolean;
  /** --platform, passed to docker build as given (e.g. linux/amd64). */
  platform?: string;
  /** --base-image; the template's default (node:20-slim) when absent. */
  baseImage?: string;
  /** Recorded as org.opencontainers.image.created. */
  created: Date;
  /** A URL for org.opencontainers.image.source (the project's repository), if known. */
  source?: string;
  /** The mlops version that builds the image, recorded as a label. */
  mlopsVersion?: string;
  /** The build context folder; a dry run shows CONTEXT_PLACEHOLDER. */
  contextDir?: string;
  /** Where docker writes the image ID (an --iidfile path, outside the context). */
  iidFile?: string;
  /** mlops without the model (build --no-model, deploy --follow-registry); the tag defaults to 'follow'. */
  noModel?: boolean;
}

export interface ImagePlan {
  /** The full reference built and pushed: REPO:TAG. */
  image: string;
  repository: string;
  tag: string;
  model: ImageModel;
  labels: Record<string, string>;
  build: BuildSpec;
  /** docker arguments (without the binary) for each step, as apply runs them. */
  buildArgs: string[];
  pushArgs?: string[];
}

/** What a dry run prints for the context folder, which only exists while applying. */
export const CONTEXT_PLACEHOLDER = '<build-context>';

export const LABELS = {
  title: 'org.opencontainers.image.title',
  version: 'org.opencontainers.image.version',
  created: 'org.opencontainers.image.created',
  source: 'org.opencontainers.image.source',
  description: 'org.opencontainers.image.description',
  modelName: 'io.mlops.model.name',
  modelVersion: 'io.mlops.model.version',
  modelSha256: 'io.mlops.model.sha256',
  mlopsVersion: 'io.mlops.version',
} as const;

export function imageLabels(options: Pick<ImagePlanOptions, 'model' | 'created' | 'source' | 'mlopsVersion' | 'noModel'>): Record<string, string> {
  const { model } = options;
  if (options.noModel) {
    // No version is baked in: the pod serves whatever the registry's production is.
    const labels: Record<string, string> = {
      [LABELS.title]: model.name,
      [LABELS.created]: options.created.toISOString(),
      [LABELS.description]: `${model.name} served by mlops from its team registry (no model in the image)`,
      [LABELS.modelName]: model.name,
    };
    if (options.source) labels[LABELS.source] = options.source;
    if (options.mlopsVersion) labels[LABELS.mlopsVersion] = options.mlopsVersion;
    return labels;
  }
  const labels: Record<string, string> = {
    [LABELS.title]: model.name,
    [LABELS.version]: model.version,
    [LABELS.created]: options.created.toISOString(),
    [LABELS.description]: `${model.name} ${model.version} served by mlops`,
    [LABELS.modelName]: model.name,
    [LABELS.modelVersion]: model.version,
    [LABELS.modelSha256]: model.sha256,
  };
  if (options.source) labels[LABELS.source] = options.source;
  if (options.mlopsVersion) labels[LABELS.mlopsVersion] = options.mlopsVersion;
  return labels;
}

/** `--platform linux/amd64,linux/arm64` as a list, refused early when onnxruntime has no binaries for it. */
export function platformsOf(platform: string): string[] {
  const platforms = platform.split(',').map((entry) => entry.trim()).filter(Boolean);
  onnxArchsFor(platforms);
  return platforms;
}

export function planImage(options: ImagePlanOptions): ImagePlan {
  const ref = parseImageRef(options.image, options.noModel ? 'follow' : options.model.version);
  if (options.platform !== undefined) platformsOf(options.platform);
  const image = formatImageRef(ref);
  const contextDir = options.contextDir ?? CONTEXT_PLACEHOLDER;
  const labels = imageLabels(options);
  const build: BuildSpec = {
    contextDir,
    dockerfile: join(contextDir, 'Dockerfile'),
    tags: [image],
    labels,
    buildArgs: options.baseImage ? { BASE_IMAGE: options.baseImage } : {},
    platform: options.platform,
    iidFile: options.iidFile,
  };
  return {
    image,
    repository: ref.repository,
    tag: ref.tag,
    model: options.model,
    labels,
    build,
    buildArgs: dockerBuildArgs(build),
    pushArgs: options.push ? dockerPushArgs(image) : undefined,
  };
}

/** The commands a plan runs, as shell lines (the context folder is assembled first). */
export function imagePlanCommands(plan: ImagePlan, dockerBin: string): string[] {
  const lines = [formatCommand(dockerBin, plan.buildArgs)];
  if (plan.pushArgs) lines.push(formatCommand(dockerBin, plan.pushArgs));
  return lines;
}

export type ImageEvent =
  | { type: 'image-context'; dir: string; files: number; bytes: number; packages: number; droppedBytes: number }
  | { type: 'image-command'; phase: 'build' | 'push'; command: string }
  | { type: 'image-step'; step: string; instruction: string }
  | { type: 'image-output'; phase: 'build' | 'push'; line: string; stream: 'stdout' | 'stderr' }
  | { type: 'image-built'; image: string; imageId?: string; sizeBytes: number }
  | { type: 'image-pushed'; image: string; digest?: string };

export interface BuildImageOptions extends Omit<ImagePlanOptions, 'contextDir' | 'iidFile'> {
  docker: Docker;
  /** The mlops package copied into the image (its root folder: package.json, dist/, ...). */
  packageRoot: string;
  /** Copies the one version (record with status production, blobs) into a fresh registry folder. */
  exportModel: (destRegistryDir: string) => Promise<void>;
  /** Parent of the temporary folder; the OS temp folder by default. */
  workDir?: string;
  /** Keep the assembled context (for debugging); it is removed by default. */
  keepContext?: boolean;
  onEvent?: (event: ImageEvent) => void;
}

export interface ImageResult {
  image: string;
  imageId?: string;
  /** Set when pushed: the registry's manifest digest, for pinning image@digest. */
  digest?: string;
  pushed: boolean;
  sizeBytes: number;
  platforms: string[];
  context: Omit<BuildContext, 'dockerfile'> & { kept: boolean };
  plan: ImagePlan;
}

/** Build the image (and push it when asked): the whole image side of `mlops deploy`. */
export async function buildImage(options: BuildImageOptions): Promise<ImageResult> {
  const { docker, onEvent } = options;
  // Ask the engine first: no point assembling 60 MB for a daemon that is not there,
  // and its platform is the build's platform when --platform is not given.
  const server = await docker.preflight();
  const platforms = options.platform !== undefined ? platformsOf(options.platform) : [`${server.os}/${server.arch}`];

  const parent = options.workDir ?? tmpdir();
  await mkdir(parent, { recursive: true });
  const workDir = await mkdtemp(join(parent, 'mlops-image-'));
  const contextDir = join(workDir, 'context');
  try {
    await mkdir(contextDir);
    const plan = planImage({ ...options, contextDir, iidFile: join(workDir, 'image.id') });
    const context = await assembleContext({
      packageRoot: options.packageRoot,
      dir: contextDir,
      model: options.model,
      exportModel: options.exportModel,
      platforms,
      ...(options.noModel ? { noModel: true } : {}),
    });
    onEvent?.({
      type: 'image-context',
      dir: context.dir,
      files: context.files,
      bytes: context.bytes,
      packages: context.packages,
      droppedBytes: context.droppedBytes,
    });

    onEvent?.({ type: 'image-command', phase: 'build', command: formatCommand(docker.bin, plan.buildArgs) });
    const built = await docker.build(plan.build, (line, stream) => {
      const step = buildStepOf(line);
      if (step) onEvent?.({ type: 'image-step', ...step });
      onEvent?.({ type: 'image-output', phase: 'build', line, stream });
    });
    const info = await docker.inspectImage(plan.image);
    onEvent?.({ type: 'image-built', image: plan.image, imageId: built.imageId ?? info.id, sizeBytes: info.sizeBytes });

    let digest: string | undefined;
    if (plan.pushArgs) {
      onEvent?.({ type: 'image-command', phase: 'push', command: formatCommand(docker.bin, plan.pushArgs) });
      ({ digest } = await docker.push(plan.image, (line, stream) => {
        onEvent?.({ type: 'image-output', phase: 'push', line, stream });
      }));
      onEvent?.({ type: 'image-pushed', image: plan.image, digest });
    }

    const { dockerfile: _dockerfile, ...contextSummary } = context;
    return {
      image: plan.image,
      imageId: built.imageId ?? info.id,
      digest,
      pushed: plan.pushArgs !== undefined,
      sizeBytes: info.sizeBytes,
      platforms,
      context: { ...contextSummary, kept: options.keepContext === true },
      plan,
    };
  } finally {
    if (!options.keepContext) await rm(workDir, { recursive: true, force: true });
  }
}
