// mlops init: create the registry folder (idempotent); --ci github writes a workflow.
import { Registry } from '../../registry/registry.js';
import type { CommandDef } from '../command.js';

export const initCommand: CommandDef = {
  name: 'init',
  summary: 'create the registry folder (safe to run again)',
  options: [{ flags: '--ci <provider>', description: 'also write a CI deploy workflow (github)', choices: ['github'] }],
  examples: ['mlops init', 'mlops --registry /shared/models init', 'mlops init --ci github'],
  async run(ctx, _args, options) {
    const { created } = await Registry.init(ctx.registryDir, ctx.now());
    let workflow: string | undefined;
    if (options.ci) {
      const { writeCiWorkflow } = await import('../../deploy/ci.js');
      workflow = await writeCiWorkflow({ provider: String(options.ci), projectDir: ctx.cwd, registryDir: ctx.registryDir });
    }
    if (ctx.ui.json) {
      ctx.ui.printJson({ registry: ctx.registryDir, created, ...(workflow ? { workflow } : {}) });
      return;
    }
    ctx.ui.success(created ? `created registry ${ctx.registryDir}` : `registry ${ctx.registryDir} already exists`);
    if (workflow) ctx.ui.success(`wrote ${workflow}`);
  },
};
