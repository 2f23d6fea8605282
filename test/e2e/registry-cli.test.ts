// End-to-end: the built bin/mlops against registries in temp folders, as users run it.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXAMPLE, expectCleanError, mlops, spawnMlops, tempDir } from '../support/cli.js';

const V1 = join(EXAMPLE, 'fraud-v1.onnx');
const V2 = join(EXAMPLE, 'fraud-v2.onnx');
const REFERENCE = join(EXAMPLE, 'reference.csv');

let dir: string;
let cleanup: () => Promise<void>;
let registry: string;
const reg = (...args: string[]) => mlops(['--registry', registry, ...args], { cwd: dir });

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  registry = join(dir, 'registry');
});
afterEach(async () => cleanup());

async function versionFiles(name: string): Promise<string[]> {
  try {
    return (await readdir(join(registry, 'models', name, 'versions'))).filter((f) => f.endsWith('.yaml'));
  } catch {
    return [];
  }
}

describe('registering and reading versions', () => {
  it('init is idempotent and writes the format file', async () => {
    expect((await reg('init')).exitCode).toBe(0);
    const again = await reg('init', '--json');
    expect(again.exitCode).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ created: false });
    expect(await readFile(join(registry, 'mlops-registry.yaml'), 'utf8')).toMatch(/format: 1/);
  });

  it('records signature, metrics, tags, source, reference data; list and show agree', async () => {
    const result = await reg('register', 'fraud', V1, '--metric', 'accuracy=0.93', '--metrics-file', join(EXAMPLE, 'metrics-v1.json'), '--tag', 'team=risk', '--description', 'first', '--reference-data', REFERENCE, '--json');
    expect(result.exitCode, result.stderr).toBe(0);
    const record = JSON.parse(result.stdout);
    expect(record).toMatchObject({
      name: 'fraud',
      version: 'v1.0.0',
      status: 'staging',
      registered_by: 'tester',
      description: 'first',
      tags: { team: 'risk' },
      artifact: { file: 'fraud-v1.onnx', size: 422 },
      signature: {
        inputs: [{ name: 'features', type: 'float32', shape: ['batch', 10] }],
        outputs: [
          { name: 'label', type: 'int64', shape: ['batch'] },
          { name: 'probabilities', type: 'float32', shape: ['batch', 2] },
        ],
      },
    });
    // --metric wins over the file for the same key; the file's other metrics are kept.
    expect(record.metrics).toMatchObject({ accuracy: 0.93, f1_score: 0.3226, auc_roc: 0.8801 });
    expect(record.artifact.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(record.source.path).toBe(V1);
    expect(record.reference_data).toMatchObject({ rows: 2000, source_rows: 2000 });
    expect(record.reference_data.columns.map((c: { name: string }) => c.name)).toContain('merchant_risk');

    const yaml = await readFile(join(registry, 'models', 'fraud', 'versions', 'v1.0.0.yaml'), 'utf8');
    expect(yaml).toMatch(/status: staging/);
    expect(yaml).toMatch(/created_at:/);

    const second = await reg('register', 'fraud', V2, '--json');
    expect(JSON.parse(second.stdout).version).toBe('v1.0.1');
    const list = await reg('list', '--json');
    expect(JSON.parse(list.stdout).map((r: { version: string }) => r.version)).toEqual(['v1.0.0', 'v1.0.1']);
    const table = await reg('list');
    expect(table.stdout).toMatch(/fraud\s+v1.0.1\s+staging/);

    const show = await reg('show', 'fraud@v1.0.0');
    expect(show.stdout).toMatch(/features\s+float32 \[batch, 10\]/);
    expect(show.stdout).toMatch(/accuracy = 0.93/);
  });

  it('stores the same bytes once (content-addressed)', async () => {
    await reg('register', 'fraud', V1, '--version', 'v1.0.0');
    await reg('register', 'fraud', V1, '--version', 'v1.1.0');
    await reg('register', 'other', V1);
    expect(await readdir(join(registry, 'blobs', 'sha256'))).toHaveLength(1);
  });
});

