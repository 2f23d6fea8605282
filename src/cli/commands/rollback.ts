// mlops rollback NAME: production goes back to the previous production version;
// --deploy first switches the cluster's Service back to the previous color.
import type { CommandDef } from '../command.js';
import { MlopsError, NotFoundError } from '../../errors.js';
import { rollback } from '../../registry/promote.js';
import type { Ctx } from '../context.js';
import { openRegistry } from './registry-support.js';

async function rollbackCluster(ctx: Ctx, name: string, options: Record<string, unknown>) {
  const { rollbackRollout } = await import('../../deploy/bluegreen-apply.js');
  const spinner = await ctx.ui.spinner(`switching ${name}'s Service back to the previous color`);
  try {
    const result = await rollbackRollout(
      ctx.runner,
      {
        model: name,
        namespace: String(options.namespace),
        context: options.context as string | undefined,
        kubectl: ctx.settings.kubectl ?? 'kubectl',
        env: { ...ctx.env },
        timeout: String(options.timeout),
        user: ctx.user,
        now: ctx.now,
      },
      { onEvent: (event) => (event.type === 'warning' ? ctx.ui.warn(event.message) : spinner.update(event.message)) },
    );
    spinner.succeed(`service ${result.service} now sends traffic to ${result.deployment} (${result.image})`);
    return result;
  } catch (error) {
    spinner.fail();
    throw error;
  }
}

export const rollbackCommand: CommandDef = {
  name: 'rollback',
  summary: 'make the previous production version production again',
  arguments: [{ name: 'name', description: 'model name', required: true }],
  options: [
    { flags: '--dry-run', description: 'print what would change in the registry' },
    { flags: '--deploy', description: 'also switch the Kubernetes Service back to the previous color (see mlops deploy)' },
    { flags: '--namespace <ns>', description: 'with --deploy: Kubernetes namespace', default: 'default' },
    { flags: '--context <ctx>', description: 'with --deploy: kubectl context' },
    { flags: '--timeout <duration>', description: 'with --deploy: how long the previous color may take to be ready again', default: '300s' },
  ],
  examples: ['mlops rollback fraud', 'mlops rollback fraud --dry-run', 'mlops rollback fraud --deploy --namespace ml'],
  async run(ctx, [name], options) {
    const registry = await openRegistry(ctx);
    const dryRun = Boolean(options.dryRun);
    // The cluster first: if traffic cannot be switched back, the registry stays as it is.
    const cluster = options.deploy && !dryRun ? await rollbackCluster(ctx, name!, options) : undefined;
    let plan;
    try {
      plan = await rollback(registry, name!, { user: ctx.user, now: ctx.now, dryRun, onEvent: (e) => ctx.ui.warn(e.message) });
    } catch (error) {
      // The Service is back on the previous color; a registry without an earlier production version is only worth a warning then.
      if (!cluster || !(error instanceof NotFoundError)) throw error;
      ctx.ui.warn(`${(error as MlopsError).message}; the registry was left as it is`);
    }
    if (cluster) {
      await registry.recordDeployment({
        at: ctx.now().toISOString(),
        by: ctx.user,
        model: name!,
        version: cluster.version ?? plan?.to ?? 'unknown',
        image: cluster.image,
        color: cluster.color,
        namespace: cluster.namespace,
        ...(options.context ? { context: String(options.context) } : {}),
        outcome: 'rolled_back',
      });
    }
    if (ctx.ui.json) return ctx.ui.printJson({ dry_run: dryRun, registry: plan ?? null, cluster: cluster ?? null });
    if (!plan) return;
    if (dryRun) ctx.ui.out(`would roll ${plan.name} back from ${plan.from} to ${plan.to}`);
    else ctx.ui.success(`${plan.name}: production is ${plan.to} again (was ${plan.from})`);
  },
};
