// Where a server's latency tail comes from, measured inside each process without touching
// the server's code: load it with NODE_OPTIONS="--import ./test/bench/loop-probe.mjs"
// (cluster workers inherit it) and PROBE_DIR=DIR. At exit every process writes
// DIR/probe-PID.json: requests it answered, event-loop delay percentiles (a turn that
// blocks for N ms delays every request queued behind it by up to N ms), GC pauses, and
// the time from a request's arrival to its answer's end inside the process.
// Statistics restart when the file DIR/start appears (the bench creates it right before
// the measured run). PROBE_CPU_MS=N: also record a CPU profile for N ms from then
// (DIR/cpu-PID.cpuprofile, for Chrome DevTools or `node test/bench/loop-probe.mjs FILE`).
import cluster from 'node:cluster';
import { Session } from 'node:inspector';
import { existsSync, writeFileSync } from 'node:fs';
import { Server } from 'node:http';
import { join } from 'node:path';
import { PerformanceObserver, createHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

const dir = process.env.PROBE_DIR;
if (dir) {
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const inProcess = createHistogram();
  let gcPauses = [];
  let requests = 0;
  let cpuAtStart = process.cpuUsage();
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcPauses.push({ ms: entry.duration, kind: entry.detail?.kind });
  }).observe({ entryTypes: ['gc'] });
  const emit = Server.prototype.emit;
  Server.prototype.emit = function (event, request, response) {
    if (event === 'request') {
      requests++;
      const start = process.hrtime.bigint();
      response.once('finish', () => inProcess.record(Math.max(1, Number(process.hrtime.bigint() - start))));
    }
    return emit.apply(this, arguments);
  };
  const watch = setInterval(() => {
    if (!existsSync(join(dir, 'start'))) return;
    clearInterval(watch);
    cpuAtStart = process.cpuUsage();
    loop.reset();
    inProcess.reset();
    gcPauses = [];
    requests = 0;
    const cpuMs = Number(process.env.PROBE_CPU_MS ?? 0);
    if (cpuMs > 0 && (cluster.isWorker || Object.keys(cluster.workers ?? {}).length === 0)) {
      const session = new Session();
      session.connect();
      session.post('Profiler.enable', () =>
        session.post('Profiler.start', () =>
          setTimeout(() => session.post('Profiler.stop', (error, result) => !error && writeFileSync(join(dir, `cpu-${process.pid}.cpuprofile`), JSON.stringify(result.profile))), cpuMs).unref(),
        ),
      );
    }
  }, 20);
  watch.unref();
  const ms = (ns) => Math.round((ns / 1e6) * 1000) / 1000;
  const percentiles = (h) => ({ p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), p999: ms(h.percentile(99.9)), max: ms(h.max), count: h.count ?? undefined });
  process.on('exit', () => {
    const pauses = gcPauses.map((g) => g.ms).sort((a, b) => a - b);
    const kinds = {};
    for (const g of gcPauses) kinds[g.kind] = (kinds[g.kind] ?? 0) + 1;
    writeFileSync(
      join(dir, `probe-${process.pid}.json`),
      JSON.stringify({
        pid: process.pid,
        role: cluster.isPrimary ? 'primary' : 'worker',
        requests,
        cpuMs: Math.round((process.cpuUsage(cpuAtStart).user + process.cpuUsage(cpuAtStart).system) / 1000),
        eventLoopDelayMs: percentiles(loop),
        inProcessRequestMs: requests ? percentiles(inProcess) : undefined,
        gc: { count: pauses.length, totalMs: Math.round(pauses.reduce((a, b) => a + b, 0)), maxMs: Math.round((pauses.at(-1) ?? 0) * 1000) / 1000, p99Ms: pauses[Math.floor(pauses.length * 0.99)] ?? 0, kinds },
      }),
    );
  });
}

// `node test/bench/loop-probe.mjs FILE.cpuprofile`: self time by function, top 25.
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()) && process.argv[2]) {
  const { readFileSync } = await import('node:fs');
  const profile = JSON.parse(readFileSync(process.argv[2], 'utf8'));
  const self = new Map();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const deltas = profile.timeDeltas;
  let total = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const frame = node.callFrame;
    const key = `${frame.functionName || '(anonymous)'} ${frame.url.split('/').slice(-2).join('/')}:${frame.lineNumber + 1}`;
    const dt = deltas[i] ?? 0;
    total += dt;
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${((us / total) * 100).toFixed(1).padStart(5)}%  ${key}`);
}
