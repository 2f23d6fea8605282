// mlops ui on a 10,000-version registry: start-up time, then the latency of the models page
// and a model's page (target: each under 300 ms), and a few other pages for context.
// The registry: one real `mlops register` (with metrics and reference data) and one promote,
// then 9,999 more version records and their audit events written as register writes them
// (copies of the real ones with the version changed): fraud has 9,000 versions, m0..m9 100 each.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'bin', 'mlops');
// UI_BENCH_DIR=DIR keeps the registry there (and reuses it on the next run).
const keep = process.env.UI_BENCH_DIR;
const dir = keep ?? mkdtempSync(join(tmpdir(), 'mlops-bench-ui-'));
const registry = join(dir, 'registry');
const TARGET_MS = 300;
const RUNS = 50;

const mlops = (...args) => execFileSync('node', [bin, '--registry', registry, ...args, '-q'], { env: { ...process.env, MLOPS_USER: 'bench', NO_COLOR: '1' } });

function build() {
  mlops('register', 'fraud', join(root, 'examples/fraud/fraud-v1.onnx'), '--metrics-file', join(root, 'examples/fraud/metrics-v1.json'), '--reference-data', join(root, 'examples/fraud/reference.csv'), '--tag', 'team=risk', '--version', 'v1.0.0');
  mlops('promote', 'fraud', 'v1.0.0', '--to', 'production');
  const template = readFileSync(join(registry, 'models/fraud/versions/v1.0.0.yaml'), 'utf8');
  const auditDir = join(registry, 'audit');
  const auditKey = readdirSync(auditDir).find((f) => f.endsWith('.json') && JSON.parse(readFileSync(join(auditDir, f), 'utf8')).action === 'register');
  const auditTemplate = JSON.parse(readFileSync(join(auditDir, auditKey), 'utf8'));
  const t0 = Date.parse(auditTemplate.at);
  let n = 1;
  const write = (model, version) => {
    const at = new Date(t0 + n * 1000).toISOString();
    const key = `audit/${at.replace(/[-:.]/g, '')}-${n.toString(16).padStart(12, '0')}.json`;
    const record = template
      .replace(/^name: fraud$/m, `name: ${model}`)
      .replace('version: v1.0.0', `version: ${version}`)
      .replace(/^created_at: .*$/m, `created_at: ${at}`)
      .replace(/^audit_event: .*$/m, `audit_event: ${key}`)
      .replace(/accuracy: [0-9.]+/, `accuracy: ${(0.8 + (n % 1000) / 10_000).toFixed(4)}`);
    mkdirSync(join(registry, 'models', model, 'versions'), { recursive: true });
    writeFileSync(join(registry, 'models', model, 'versions', `${version}.yaml`), record);
    writeFileSync(join(registry, key), `${JSON.stringify({ ...auditTemplate, at, model, version })}\n`);
    n++;
  };
  for (let i = 1; i < 9000; i++) write('fraud', `v${1 + Math.floor(i / 1000)}.${Math.floor(i / 10) % 100}.${i % 10}`);
  for (let m = 0; m < 10; m++) for (let i = 0; i < 100; i++) write(`m${m}`, `v1.${Math.floor(i / 10)}.${i % 10}`);
  let total = 0;
  for (const model of readdirSync(join(registry, 'models'))) total += readdirSync(join(registry, 'models', model, 'versions')).length;
  return total;
}

function startUi() {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [bin, '--registry', registry, 'ui', '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr.on('data', (chunk) => {
      err += chunk;
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) resolve({ child, url: m[1], startMs: Number(process.hrtime.bigint() - started) / 1e6 });
    });
    child.once('exit', (code) => reject(new Error(`mlops ui exited ${code}: ${err}`)));
  });
}

async function time(url, headers = {}) {
  const t = process.hrtime.bigint();
  const r = await fetch(url, { headers });
  const body = await r.text();
  if (r.status !== 200) throw new Error(`${url}: ${r.status} ${body.slice(0, 200)}`);
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, bytes: body.length };
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

