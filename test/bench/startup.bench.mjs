// Startup and list speed: `mlops --help` and `mlops list` on a 1,000-version registry,
// against bare `node -e 0` measured in the same run. Target: each under 0.25 s wall.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'bin', 'mlops');
const dir = mkdtempSync(join(tmpdir(), 'mlops-bench-startup-'));
const registry = join(dir, 'registry');
const TARGET = 0.25;

try {
  // One real register, then 999 more records written the way register writes them.
  execFileSync('node', [bin, '--registry', registry, 'register', 'fraud', join(root, 'examples/fraud/fraud-v1.onnx'), '--metrics-file', join(root, 'examples/fraud/metrics-v1.json'), '--reference-data', join(root, 'examples/fraud/reference.csv'), '--version', 'v1.0.0', '-q']);
  const versionsDir = join(registry, 'models/fraud/versions');
  const template = readFileSync(join(versionsDir, 'v1.0.0.yaml'), 'utf8');
  for (let i = 1; i < 1000; i++) {
    const version = `v1.${Math.floor(i / 100)}.${i % 100}`;
    writeFileSync(join(versionsDir, `${version}.yaml`), template.replace('version: v1.0.0', `version: ${version}`));
  }
  console.log(`registry: ${readdirSync(versionsDir).length} versions`);

  const commands = [
    ['node (baseline)', `node -e 0`],
    ['mlops --help', `node ${bin} --help`],
    ['mlops list (cold cache)', `rm -rf ${registry}/.cache && node ${bin} --registry ${registry} list`],
    ['mlops list', `node ${bin} --registry ${registry} list`],
    ['mlops list --json', `node ${bin} --registry ${registry} list --json`],
  ];
  const hasHyperfine = spawnSync('hyperfine', ['--version']).status === 0;
  const results = [];
  for (const [label, command] of commands) {
    let mean;
    if (hasHyperfine) {
      const out = join(dir, 'h.json');
      execFileSync('hyperfine', ['--warmup', '3', '--runs', '20', '--style', 'none', '--export-json', out, command], { stdio: ['ignore', 'ignore', 'inherit'] });
      mean = JSON.parse(readFileSync(out, 'utf8')).results[0].mean;
    } else {
      const runs = [];
      for (let i = 0; i < 15; i++) {
        const t = process.hrtime.bigint();
        execFileSync('sh', ['-c', command], { stdio: 'ignore' });
        runs.push(Number(process.hrtime.bigint() - t) / 1e9);
      }
      runs.sort((a, b) => a - b);
      mean = runs[Math.floor(runs.length / 2)];
    }
    results.push({ label, mean });
  }
  const base = results[0].mean;
  console.log(`${'command'.padEnd(26)} ${'wall s'.padStart(8)} ${'x node'.padStart(8)}  target`);
  for (const { label, mean } of results) {
    const target = label.startsWith('mlops') && !label.includes('cold') ? (mean < TARGET ? `< ${TARGET} s ok` : `< ${TARGET} s MISSED`) : '';
    console.log(`${label.padEnd(26)} ${mean.toFixed(3).padStart(8)} ${(mean / base).toFixed(2).padStart(8)}  ${target}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
