// Registry at scale (issue 16): the same commands at 10 and at 10,000 versions of one
// model, in one run. Reading one version, an alias or production reads the model's state
// and one record, never every record, so `show NAME@production`, `promote` and
// `alias set` should stay within 1.2x of their 10-version time; `list` on a fresh clone
// of the 10,000-version folder (no .cache/) should take under 1 s: it reads
// models/<name>/index.json (written by an earlier list) instead of parsing every record.
// The versions are created through the store API (one CLI register, then copies of its
// record under new version numbers), not by 10,000 CLI runs.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'bin', 'mlops');
const V1 = join(root, 'examples/fraud/fraud-v1.onnx');
const dir = mkdtempSync(join(tmpdir(), 'mlops-bench-scale-'));
const env = { ...process.env, MLOPS_USER: 'bench', NO_COLOR: '1', CI: '1' };
const { openStore } = await import(join(root, 'dist/store/open.js'));
const { formatRecord, parseRecord } = await import(join(root, 'dist/registry/records.js'));

const seconds = (start) => Number(process.hrtime.bigint() - start) / 1e9;
// Wall time, and the child's CPU time (user + sys, from /usr/bin/time) which a loaded,
// shared machine disturbs far less.
const cpu = [];
const run = (args) => {
  const start = process.hrtime.bigint();
  const result = spawnSync('/usr/bin/time', ['-f', '@cpu %U %S', 'node', bin, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const wall = seconds(start);
  if (result.status !== 0) throw new Error(`mlops ${args.join(' ')} failed:\n${result.stderr}`);
  const m = /@cpu ([\d.]+) ([\d.]+)/.exec(result.stderr.toString());
  cpu.push(m ? Number(m[1]) + Number(m[2]) : NaN);
  return wall;
};
const lastCpu = () => cpu[cpu.length - 1];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);

async function makeRegistry(count) {
  const location = join(dir, `r${count}`);
  run(['--registry', location, 'register', 'fraud', V1, '--version', 'v1.0.0', '--metric', 'accuracy=0.9']);
  const store = await openStore(location, {});
  const first = await parseRecord((await store.get('models/fraud/versions/v1.0.0.yaml')).body.toString('utf8'), 'bench');
  const start = process.hrtime.bigint();
  let next = 1;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const version = `v1.${Math.floor(i / 1000)}.${i % 1000}`;
      const record = { ...first, version, metrics: { accuracy: 0.8 + (i % 100) / 1000 }, audit_event: undefined };
      delete record.audit_event;
      await store.putIfAbsent(`models/fraud/versions/${version}.yaml`, await formatRecord(record));
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  console.log(`  made ${count} versions through the store API in ${seconds(start).toFixed(1)} s`);
  run(['--registry', location, 'promote', 'fraud', 'v1.0.0']);
  run(['--registry', location, 'alias', 'set', 'fraud', 'champion', 'v1.0.0']);
  // A team's registry has been listed before it is cloned: that list writes models/fraud/index.json.
  run(['--registry', location, 'list']);
  return location;
}

function measure(location) {
  const r = (...args) => run(['--registry', location, ...args]);
  const out = { show: [], promote: [], alias: [], list: [] };
  const cpuOut = { show: [], promote: [], alias: [], list: [] };
  const r2 = (key, ...args) => {
    out[key].push(r(...args));
    cpuOut[key].push(lastCpu());
  };
  for (let i = 0; i < ROUNDS; i++) {
    const target = i % 2 ? 'v1.0.0' : 'v1.0.1';
    r2('show', 'show', 'fraud@production');
    r2('promote', 'promote', 'fraud', target);
    r2('alias', 'alias', 'set', 'fraud', 'champion', target);
  }
  for (let i = 0; i < 3; i++) {
    const clone = `${location}-clone${i}`;
    cpSync(location, clone, { recursive: true });
    rmSync(join(clone, '.cache'), { recursive: true, force: true });
    out.list.push(run(['--registry', clone, 'list']));
    cpuOut.list.push(lastCpu());
    rmSync(clone, { recursive: true, force: true });
  }
  return Object.fromEntries(Object.entries(out).map(([k, xs]) => [k, { median: median(xs), max: Math.max(...xs), cpu: median(cpuOut[k]) }]));
}

try {
  const small = measure(await makeRegistry(10));
  const big = measure(await makeRegistry(10_000));
  const fmt = (x) => `${(x * 1000).toFixed(0)} ms`;
  console.log(`\n  load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')} on ${(await import('node:os')).cpus().length} cores`);
  console.log(`  command (median of ${ROUNDS}; list: 3 fresh clones)   10 versions   10,000 versions   ratio   CPU 10 / 10,000 (ratio)   target`);
  for (const [key, label, target] of [
    ['show', 'show fraud@production', 'ratio <= 1.2'],
    ['promote', 'promote fraud VERSION', 'ratio <= 1.2'],
    ['alias', 'alias set fraud champion VERSION', 'ratio <= 1.2'],
    ['list', 'list (fresh clone, no .cache/)', '10,000 < 1 s'],
  ]) {
    const ratio = big[key].median / small[key].median;
    const cpuRatio = big[key].cpu / small[key].cpu;
    console.log(`  ${label.padEnd(48)} ${fmt(small[key].median).padStart(9)}   ${fmt(big[key].median).padStart(9)} (max ${fmt(big[key].max)})   ${ratio.toFixed(2)}x   ${fmt(small[key].cpu)} / ${fmt(big[key].cpu)} (${cpuRatio.toFixed(2)}x)   ${target}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
