// mlops init: create the registry folder (idempotent); --ci github writes a workflow.
import { Registry } from '../../registry/registry.js';
import type { CommandDef } from '../command.js';

export const initCommand: CommandDef = {
  name: 'init',
  summary: 'create the registry folder (safe to run again)',
  options: [
    { flags: '--ci <provider>', description: 'also write a CI deploy workflow (.github/workflows/mlops-deploy.yml)', choices: ['github'] },
    { flags: '--model <name>', description: 'with --ci: the model the workflow deploys' },
    { flags: '--image <repo>', description: 'with --ci: the image repository to push to' },
    { flags: '--namespace <ns>', description: 'with --ci: the Kubernetes namespace', default: 'default' },
    { flags: '--require <condition>', description: "with --ci: promotion gate, e.g. 'accuracy>=0.9' (repeatable)", repeatable: true },
    { flags: '--mlops-from <spec>', description: 'with --ci: how CI installs mlops: a .tgz URL (npm pack) or git+https://...#<commit>' },
    { flags: '--registry-bucket <s3-url>', description: 'with --ci: the registry lives in this bucket (s3://...); the workflow never pushes to git' },
    { flags: '--force', description: 'with --ci: overwrite an existing workflow file' },
  ],
  examples: ['mlops init', 'mlops --registry /shared/models init', "mlops init --ci github --model fraud --image ghcr.io/acme/fraud --require 'accuracy>=0.9' --mlops-from git+https://github.com/acme/mlops.git#<commit>"],
  async run(ctx, _args, options) {
    const { created } = await Registry.init(ctx.registryDir, ctx.now(), { env: ctx.env });
    let workflow: string | undefined;
    if (options.ci) {
      const { writeCiWorkflow } = await import('../../deploy/ci.js');
      workflow = await writeCiWorkflow({
        provider: String(options.ci),
        projectDir: ctx.cwd,
        registryDir: ctx.registryDir,
        model: options.model as string | undefined,
        image: options.image as string | undefined,
        namespace: options.namespace as string | undefined,
        gates: options.require as string[] | undefined,
        force: Boolean(options.force),
        mlopsFrom: options.mlopsFrom as string | undefined,
        registryBucket: options.registryBucket as string | undefined,
      });
    }
    if (ctx.ui.json) {
      ctx.ui.printJson({ registry: ctx.registryDir, created, ...(workflow ? { workflow } : {}) });
      return;
    }
    ctx.ui.success(created ? `created registry ${ctx.registryDir}` : `registry ${ctx.registryDir} already exists`);
    if (workflow) ctx.ui.success(`wrote ${workflow}`);
  },
};
