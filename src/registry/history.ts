// `mlops history NAME`: a model's audit events (register, promote, rollback, alias, tag,
// describe, delete, deploy), newest first. Audit keys start with their UTC time, so
// --since reads only the objects of the window.
import { validateName } from './names.js';
import { mapLimit, type Registry } from './registry.js';
import type { AuditEntry } from './types.js';

export async function modelHistory(registry: Registry, name: string, options: { sinceMs?: number; now: () => Date; limit?: number }): Promise<AuditEntry[]> {
  validateName(name);
  let entries: AuditEntry[];
  if (registry.format === 1) {
    entries = await registry.readAudit();
  } else {
    const from = options.sinceMs === undefined ? '' : `audit/${new Date(options.now().getTime() - options.sinceMs).toISOString().replace(/[-:.]/g, '')}`;
    const keys = (await registry.store.list('audit/')).map((o) => o.key).filter((k) => k >= from);
    entries = (
      await mapLimit(keys, 32, async (key) => {
        const got = await registry.store.get(key);
        try {
          return got ? [JSON.parse(got.body.toString('utf8')) as AuditEntry] : [];
        } catch {
          return []; // a damaged event is skipped, not fatal
        }
      })
    ).flat();
  }
  const since = options.sinceMs === undefined ? undefined : new Date(options.now().getTime() - options.sinceMs).toISOString();
  const mine = entries.filter((e) => e && e.model === name && typeof e.at === 'string' && (!since || e.at >= since));
  // A register whose record never appeared (killed, or lost a version race) is not history.
  const versions = new Set(await registry.versionNames(name));
  const visible = mine.filter((e) => e.action !== 'register' || versions.has(e.version) || mine.some((d) => d.action === 'delete' && (d.version === e.version || d.version === '')));
  visible.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
  return options.limit ? visible.slice(0, options.limit) : visible;
}
