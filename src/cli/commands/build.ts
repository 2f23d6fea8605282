// mlops build NAME[@VERSION] --image REPO [--push]: the serving image alone, with no
// cluster and no kubeconfig (a CI job that builds, and another that deploys the digest).
import { UsageError } from '../../errors.js';
import { parseModelRef } from '../../registry/names.js';
import type { CommandDef } from '../command.js';
import { openRegistry } from './registry-support.js';
import { MLOPS_VERSION } from '../../version.js';

export const buildCommand: CommandDef = {
  name: 'build',
  summary: 'build (and push) the serving image of a model version; needs docker, not a cluster',
  arguments: [{ name: 'model', description: 'NAME or NAME@VERSION (default: the production version)', required: true }],
  options: [
    { flags: '--image <repo[:tag]>', description: 'image repository; the tag defaults to the model version' },
    { flags: '--push', description: 'push the image (docker login first); prints REPO@sha256:... for deploy --skip-build' },
    { flags: '--base-image <image>', description: 'base image for the Dockerfile [default: node:20-slim]' },
    { flags: '--platform <platform>', description: 'docker build --platform, e.g. linux/amd64' },
  ],
  examples: ['mlops build fraud --image ghcr.io/acme/fraud --push', 'mlops build fraud@v1.2.0 --image ghcr.io/acme/fraud:v1.2.0'],
  async run(ctx, [refText], options) {
    if (!options.image) throw new UsageError('--image REPO[:TAG] is required', 'e.g. --image ghcr.io/acme/fraud (the tag defaults to the model version)');
    const { runBuild } = await import('../../deploy/deploy.js');
    const registry = await openRegistry(ctx);
    const { name, ref } = parseModelRef(refText!);
    const record = await registry.resolve(name, ref ?? 'production');
    const spinner = await ctx.ui.spinner(`building ${record.name} ${record.version}`);
    const abort = new AbortController();
    void ctx.stopRequested.then(() => abort.abort());
    try {
      const result = await runBuild(
        ctx.runner,
        {
          registry,
          record,
          image: String(options.image),
          push: Boolean(options.push),
          baseImage: options.baseImage as string | undefined,
          platform: options.platform as string | undefined,
          dockerBin: ctx.settings.docker ?? 'docker',
          env: { ...ctx.env },
          mlopsVersion: MLOPS_VERSION,
          now: ctx.now,
        },
        (event) => {
          if (event.type === 'image-command') spinner.update(`$ ${event.command}`);
          else if (event.type === 'image-step') spinner.update(`build ${event.step}: ${event.instruction}`);
        },
        abort.signal,
      );
      spinner.succeed(`built ${result.image} (${(result.sizeBytes / 1e6).toFixed(1)} MB)${result.pushed ? `, pushed as ${result.reference}` : ''}`);
      if (ctx.ui.json) ctx.ui.printJson({ model: record.name, version: record.version, image: result.image, reference: result.reference, digest: result.digest ?? null, pushed: result.pushed, size_bytes: result.sizeBytes, platforms: result.platforms });
      else if (result.pushed) ctx.ui.out(result.reference);
    } catch (error) {
      spinner.fail(`build of ${record.name} ${record.version} failed`);
      throw error;
    }
  },
};
