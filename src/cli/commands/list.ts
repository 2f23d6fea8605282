// mlops list [NAME]: versions as a table (aliases, last deployment), filtered and sorted; full records with --json.
import { defineCommand } from '../command.js';
import { validateName } from '../../registry/names.js';
import type { DeploymentRecord, VersionRecord } from '../../registry/types.js';
import { keyMetrics, openRegistry, statusText } from './registry-support.js';

export const listCommand = defineCommand({
  name: 'list',
  summary: 'list models and their versions (filter with --tag, --alias, --where; order with --sort)',
  arguments: [{ name: 'name', description: 'only this model' }],
  options: [
    { flags: '--status <status>', description: 'only versions with this status', choices: ['staging', 'production', 'archived'] },
    { flags: '--tag <key=value>', description: 'only versions with this tag (repeatable)', repeatable: true },
    { flags: '--alias [alias]', description: 'only versions holding an alias (or this alias)' },
    { flags: '--where <condition>', description: "only versions whose metric meets this, e.g. 'accuracy>=0.9' (repeatable)", repeatable: true },
    { flags: '--sort <key>', description: "order by created, version, name or a metric; '-' first for descending (e.g. -accuracy)" },
    { flags: '--limit <n>', description: 'at most this many versions' },
  ],
  examples: ['mlops list', 'mlops list fraud', "mlops list fraud --where 'accuracy>=0.9' --sort -accuracy --limit 3", 'mlops list --tag team=risk --alias --json'],
  async run(ctx, { name }, options) {
    const { applyQuery, parseLimit, parseRequirement, parseTagFilter } = await import('../../registry/query.js');
    const query = {
      status: options.status,
      tags: (options.tag ?? []).map(parseTagFilter),
      alias: options.alias,
      where: (options.where ?? []).map(parseRequirement),
      sort: options.sort,
      limit: options.limit === undefined ? undefined : parseLimit(options.limit),
    };
    const registry = await openRegistry(ctx);
    const names = name ? [validateName(name)] : await registry.listModels();
    const all = (await Promise.all(names.map((n) => (name ? registry.requireModel(n) : registry.listVersions(n))))).flat();
    const records = applyQuery(all, query);
    // The last deployment per version: one listing per model shown.
    const deployed = new Map<string, DeploymentRecord>();
    for (const model of new Set(records.map((r) => r.name))) {
      for (const d of await registry.deployments(model)) {
        const key = `${d.model}@${d.version}`;
        const seen = deployed.get(key);
        if (!seen || seen.at < d.at) deployed.set(key, d);
      }
    }
    const lastDeployment = (r: VersionRecord) => deployed.get(`${r.name}@${r.version}`);
    if (ctx.ui.json) return ctx.ui.printJson(records.map((r) => ({ ...r, ...(lastDeployment(r) ? { last_deployment: lastDeployment(r) } : {}) })));
    if (records.length === 0) {
      ctx.ui.info(names.length === 0 ? 'the registry has no models yet: mlops register NAME MODEL.onnx' : 'no versions match');
      return;
    }
    ctx.ui.table(
      records.map((r) => {
        const d = lastDeployment(r);
        return {
          name: r.name,
          version: r.version,
          status: statusText(ctx.ui, r.status),
          aliases: (r.aliases ?? []).join(','),
          created: r.created_at.slice(0, 16).replace('T', ' '),
          metrics: keyMetrics(r),
          deployed: d ? `${d.at.slice(0, 16).replace('T', ' ')} ${d.namespace}/${d.color} ${d.outcome}` : '',
        };
      }),
      [
        { key: 'name', header: 'NAME' },
        { key: 'version', header: 'VERSION' },
        { key: 'status', header: 'STATUS' },
        { key: 'aliases', header: 'ALIASES' },
        { key: 'created', header: 'CREATED (UTC)' },
        { key: 'metrics', header: 'METRICS' },
        { key: 'deployed', header: 'LAST DEPLOY' },
      ],
    );
  },
});
