// `mlops gc`: remove blobs (blobs/sha256/<hex>) that no version record references.
//
// Safe against a register running at the same time, which writes its blobs first, then
// an audit event naming them, then its record:
//   - a blob younger than the grace period (default 1 h, MLOPS_GC_GRACE / --grace) is
//     never collected, so a register that started less than that long ago keeps its blobs;
//   - a blob named by a register audit event of the grace window is kept, and the audit
//     log is read again just before deleting (a register re-using old bytes is seen);
//   - register checks its blobs after writing its record and stores a missing one again.
import { UsageError } from '../errors.js';
import { SHA256_PATTERN } from './records.js';
import { mapLimit, type Registry } from './registry.js';
import type { AuditEntry } from './types.js';

export const DEFAULT_GC_GRACE_MS = 60 * 60 * 1000;

export interface GcResult {
  dry_run: boolean;
  grace_seconds: number;
  blobs: number;
  referenced: number;
  /** Unreferenced but younger than the grace period, or named by a recent register. */
  kept: Array<{ sha256: string; reason: string }>;
  removed: Array<{ sha256: string; size: number }>;
  freed_bytes: number;
}

/** '90s', '30m', '1h', '7d', or plain seconds. */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?$/.exec(text.trim());
  if (!m) throw new UsageError(`cannot read the duration '${text}' for ${flag}`, 'write a number with a unit: 90s, 30m, 1h, 7d, 2w');
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[(m[2] ?? 's') as 'ms'];
  return Number(m[1]) * unit;
}

async function auditSince(registry: Registry, fromKey: string): Promise<{ entries: AuditEntry[]; last: string }> {
  const keys = (await registry.store.list('audit/')).map((o) => o.key).filter((k) => k > fromKey);
  const entries = await mapLimit(keys, 32, async (key) => {
    const got = await registry.store.get(key);
    try {
      return got ? [JSON.parse(got.body.toString('utf8')) as AuditEntry] : [];
    } catch {
      return [];
    }
  });
  return { entries: entries.flat(), last: keys[keys.length - 1] ?? fromKey };
}

const namedBlobs = (entries: AuditEntry[]) => new Set(entries.filter((e) => e.action === 'register').flatMap((e) => [e.sha256, e.reference_sha256]).filter((h): h is string => typeof h === 'string'));

export async function collectGarbage(registry: Registry, options: { now: () => Date; graceMs?: number; dryRun?: boolean }): Promise<GcResult> {
  if (!options.dryRun) registry.requireWritable();
  const graceMs = options.graceMs ?? DEFAULT_GC_GRACE_MS;
  const started = options.now().getTime();
  // The blobs first, the records after: a blob stored after this listing is not a candidate.
  const blobs = (await registry.store.list('blobs/sha256/')).map((o) => o.key.slice('blobs/sha256/'.length)).filter((h) => SHA256_PATTERN.test(h));
  const referenced = new Set<string>();
  for (const name of await registry.listModels()) {
    for (const record of await registry.listVersions(name)) {
      referenced.add(record.artifact.sha256);
      if (record.reference_data) referenced.add(record.reference_data.sha256);
    }
  }
  const windowKey = `audit/${new Date(started - graceMs).toISOString().replace(/[-:.]/g, '')}`;
  let audit = await auditSince(registry, windowKey);
  const recent = namedBlobs(audit.entries);
  const result: GcResult = { dry_run: Boolean(options.dryRun), grace_seconds: graceMs / 1000, blobs: blobs.length, referenced: 0, kept: [], removed: [], freed_bytes: 0 };
  const candidates: Array<{ sha256: string; size: number }> = [];
  for (const sha256 of blobs) {
    if (referenced.has(sha256)) {
      result.referenced++;
      continue;
    }
    if (recent.has(sha256)) {
      result.kept.push({ sha256, reason: 'named by a register of the grace period' });
      continue;
    }
    const head = await registry.store.head(`blobs/sha256/${sha256}`);
    if (!head) continue;
    if (!head.modified || started - head.modified.getTime() < graceMs) {
      result.kept.push({ sha256, reason: 'younger than the grace period' });
      continue;
    }
    candidates.push({ sha256, size: head.size });
  }
  if (!options.dryRun && candidates.length) {
    // Once more, just before deleting: a register that began meanwhile names its blobs.
    audit = await auditSince(registry, audit.last);
    const late = namedBlobs(audit.entries);
    for (const c of candidates) {
      if (late.has(c.sha256)) {
        result.kept.push({ sha256: c.sha256, reason: 'named by a register running now' });
        continue;
      }
      await registry.store.delete(`blobs/sha256/${c.sha256}`);
      result.removed.push(c);
      result.freed_bytes += c.size;
    }
  } else {
    result.removed = candidates;
    result.freed_bytes = candidates.reduce((n, c) => n + c.size, 0);
  }
  return result;
}
