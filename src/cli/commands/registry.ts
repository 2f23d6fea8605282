// mlops registry migrate | copy: convert an older folder; copy between a folder and a bucket.
import type { CommandDef } from '../command.js';
import { resolveRegistryDir } from '../context.js';

export const registryCommand: CommandDef = {
  name: 'registry',
  summary: 'convert or copy a whole registry (folder or s3://BUCKET/PREFIX)',
  subcommands: [
    {
      name: 'migrate',
      summary: 'convert a format-1 registry folder (made by an older mlops) to format 2, in place',
      examples: ['mlops registry migrate', 'mlops registry migrate --registry /shared/models'],
      async run(ctx) {
        const { migrate } = await import('../../registry/transfer.js');
        const result = await migrate(ctx.registryDir, ctx.now(), { env: ctx.env });
        if (ctx.ui.json) return ctx.ui.printJson(result);
        ctx.ui.success(`migrated ${result.location} to format 2: ${result.models} models, ${result.versions} version records, ${result.audit_events} audit events`);
      },
    },
    {
      name: 'copy',
      summary: 'copy a registry (or one model) between folders and buckets; resumable, verifies every blob',
      arguments: [
        { name: 'source', description: 'folder or s3://BUCKET/PREFIX', required: true },
        { name: 'destination', description: 'folder or s3://BUCKET/PREFIX (created if needed; the bucket must exist)', required: true },
      ],
      options: [{ flags: '--model <name>', description: 'copy only this model (and its audit events)' }],
      examples: ['mlops registry copy ./mlops-registry s3://team-models/registry', 'mlops registry copy s3://team-models/registry ./backup --model fraud'],
      async run(ctx, [source, destination], options) {
        const { copyRegistry } = await import('../../registry/transfer.js');
        const { validateName } = await import('../../registry/names.js');
        const model = options.model === undefined ? undefined : validateName(String(options.model));
        const spinner = await ctx.ui.spinner(`copying ${source} to ${destination}`);
        try {
          const result = await copyRegistry(resolveRegistryDir(ctx.cwd, ctx.settings, source), resolveRegistryDir(ctx.cwd, ctx.settings, destination), {
            env: ctx.env,
            now: ctx.now(),
            model,
            onEvent: (event) => spinner.update(event.message),
          });
          spinner.succeed(`copied ${result.copied.versions} versions and ${result.copied.blobs} blobs of ${result.models.length} models to ${result.to} (${result.skipped.versions} versions, ${result.skipped.blobs} blobs already there)`);
          if (ctx.ui.json) ctx.ui.printJson(result);
        } catch (error) {
          spinner.fail();
          throw error;
        }
      },
    },
  ],
};
