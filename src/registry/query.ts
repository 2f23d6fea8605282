// `mlops list` filters and order: --tag k=v, --alias, --where 'metric>=x', --sort, --limit.
import { UsageError } from '../errors.js';
import { compare } from '../thresholds.js';
import { compareVersions } from './names.js';
import { parseRequirement, type Requirement } from './promote.js';
import type { VersionRecord } from './types.js';

export interface ListQuery {
  status?: string;
  tags?: Array<[string, string]>;
  /** Only versions holding an alias; a string: only that alias. */
  alias?: boolean | string;
  where?: Requirement[];
  /** 'created', '-created', 'version', 'accuracy', '-accuracy' (a leading '-' is descending). */
  sort?: string;
  limit?: number;
}

export function parseTagFilter(text: string): [string, string] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new UsageError(`cannot read the tag filter '${text}'`, 'write --tag KEY=VALUE, e.g. --tag team=risk');
  return [text.slice(0, eq), text.slice(eq + 1)];
}

export function parseLimit(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--limit '${text}' is not a positive whole number`, 'e.g. --limit 10');
  return n;
}

export { parseRequirement };

export function applyQuery(records: VersionRecord[], query: ListQuery): VersionRecord[] {
  let out = records;
  if (query.status) out = out.filter((r) => r.status === query.status);
  for (const [k, v] of query.tags ?? []) out = out.filter((r) => r.tags[k] === v);
  if (query.alias === true) out = out.filter((r) => (r.aliases ?? []).length > 0);
  else if (typeof query.alias === 'string') out = out.filter((r) => (r.aliases ?? []).includes(query.alias as string));
  for (const w of query.where ?? []) out = out.filter((r) => r.metrics[w.metric] !== undefined && compare(r.metrics[w.metric]!, w.op, w.value));
  if (query.sort) {
    const desc = query.sort.startsWith('-');
    const key = desc ? query.sort.slice(1) : query.sort;
    const cmp = (a: VersionRecord, b: VersionRecord): number => {
      if (key === 'created') return a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0;
      if (key === 'version') return compareVersions(a.version, b.version);
      if (key === 'name') return a.name < b.name ? -1 : a.name > b.name ? 1 : compareVersions(a.version, b.version);
      const x = a.metrics[key];
      const y = b.metrics[key];
      if (x === undefined || y === undefined) return x === undefined ? (y === undefined ? 0 : 1) : -1;
      return x - y;
    };
    // Versions without the metric go last either way.
    out = [...out].sort((a, b) => {
      const missing = (r: VersionRecord) => !['created', 'version', 'name'].includes(key) && r.metrics[key] === undefined;
      if (missing(a) !== missing(b)) return missing(a) ? 1 : -1;
      return desc ? -cmp(a, b) : cmp(a, b);
    });
  }
  if (query.limit) out = out.slice(0, query.limit);
  return out;
}
