// How many cores this process may really use: the machine's, capped by a cgroup v2 CPU
// quota (a container's CPU limit), so that `--workers` defaults to what the pod gets
// rather than to every core of the node it landed on.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** cpu.max holds "QUOTA PERIOD" or "max PERIOD": the cores the quota allows, rounded up. */
export function coresFromCpuMax(text: string): number | undefined {
  const [quota, period] = text.trim().split(/\s+/);
  if (quota === undefined || quota === 'max' || period === undefined) return undefined;
  const cores = Number(quota) / Number(period);
  return Number.isFinite(cores) && cores > 0 ? Math.max(1, Math.ceil(cores)) : undefined;
}

export function usableCores(cpuMaxPath = '/sys/fs/cgroup/cpu.max'): number {
  const machine = availableParallelism();
  let limit: number | undefined;
  try {
    limit = coresFromCpuMax(readFileSync(cpuMaxPath, 'utf8'));
  } catch {
    limit = undefined; // no cgroup v2 file: not limited
  }
  return limit === undefined ? machine : Math.min(machine, limit);
}
