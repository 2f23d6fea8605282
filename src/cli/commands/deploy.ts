// mlops deploy NAME[@VERSION] --image REPO[:TAG]: build, push, blue-green rollout.
import { resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { parseModelRef } from '../../registry/names.js';
import { numberFlag, type CommandDef } from '../command.js';
import type { Ctx } from '../context.js';
import { openRegistry } from './registry-support.js';
import type { DeployEvent } from '../../deploy/deploy.js';
import { MLOPS_VERSION } from '../../version.js';
import { loadRegistryConfig } from '../../config.js';

function describe(event: DeployEvent): string | undefined {
  switch (event.type) {
    case 'image-context':
      return `build context: ${event.files} files, ${(event.bytes / 1e6).toFixed(1)} MB, ${event.packages} packages`;
    case 'image-command':
      return `$ ${event.command}`;
    case 'image-step':
      return `build ${event.step}: ${event.instruction}`;
    case 'image-built':
      return `built ${event.image} (${(event.sizeBytes / 1e6).toFixed(1)} MB)`;
    case 'image-pushed':
      return `pushed ${event.image}${event.digest ? ` (${event.digest})` : ''}`;
    case 'image-output':
      return undefined;
    default:
      return event.message;
  }
}

export const deployCommand: CommandDef = {
  name: 'deploy',
  summary: 'build and push an image, then roll it out blue-green with kubectl (exit 1 if the rollout fails)',
  arguments: [{ name: 'model', description: 'NAME or NAME@VERSION (default: the production version)', required: true }],
  options: [
    { flags: '--image <repo[:tag]>', description: 'image repository; the tag defaults to the model version' },
    { flags: '--push', description: 'push the image (docker login first)' },
    { flags: '--base-image <image>', description: 'base image for the Dockerfile [default: node:20-slim]' },
    { flags: '--platform <platform>', description: 'docker build --platform, e.g. linux/amd64' },
    { flags: '--skip-build', description: 'deploy --image as it is (e.g. REPO@sha256:... from mlops build), without building' },
    { flags: '--namespace <ns>', description: 'Kubernetes namespace', default: 'default' },
    { flags: '--context <ctx>', description: 'kubectl context' },
    { flags: '--replicas <n>', description: 'pods of the new color [default: as many as the live color runs; 3 on a first deploy]' },
    { flags: '--hpa <min:max>', description: 'add a HorizontalPodAutoscaler that owns the replica count, e.g. 2:10' },
    { flags: '--cpu <cores>', description: 'CPU limit (= request) per pod; serve runs this many workers (whole cores, at least 1)', default: '1' },
    { flags: '--memory <quantity>', description: 'memory limit (= request) per pod', default: '1Gi' },
    { flags: '--scale-down-delay <duration>', description: 'keep the old color running this long after the switch, then scale it to 0', default: '30s' },
    { flags: '--templates <dir>', description: "a team's own manifest templates (deployment.yaml, service.yaml, poddisruptionbudget.yaml, hpa.yaml; missing ones come from mlops) [default: templates: in mlops.yaml]" },
    { flags: '--timeout <duration>', description: 'how long the rollout may take', default: '300s' },
    { flags: '--keep-old <duration>', description: 'keep the old color running this long, then delete it (0: delete at once; default: scale it to zero and keep it for rollback)' },
    { flags: '--output <dir>', description: 'also write the rendered manifests here (GitOps)' },
    { flags: '--dry-run', description: 'print every docker and kubectl command and the manifests; touch nothing' },
  ],
  examples: [
    'mlops deploy fraud --image ghcr.io/acme/fraud --push',
    'mlops deploy fraud@v1.2.0 --image ghcr.io/acme/fraud:v1.2.0 --push --namespace ml --replicas 2 --timeout 5m',
    'mlops deploy fraud --image ghcr.io/acme/fraud --dry-run',
    'mlops deploy fraud --image ghcr.io/acme/fraud --output k8s/ --dry-run',
    'mlops deploy fraud@v1.2.0 --skip-build --image ghcr.io/acme/fraud@sha256:4f0c...',
    'mlops deploy fraud --image ghcr.io/acme/fraud --push --hpa 2:10 --cpu 2 --memory 2Gi',
  ],
  async run(ctx: Ctx, [refText], options) {
    if (!options.image) throw new UsageError('--image REPO[:TAG] is required', 'e.g. --image ghcr.io/acme/fraud (the tag defaults to the model version)');
    const replicas = numberFlag(options.replicas, '--replicas', { min: 1, integer: true, example: '3' });
    const { planDeploy, runDeploy, writeManifests } = await import('../../deploy/deploy.js');
    const { parseHpa } = await import('../../deploy/bluegreen-plan.js');
    const registry = await openRegistry(ctx);
    const config = await loadRegistryConfig(ctx.registryDir);
    const templatesDir = options.templates
      ? resolve(ctx.cwd, String(options.templates))
      : typeof config.templates === 'string'
        ? resolve(ctx.registryDir, config.templates)
        : undefined;
    const { name, ref } = parseModelRef(refText!);
    const record = await registry.resolve(name, ref ?? 'production');
    const input = {
      registry,
      record,
      image: String(options.image),
      push: Boolean(options.push),
      skipBuild: Boolean(options.skipBuild),
      baseImage: options.baseImage as string | undefined,
      platform: options.platform as string | undefined,
      namespace: String(options.namespace),
      context: options.context as string | undefined,
      ...(replicas !== undefined ? { replicas } : {}),
      ...(options.hpa ? { hpa: parseHpa(String(options.hpa)) } : {}),
      cpu: String(options.cpu),
      memory: String(options.memory),
      scaleDownDelay: String(options.scaleDownDelay),
      ...(templatesDir ? { templatesDir } : {}),
      timeout: String(options.timeout),
      keepOld: options.keepOld as string | undefined,
      dockerBin: ctx.settings.docker ?? 'docker',
      kubectlBin: ctx.settings.kubectl ?? 'kubectl',
      env: { ...ctx.env },
      mlopsVersion: MLOPS_VERSION,
      user: ctx.user,
      now: ctx.now,
    };

    if (options.dryRun || options.output) {
      const plan = await planDeploy(ctx.runner, input);
      const files = options.output ? await writeManifests(plan, resolve(ctx.cwd, String(options.output))) : [];
      if (ctx.ui.json) ctx.ui.printJson({ dry_run: Boolean(options.dryRun), image: plan.image, image_commands: plan.imageCommands, rollout: plan.rollout, ...(files.length ? { files } : {}) });
      else {
        if (options.dryRun) ctx.ui.out(plan.text);
        for (const file of files) ctx.ui.success(`wrote ${file}`);
      }
      if (options.dryRun) return;
    }

    const spinner = await ctx.ui.spinner(`deploying ${record.name} ${record.version}`);
    // A cancelled CI job (SIGTERM) or Ctrl-C before the switch removes the new color, as a failure does.
    const abort = new AbortController();
    void ctx.stopRequested.then(() => abort.abort());
    try {
      const result = await runDeploy(
        ctx.runner,
        input,
        (event) => {
          if (event.type === 'warning') return ctx.ui.warn(event.message);
          const text = describe(event);
          if (text) spinner.update(text);
        },
        abort.signal,
      );
      spinner.succeed(`${record.name} ${record.version} is live on ${result.rollout.deployment} (service ${result.rollout.service}, namespace ${result.rollout.namespace})`);
      for (const warning of result.rollout.warnings) ctx.ui.warn(warning);
      if (ctx.ui.json) ctx.ui.printJson({ model: record.name, version: record.version, image: result.image ?? null, rollout: result.rollout });
    } catch (error) {
      spinner.fail(`deploy of ${record.name} ${record.version} failed`);
      throw error;
    }
  },
};
