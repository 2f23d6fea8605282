// mlops delete NAME@VERSION | NAME --force: remove a version or a whole model (blobs stay until mlops gc).
import type { CommandDef } from '../command.js';
import { parseModelRef } from '../../registry/names.js';
import { openRegistry } from './registry-support.js';

export const deleteCommand: CommandDef = {
  name: 'delete',
  summary: 'delete a version (refused while production, staging or aliased unless --force) or a whole model (--force)',
  arguments: [{ name: 'ref', description: 'NAME@VERSION (or NAME@ALIAS) for one version, NAME for the whole model', required: true }],
  options: [
    { flags: '--force', description: 'delete even a version in use (detaching production, staging, aliases), or a whole model' },
    { flags: '--dry-run', description: 'say what would be deleted and detached; change nothing' },
  ],
  examples: ['mlops delete fraud@v1.0.0', 'mlops delete fraud@v1.1.0 --force', 'mlops delete fraud --force --dry-run'],
  async run(ctx, [refText], options) {
    const { deleteModel, deleteVersion } = await import('../../registry/lifecycle.js');
    const { name, ref } = parseModelRef(refText!);
    const registry = await openRegistry(ctx);
    const edit = { user: ctx.user, now: ctx.now, force: Boolean(options.force), dryRun: Boolean(options.dryRun) };
    const version = ref ? (await registry.resolve(name, ref)).version : undefined;
    const plan = version ? await deleteVersion(registry, name, version, edit) : await deleteModel(registry, name, edit);
    if (ctx.ui.json) return ctx.ui.printJson({ dry_run: edit.dryRun, ...plan });
    const count = plan.removed.filter((k) => k.includes('/versions/')).length;
    const what = plan.version ? `${plan.name} ${plan.version}` : `the model ${plan.name} (${count} version${count === 1 ? '' : 's'})`;
    if (plan.detaches.length) ctx.ui.warn(`${edit.dryRun ? 'would detach' : 'detached'}: ${plan.detaches.join(', ')}`);
    if (edit.dryRun) ctx.ui.out(`would delete ${what}`);
    else ctx.ui.success(`deleted ${what}; its blobs stay until \`mlops gc\``);
  },
};
