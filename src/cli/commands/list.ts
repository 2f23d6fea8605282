// mlops list [NAME]: versions as a table, or the full records with --json.
import { defineCommand } from '../command.js';
import { validateName } from '../../registry/names.js';
import { keyMetrics, openRegistry, statusText } from './registry-support.js';

export const listCommand = defineCommand({
  name: 'list',
  summary: 'list models and their versions',
  arguments: [{ name: 'name', description: 'only this model' }],
  options: [{ flags: '--status <status>', description: 'only versions with this status', choices: ['staging', 'production', 'archived'] }],
  examples: ['mlops list', 'mlops list fraud', 'mlops list --status production --json'],
  async run(ctx, { name }, options) {
    const registry = await openRegistry(ctx);
    const names = name ? [validateName(name)] : await registry.listModels();
    let records = (await Promise.all(names.map((n) => (name ? registry.requireModel(n) : registry.listVersions(n))))).flat();
    if (options.status) records = records.filter((r) => r.status === options.status);
    if (ctx.ui.json) return ctx.ui.printJson(records);
    if (records.length === 0) {
      ctx.ui.info(names.length === 0 ? 'the registry has no models yet: mlops register NAME MODEL.onnx' : 'no versions match');
      return;
    }
    ctx.ui.table(
      records.map((r) => ({
        name: r.name,
        version: r.version,
        status: statusText(ctx.ui, r.status),
        created: r.created_at.slice(0, 16).replace('T', ' '),
        metrics: keyMetrics(r),
      })),
      [
        { key: 'name', header: 'NAME' },
        { key: 'version', header: 'VERSION' },
        { key: 'status', header: 'STATUS' },
        { key: 'created', header: 'CREATED (UTC)' },
        { key: 'metrics', header: 'METRICS' },
      ],
    );
  },
});
