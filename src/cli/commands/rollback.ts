// mlops rollback NAME: production goes back to the previous production version;
// --deploy also switches the cluster's Service back to the previous color.
import { UsageError } from '../../errors.js';
import type { CommandDef } from '../command.js';
import { rollback } from '../../registry/promote.js';
import { openRegistry } from './registry-support.js';

export const rollbackCommand: CommandDef = {
  name: 'rollback',
  summary: 'make the previous production version production again',
  arguments: [{ name: 'name', description: 'model name', required: true }],
  options: [
    { flags: '--dry-run', description: 'print what would change' },
    { flags: '--deploy', description: "also switch the Kubernetes Service back to the previous color (see mlops deploy)" },
    { flags: '--namespace <ns>', description: 'with --deploy: Kubernetes namespace', default: 'default' },
    { flags: '--context <ctx>', description: 'with --deploy: kubectl context' },
  ],
  examples: ['mlops rollback fraud', 'mlops rollback fraud --dry-run', 'mlops rollback fraud --deploy --namespace ml'],
  async run(ctx, [name], options) {
    if (options.deploy) throw new UsageError('rollback --deploy is not available in this build yet', 'switch the Service selector with kubectl for now');
    const registry = await openRegistry(ctx);
    const plan = await rollback(registry, name!, { user: ctx.user, now: ctx.now, dryRun: Boolean(options.dryRun), onEvent: (e) => ctx.ui.warn(e.message) });
    if (ctx.ui.json) ctx.ui.printJson({ dry_run: Boolean(options.dryRun), ...plan });
    else if (options.dryRun) ctx.ui.out(`would roll ${plan.name} back from ${plan.from} to ${plan.to}`);
    else ctx.ui.success(`${plan.name}: production is ${plan.to} again (was ${plan.from})`);
  },
};