describe('bad input gets one line, a hint, a documented exit code, and writes nothing', () => {
  it('refuses a file that is not ONNX', async () => {
    const bogus = join(dir, 'bogus.onnx');
    await writeFile(bogus, 'this is not a model');
    const result = await reg('register', 'fraud', bogus);
    expect(result.exitCode).toBe(2);
    expect(expectCleanError(result)).toMatch(/not a loadable ONNX model/);
    expect(await versionFiles('fraud')).toEqual([]);
    expect(await readdir(join(registry, 'blobs', 'sha256'))).toEqual([]);
  });

  it('refuses a truncated ONNX file', async () => {
    const truncated = join(dir, 'truncated.onnx');
    await writeFile(truncated, (await readFile(V1)).subarray(0, 200));
    const result = await reg('register', 'fraud', truncated);
    expect(result.exitCode).toBe(2);
    expectCleanError(result);
    expect(await versionFiles('fraud')).toEqual([]);
  });

  it.each([
    [['register', 'fraud', '/no/such/model.onnx'], 3, /does not exist/],
    [['register', '../evil', V1], 2, /invalid model name/],
    [['register', 'Fraud', V1], 2, /invalid model name/],
    [['register', 'fraud', V1, '--version', '../../x'], 2, /invalid version/],
    [['register', 'fraud', V1, '--metric', 'accuracy=high'], 2, /not a number/],
    [['register', 'fraud', V1, '--metric', 'accuracy'], 2, /not key=value/],
    [['register', 'fraud', V1, '--reference-data', '/no/such.csv'], 3, /does not exist/],
    [['register', 'fraud', V1, '--bogus-flag'], 2, /unknown option/],
  ])('register %j exits %i', async (args, code, message) => {
    const result = await reg(...(args as string[]));
    expect(result.exitCode, result.stderr).toBe(code);
    expect(expectCleanError(result)).toMatch(message as RegExp);
    expect(await versionFiles('fraud')).toEqual([]);
  });

  it('checks reference data against the model input width and types', async () => {
    const narrow = join(dir, 'narrow.csv');
    await writeFile(narrow, 'a,b\n1,2\n');
    let result = await reg('register', 'fraud', V1, '--reference-data', narrow);
    expect(result.exitCode).toBe(2);
    expect(expectCleanError(result)).toMatch(/2 columns but the model takes 10 features/);
    const text = join(dir, 'text.csv');
    const header = 'a,b,c,d,e,f,g,h,i,j';
    await writeFile(text, `${header}\n1,2,3,4,5,6,7,8,9,10\n1,2,3,x,5,6,7,8,9,10\n`);
    result = await reg('register', 'fraud', V1, '--reference-data', text);
    expect(result.exitCode).toBe(2);
    expect(expectCleanError(result)).toMatch(/line 3, column 'd': 'x' is not a number/);
    const empty = join(dir, 'empty.csv');
    await writeFile(empty, `${header}\n`);
    result = await reg('register', 'fraud', V1, '--reference-data', empty);
    expect(result.exitCode).toBe(2);
    expect(expectCleanError(result)).toMatch(/no rows/);
    expect(await versionFiles('fraud')).toEqual([]);
  });

  it('refuses to overwrite a registered version', async () => {
    await reg('register', 'fraud', V1, '--version', '1.0.0');
    const result = await reg('register', 'fraud', V2, '--version', 'v1.0.0');
    expect(result.exitCode).toBe(2);
    expect(expectCleanError(result)).toMatch(/already registered; versions are immutable/);
  });

  it('gives exit 3 with a hint for a missing registry, model or version', async () => {
    let result = await reg('list');
    expect(result.exitCode).toBe(3);
    expect(expectCleanError(result)).toMatch(/no registry at/);
    expect(result.stderr).toMatch(/hint: run `mlops init`/);
    await reg('register', 'fraud', V1);
    result = await reg('show', 'nope');
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toMatch(/known models: fraud/);
    result = await reg('show', 'fraud@v9.9.9');
    expect(result.exitCode).toBe(3);
    result = await reg('promote', 'fraud', 'v9.9.9');
    expect(result.exitCode).toBe(3);
    result = await reg('show', 'fraud@production');
    expect(result.exitCode).toBe(3);
    expect(expectCleanError(result)).toMatch(/no production version/);
  });

  it('prints errors as JSON with --json', async () => {
    const result = await reg('show', 'fraud', '--json');
    expect(result.exitCode).toBe(3);
    expect(JSON.parse(result.stdout)).toMatchObject({ error: { code: 'registry_not_found', message: expect.stringMatching(/no registry/), hint: expect.any(String) } });
  });
});

