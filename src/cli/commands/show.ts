// mlops show NAME[@VERSION|@production|@staging]: everything known about one version.
import type { CommandDef } from '../command.js';
import { parseModelRef } from '../../registry/names.js';
import { formatShape } from '../../model/signature.js';
import { openRegistry, statusText } from './registry-support.js';

export const showCommand: CommandDef = {
  name: 'show',
  summary: 'show one version: signature, metrics, history, deployments',
  arguments: [{ name: 'ref', description: 'NAME, NAME@VERSION, NAME@production, NAME@staging or NAME@latest (default: production, else latest)', required: true }],
  examples: ['mlops show fraud', 'mlops show fraud@v1.2.0', 'mlops show fraud@staging --json'],
  async run(ctx, [refText]) {
    const registry = await openRegistry(ctx);
    const { name, ref } = parseModelRef(refText!);
    // With a ref: the model's state and one record, never every record.
    const versions = ref ? undefined : await registry.requireModel(name);
    const record = ref ? await registry.resolve(name, ref) : (versions!.find((v) => v.status === 'production') ?? versions![versions!.length - 1]!);
    const deployments = (await registry.deployments(name)).filter((d) => d.version === record.version);
    if (ctx.ui.json) return ctx.ui.printJson({ ...record, artifact_path: registry.artifactPath(record), deployments });
    const { ui } = ctx;
    const line = (label: string, value: string) => ui.out(`${ui.c.bold(label.padEnd(14))}${value}`);
    line('model', `${record.name} ${record.version}`);
    line('status', statusText(ui, record.status));
    line('created', `${record.created_at} by ${record.registered_by}`);
    if (record.description) line('description', record.description);
    line('artifact', `${record.artifact.file} (${record.artifact.size} bytes, sha256 ${record.artifact.sha256})`);
    line('source', record.source.git_commit ? `${record.source.path} @ ${record.source.git_commit.slice(0, 12)}${record.source.git_dirty ? ' (modified)' : ''}` : record.source.path);
    ui.out(ui.c.bold('inputs'));
    for (const t of record.signature.inputs) ui.out(`  ${t.name}  ${t.type} ${formatShape(t.shape)}`);
    ui.out(ui.c.bold('outputs'));
    for (const t of record.signature.outputs) ui.out(`  ${t.name}  ${t.type} ${formatShape(t.shape)}`);
    const metrics = Object.entries(record.metrics);
    if (metrics.length) {
      ui.out(ui.c.bold('metrics'));
      for (const [k, v] of metrics) ui.out(`  ${k} = ${v}`);
    }
    const tags = Object.entries(record.tags);
    if (tags.length) line('tags', tags.map(([k, v]) => `${k}=${v}`).join(' '));
    if (record.reference_data) {
      const r = record.reference_data;
      line('reference', `${r.rows} rows${r.source_rows > r.rows ? ` (sampled from ${r.source_rows})` : ''}, columns ${r.columns.map((c) => c.name).join(', ')}`);
    }
    ui.out(ui.c.bold('history'));
    for (const h of record.history) ui.out(`  ${h.at}  ${h.event.padEnd(11)} ${h.from ? `${h.from} -> ` : ''}${h.status}  by ${h.by}${h.note ? `  (${h.note})` : ''}`);
    if (deployments.length) {
      ui.out(ui.c.bold('deployments'));
      for (const d of deployments) ui.out(`  ${d.at}  ${d.outcome.padEnd(10)} ${d.image}  ${d.namespace}/${d.color}${d.step ? `  failed at ${d.step}` : ''}`);
    }
  },
};