let ui;
let failed = false;
try {
  const t = Date.now();
  const versions = keep && existsSync(join(registry, 'models')) ? 10_000 : build();
  console.log(`registry: ${versions} versions in 11 models (fraud: 9,000), ${readdirSync(join(registry, 'audit')).length} audit events; built in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  ui = await startUi();
  console.log(`mlops ui start-up (spawn to listening line): ${ui.startMs.toFixed(0)} ms; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const pages = [
    ['models page', '/', true],
    ["a model's page (fraud, 9,000 versions)", '/models/fraud', true],
    ["a model's page, sorted by accuracy", '/models/fraud?sort=metric%3Aaccuracy', false],
    ["a model's page, JSON", '/models/fraud', false, { accept: 'application/json' }],
    ["a small model's page (100 versions)", '/models/m3', false],
    ['a version', '/models/fraud/versions/v1.0.0', false],
    ['compare 3 versions', '/models/fraud/compare?v=v1.0.0&v=v2.0.0&v=v9.99.9', false],
  ];
  console.log(`\n${'page'.padEnd(42)} ${'first'.padStart(8)} ${'p50'.padStart(8)} ${'p99'.padStart(8)} ${'max'.padStart(8)}  size`);
  for (const [label, path, target, headers] of pages) {
    const first = await time(`${ui.url}${path}`, headers);
    const runs = [];
    for (let i = 0; i < RUNS; i++) runs.push((await time(`${ui.url}${path}`, headers)).ms);
    runs.sort((a, b) => a - b);
    const p99 = pct(runs, 99);
    const verdict = target ? (p99 < TARGET_MS ? `  ok (< ${TARGET_MS} ms)` : `  OVER ${TARGET_MS} ms`) : '';
    if (target && p99 >= TARGET_MS) failed = true;
    console.log(`${label.padEnd(42)} ${first.ms.toFixed(0).padStart(6)}ms ${pct(runs, 50).toFixed(0).padStart(6)}ms ${p99.toFixed(0).padStart(6)}ms ${runs[runs.length - 1].toFixed(0).padStart(6)}ms  ${(first.bytes / 1024).toFixed(0)} KiB${verdict}`);
  }
  console.log(`\n(${RUNS} sequential requests each after the first; "first" includes reading and caching the records once)`);
  // For the registry's owners: its own listing, which the UI calls once per model and then
  // replaces by one listing plus the records it has not seen (src/ui/data.ts versionsOf).
  const { Registry } = await import(join(root, 'dist', 'registry', 'registry.js'));
  const registryApi = await Registry.open(registry);
  const listRuns = [];
  for (let i = 0; i < 5; i++) {
    const t = process.hrtime.bigint();
    await registryApi.listVersions('fraud');
    listRuns.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  listRuns.sort((a, b) => a - b);
  console.log(`Registry.listVersions('fraud') in-process, 9,000 versions, warm .cache: median ${listRuns[2].toFixed(0)} ms, max ${listRuns[4].toFixed(0)} ms`);
  // The same pages in-process, with the CPU time they take: on a shared, loaded machine the
  // wall-clock p99 above is mostly waiting for a core; CPU time says what a page costs.
  const data = await import(join(root, 'dist', 'ui', 'data.js'));
  const pagesHtml = await import(join(root, 'dist', 'ui', 'pages.js'));
  const inProcess = [
    ['models page', async () => pagesHtml.renderModels(await data.modelsPage(registryApi, {}))],
    ["a model's page (9,000 versions)", async () => pagesHtml.renderModel(await data.modelPage(registryApi, 'fraud'))],
  ];
  for (const [label, fn] of inProcess) {
    await fn();
    const wall = [];
    const cpu = [];
    for (let i = 0; i < 20; i++) {
      const t = process.hrtime.bigint();
      const c = process.cpuUsage();
      await fn();
      const used = process.cpuUsage(c);
      wall.push(Number(process.hrtime.bigint() - t) / 1e6);
      cpu.push((used.user + used.system) / 1000);
    }
    wall.sort((a, b) => a - b);
    cpu.sort((a, b) => a - b);
    console.log(`in-process ${label.padEnd(32)} wall p50 ${pct(wall, 50).toFixed(0)} ms, p99 ${pct(wall, 99).toFixed(0)} ms; CPU p50 ${pct(cpu, 50).toFixed(0)} ms, p99 ${pct(cpu, 99).toFixed(0)} ms`);
  }
} finally {
  ui?.child.kill('SIGTERM');
  if (!keep) rmSync(dir, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;
