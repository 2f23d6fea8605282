// The README runs as written: every `sh` block of the walk-through and of "The registry"
// is extracted and run by bash in a temp folder, with the built CLI on PATH. The only
// changes made to the text are the ports (8000, 8001 -> free ones), since other test
// runs share the machine, and the bucket name of the S3 block (a fresh bucket on the
// test S3 server).
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { execa, execaSync } from 'execa';
import { chmod, cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BIN, ROOT, tempDir } from '../support/cli.js';
import { requireOrSkip } from '../support/integration.js';
import { freePort } from '../support/prometheus.js';
import { s3ForTests } from '../support/s3-tests.js';

const s3 = s3ForTests();

/** The `sh` blocks of the README section whose heading starts with `heading`. */
export function shBlocks(readme: string, heading: string): string[] {
  const start = readme.indexOf(`\n## ${heading}`);
  if (start < 0) throw new Error(`README has no section ## ${heading}`);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1]!);
}

let dir: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('mlops-readme-'));
  // The README runs in the project folder: give it the example and `mlops` on PATH.
  await cp(join(ROOT, 'examples'), join(dir, 'examples'), { recursive: true });
  await mkdir(join(dir, 'bin'));
  await writeFile(join(dir, 'bin', 'mlops'), `#!/bin/sh\nexec node ${JSON.stringify(BIN)} "$@"\n`);
  await chmod(join(dir, 'bin', 'mlops'), 0o755);
});
afterEach(async () => cleanup());

async function runScript(blocks: string[], extraEnv: Record<string, string | undefined> = {}) {
  const ports = new Map([
    ['8000', String(await freePort())],
    ['8001', String(await freePort())],
  ]);
  const body = blocks.join('\n').replace(/\b(8000|8001)\b/g, (port) => ports.get(port)!);
  // Stop any server the script left running, whatever happened to the script.
  const script = `set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n${body}`;
  const result = await execa('bash', ['-c', script], {
    cwd: dir,
    env: { ...extraEnv, PATH: `${join(dir, 'bin')}:${process.env.PATH}`, HOME: dir, CI: '1', NO_COLOR: '1', MLOPS_USER: 'readme', MLOPS_REGISTRY: undefined },
    extendEnv: true,
    reject: false,
    timeout: 240_000,
    stdin: 'ignore',
  });
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
}

function partition<T>(items: T[], keep: (item: T) => boolean): [T[], T[]] {
  return [items.filter(keep), items.filter((item) => !keep(item))];
}

function expectNoBug(stderr: string): void {
  expect(stderr).not.toMatch(/internal error|\n\s+at .+:\d+:\d+/);
}

const hasTool = (tool: string) => execaSync('sh', ['-c', `command -v ${tool}`], { reject: false }).exitCode === 0;
const missing = ['bash', 'curl'].filter((tool) => !hasTool(tool));
const skip = requireOrSkip(missing.length === 0, `${missing.join(', ')} not installed`);

describe.skipIf(skip !== undefined)(`README${skip ? ` (skipped: ${skip})` : ''}`, async () => {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const walkThrough = shBlocks(readme, 'Walk-through');
  // "Team registry on S3" (a subsection of "The registry") runs against the test S3 server.
  const [registry, s3Blocks] = partition(shBlocks(readme, 'The registry'), (block) => !block.includes('s3://'));

  it('has the blocks this test runs', () => {
    expect(walkThrough).toHaveLength(1);
    expect(registry).toHaveLength(1);
    expect(s3Blocks).toHaveLength(1);
    // The walk-through waits for its servers with a line the reader can copy.
    expect(walkThrough[0]).toMatch(/curl -sf --retry \d+ --retry-connrefused/);
    expect(walkThrough[0]).toContain('examples/fraud/traffic.csv');
  });

  it('walk-through, then the registry section, run in order as written', { timeout: 300_000 }, async () => {
    const result = await runScript([...walkThrough, ...registry]);
    expectNoBug(result.stderr);
    expect(result.exitCode, `stderr:\n${result.stderr.slice(-3000)}`).toBe(0);
    // 3. both servers became ready; the replay reached the A/B report with feedback.
    expect(result.stdout).toContain('"ready":true');
    expect(result.stdout).toMatch(/mlops_predictions_total\{[^}]*version="v1\.1\.0"/);
    expect(result.stdout).toMatch(/^v1\.0\.0\s+\d{3}\s+\d{3}\s/m);
    expect(result.stdout).toMatch(/verdict: /);
    // 4. conclude: 600 labels are too few for a winner; exit 1 with the sample still needed.
    expect(result.stderr).toMatch(/error: no winner in fraud's experiment yet: .*more requests per variant/);
    expect(result.stdout).toContain('exit 1: no winner yet');
    // 5. clean data passes, drifted data exits 1 and writes the report.
    expect(result.stdout).toContain('no drift in fraud v1.0.0');
    expect(result.stdout).toContain('exit 1: drift found, see drift.html');
    // 6. the production server swapped in v1.1.0 after the promotion.
    expect(result.stdout).toMatch(/"version":"v1\.1\.0","variant":"default"/);
    expect(result.stderr).toContain('fraud v1.1.0: staging -> production');
    // The registry section: automatic numbering, the dry run, a real promotion, the rollback.
    expect(result.stderr).toContain('registered card-fraud v1.0.1');
    expect(result.stderr).toMatch(/rolled back|card-fraud v1\.0\.0.*production/);
  });

  it.skipIf(!s3.available)('the registry section, then "Team registry on S3" against a real S3 server', async () => {
    const bucket = await s3.newBucket('readme');
    const blocks = [...registry, ...s3Blocks.map((block) => block.replaceAll('team-models', bucket))];
    const result = await runScript(blocks, s3.env);
    expectNoBug(result.stderr);
    expect(result.exitCode, `stderr:\n${result.stderr.slice(-3000)}`).toBe(0);
    // The bucket holds the versions the folder had, as the same YAML records.
    const keys = await s3.client().send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'registry/models/card-fraud/versions/' }));
    const inFolder = (await readdir(join(dir, 'mlops-registry', 'models', 'card-fraud', 'versions'))).filter((file) => file.endsWith('.yaml')).sort();
    expect(inFolder.length).toBeGreaterThan(0);
    expect((keys.Contents ?? []).map((object) => object.Key!.split('/').pop()).sort()).toEqual(inFolder);
  });

  it('the registry section runs on its own in an empty folder', async () => {
    const result = await runScript(registry);
    expectNoBug(result.stderr);
    expect(result.exitCode, `stderr:\n${result.stderr.slice(-3000)}`).toBe(0);
    expect(result.stdout).toMatch(/card-fraud\s+v1\.0\.1/);
  });
});
