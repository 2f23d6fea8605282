// Loaded into a server with NODE_OPTIONS="--import ./test/bench/serve-cpu-probe.mjs" by
// serve-cpu.bench.mjs: keeps this process's GC time and, on SIGUSR2, writes its CPU and GC
// totals so far to $CPU_PROBE_DIR/PID.json (the bench diffs two snapshots per scenario).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';

const dir = process.env.CPU_PROBE_DIR;
if (dir) {
  let gcMs = 0;
  let gcCount = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gcMs += entry.duration;
      gcCount++;
    }
  }).observe({ entryTypes: ['gc'] });
  process.on('SIGUSR2', () => {
    const { user, system } = process.cpuUsage();
    writeFileSync(join(dir, `${process.pid}.json`), JSON.stringify({ cpuUs: user + system, gcMs, gcCount }));
  });
}
