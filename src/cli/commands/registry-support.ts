// Shared by the registry commands: opening the registry and printing a version.
import { Registry } from '../../registry/registry.js';
import type { VersionRecord } from '../../registry/types.js';
import type { Ctx } from '../context.js';
import type { Ui } from '../ui.js';

export function openRegistry(ctx: Ctx): Promise<Registry> {
  return Registry.open(ctx.registryDir, { env: ctx.env });
}

export function statusText(ui: Ui, status: string): string {
  if (status === 'production') return ui.c.green(status);
  if (status === 'staging') return ui.c.yellow(status);
  return ui.c.dim(status);
}

/** The metrics a table shows first when present (the design document's model card). */
const KEY_METRICS = ['accuracy', 'f1_score', 'auc_roc', 'precision', 'recall'];

export function keyMetrics(record: VersionRecord, limit = 3): string {
  const names = [...KEY_METRICS.filter((m) => m in record.metrics), ...Object.keys(record.metrics).filter((m) => !KEY_METRICS.includes(m)).sort()];
  return names
    .slice(0, limit)
    .map((m) => `${m}=${record.metrics[m]}`)
    .join(' ');
}