describe('promote and rollback', () => {
  beforeEach(async () => {
    await reg('register', 'fraud', V1, '--metrics-file', join(EXAMPLE, 'metrics-v1.json'));
    await reg('register', 'fraud', V2, '--metrics-file', join(EXAMPLE, 'metrics-v2.json'));
  });

  const statuses = async () => Object.fromEntries(JSON.parse((await reg('list', 'fraud', '--json')).stdout).map((r: { version: string; status: string }) => [r.version, r.status]));

  it('promotes, archives the previous production version, and rolls back', async () => {
    expect((await reg('promote', 'fraud', 'v1.0.0', '--require', 'accuracy>=0.8')).exitCode).toBe(0);
    expect(await statuses()).toEqual({ 'v1.0.0': 'production', 'v1.0.1': 'staging' });
    expect((await reg('promote', 'fraud', 'v1.0.1', '--no-regress', 'accuracy,f1_score')).exitCode).toBe(0);
    expect(await statuses()).toEqual({ 'v1.0.0': 'archived', 'v1.0.1': 'production' });
    const rolled = await reg('rollback', 'fraud');
    expect(rolled.exitCode, rolled.stderr).toBe(0);
    expect(await statuses()).toEqual({ 'v1.0.0': 'production', 'v1.0.1': 'archived' });
    const audit = (await readFile(join(registry, 'audit.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).action);
    expect(audit).toEqual(['register', 'register', 'promote', 'promote', 'promote', 'rollback', 'rollback']);
  });

  it('a failed gate exits 1, names each failing condition with both values, and changes nothing', async () => {
    await reg('promote', 'fraud', 'v1.0.0');
    const result = await reg('promote', 'fraud', 'v1.0.1', '--require', 'accuracy>=0.95', '--no-regress', 'auc_roc');
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/FAIL\s+accuracy = 0.8748 fails >= 0.95/);
    expect(result.stderr).toMatch(/FAIL\s+auc_roc 0.8797 \(v1.0.1\) is worse than 0.8801 \(production v1.0.0\)/);
    expect(await statuses()).toEqual({ 'v1.0.0': 'production', 'v1.0.1': 'staging' });
  });

  it('--dry-run prints the plan and changes nothing', async () => {
    const result = await reg('promote', 'fraud', 'v1.0.1', '--dry-run', '--json');
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ dry_run: true, changes: [{ version: 'v1.0.1', from: 'staging', to: 'production' }] });
    expect(await statuses()).toEqual({ 'v1.0.0': 'staging', 'v1.0.1': 'staging' });
  });
});

describe('concurrent writers', () => {
  it('eight registers at once with different versions all succeed', async () => {
    await reg('init');
    const runs = await Promise.all(Array.from({ length: 8 }, (_, i) => reg('register', 'fraud', i % 2 ? V1 : V2, '--version', `v1.${i}.0`)));
    for (const run of runs) expect(run.exitCode, run.stderr).toBe(0);
    const versions = JSON.parse((await reg('list', 'fraud', '--json')).stdout).map((r: { version: string }) => r.version);
    expect(versions).toEqual(Array.from({ length: 8 }, (_, i) => `v1.${i}.0`));
  });

  it('eight registers at once without --version get eight distinct versions', async () => {
    const runs = await Promise.all(Array.from({ length: 8 }, () => reg('register', 'fraud', V1, '--json')));
    for (const run of runs) expect(run.exitCode, run.stderr).toBe(0);
    const versions = runs.map((r) => JSON.parse(r.stdout).version).sort();
    expect(new Set(versions).size).toBe(8);
  });

  it('two promotions at once leave exactly one production version', async () => {
    await reg('register', 'fraud', V1);
    await reg('register', 'fraud', V2);
    for (let round = 0; round < 3; round++) {
      const runs = await Promise.all([reg('promote', 'fraud', 'v1.0.0'), reg('promote', 'fraud', 'v1.0.1')]);
      for (const run of runs) expect(run.exitCode, run.stderr).toBe(0);
      const records = JSON.parse((await reg('list', 'fraud', '--json')).stdout) as Array<{ status: string }>;
      expect(records.filter((r) => r.status === 'production')).toHaveLength(1);
    }
  });

  it('a register killed midway leaves no visible version, and the next one breaks its stale lock', async () => {
    // A big reference file keeps register busy long enough to be killed at several points.
    const big = join(dir, 'big.csv');
    const row = (await readFile(REFERENCE, 'utf8')).split('\n')[1];
    const header = (await readFile(REFERENCE, 'utf8')).split('\n')[0];
    await writeFile(big, `${header}\n${`${row}\n`.repeat(150_000)}`);
    await reg('init');
    for (const delay of [150, 400, 700]) {
      const child = spawnMlops(['--registry', registry, 'register', 'fraud', V1, '--reference-data', big], { cwd: dir });
      await new Promise((r) => setTimeout(r, delay));
      child.kill('SIGKILL');
      await child;
      const files = await versionFiles('fraud');
      // Either the version is whole (register finished) or absent; never a temp file or half a record.
      for (const file of files) expect((await readFile(join(registry, 'models', 'fraud', 'versions', file), 'utf8'))).toMatch(/history:/);
      const list = await reg('list', '--json');
      expect(list.exitCode, list.stderr).toBe(0);
    }
    // Simulate a writer killed while holding the lock: a lock folder owned by a dead pid.
    await mkdir(join(registry, 'models', 'fraud', '.lock'), { recursive: true });
    await writeFile(join(registry, 'models', 'fraud', '.lock', 'owner.json'), JSON.stringify({ pid: 999_999, host: (await import('node:os')).hostname(), at: new Date().toISOString() }));
    const after = await reg('register', 'fraud', V2, '--version', 'v5.0.0');
    expect(after.exitCode, after.stderr).toBe(0);
    expect(after.stderr).toMatch(/broke a stale lock .*no longer running/);
  });
});
