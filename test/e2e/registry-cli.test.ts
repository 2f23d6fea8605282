// End-to-end: the built bin/mlops against a registry in a temp folder and in a bucket
// (when the test RGW runs), as users run it. The same suite runs on both backends.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ObjectStore } from '../../src/store/types.js';
import { EXAMPLE, expectCleanError, mlops, spawnMlops, tempDir } from '../support/cli.js';
import { registryBackends } from '../support/registry-backends.js';

const V1 = join(EXAMPLE, 'fraud-v1.onnx');
const V2 = join(EXAMPLE, 'fraud-v2.onnx');
const REFERENCE = join(EXAMPLE, 'reference.csv');

const backends = await registryBackends();

describe.each(backends)('$name registry', (backend) => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let registry: string;
  let store: ObjectStore;
  // A cache folder per test: a bucket's blobs are cached locally by sha256, and a cached
  // (verified) copy would hide a tampered object in the bucket.
  const env = () => ({ ...backend.env, MLOPS_CACHE_DIR: join(dir, 'cache') });
  const reg = (...args: string[]) => mlops(['--registry', registry, ...args], { cwd: dir, env: env() });

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    registry = await backend.location(dir);
    store = await backend.store(registry);
  });
  afterEach(async () => cleanup());

  const keys = async (prefix: string) => (await store.list(prefix)).map((o) => o.key);
  const versionFiles = async (name: string) => (await keys(`models/${name}/versions/`)).filter((k) => k.endsWith('.yaml'));
  const text = async (key: string) => (await store.get(key))?.body.toString('utf8');
  const auditActions = async () => Promise.all((await keys('audit/')).map(async (k) => JSON.parse((await text(k))!).action as string));

  describe('registering and reading versions', () => {
    it('init is idempotent and writes the format file', async () => {
      expect((await reg('init')).exitCode).toBe(0);
      const again = await reg('init', '--json');
      expect(again.exitCode).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({ created: false });
      expect(await text('mlops-registry.yaml')).toMatch(/format: 2/);
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
      expect(record.metrics).toMatchObject({ accuracy: 0.93, f1_score: 0.3226, auc_roc: 0.8801 });
      expect(record.artifact.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(record.source.path).toBe(V1);
      expect(record.reference_data).toMatchObject({ rows: 2000, source_rows: 2000 });
      expect(record.reference_data.columns.map((c: { name: string }) => c.name)).toContain('merchant_risk');

      // The stored record is readable YAML and immutable: no status in it (that lives in state.yaml).
      const yaml = (await text('models/fraud/versions/v1.0.0.yaml'))!;
      expect(yaml).toMatch(/created_at:/);
      expect(yaml).not.toMatch(/^status:/m);
      expect(yaml).toMatch(/audit_event: audit\//);

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
      expect(await keys('blobs/sha256/')).toHaveLength(1);
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
      expect(await keys('blobs/')).toEqual([]);
    });

    it.each([
      [['register', 'fraud', '/no/such/model.onnx'], 3, /does not exist/],
      [['register', '../evil', V1], 2, /invalid model name/],
      [['register', 'fraud', V1, '--version', '../../x'], 2, /invalid version/],
      [['register', 'fraud', V1, '--version', `v1.0.0-${'a'.repeat(300)}`], 2, /characters long/],
      [['register', 'fraud', V1, '--metric', 'accuracy=high'], 2, /not a number/],
      [['register', 'fraud', V1, '--reference-data', '/no/such.csv'], 3, /does not exist/],
    ])('register %j exits %i', async (args, code, message) => {
      const result = await reg(...(args as string[]));
      expect(result.exitCode, result.stderr).toBe(code);
      expect(expectCleanError(result)).toMatch(message as RegExp);
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
  });

  describe('promote and rollback', () => {
    beforeEach(async () => {
      await reg('register', 'fraud', V1, '--metrics-file', join(EXAMPLE, 'metrics-v1.json'));
      await reg('register', 'fraud', V2, '--metrics-file', join(EXAMPLE, 'metrics-v2.json'));
    });

    const statuses = async () => Object.fromEntries(JSON.parse((await reg('list', 'fraud', '--json')).stdout).map((r: { version: string; status: string }) => [r.version, r.status]));

    it('promotes, archives the previous production version, and rolls back; one audit event each', async () => {
      expect((await reg('promote', 'fraud', 'v1.0.0', '--require', 'accuracy>=0.8')).exitCode).toBe(0);
      expect(await statuses()).toEqual({ 'v1.0.0': 'production', 'v1.0.1': 'staging' });
      expect((await reg('promote', 'fraud', 'v1.0.1', '--no-regress', 'accuracy,f1_score')).exitCode).toBe(0);
      expect(await statuses()).toEqual({ 'v1.0.0': 'archived', 'v1.0.1': 'production' });
      const rolled = await reg('rollback', 'fraud');
      expect(rolled.exitCode, rolled.stderr).toBe(0);
      expect(await statuses()).toEqual({ 'v1.0.0': 'production', 'v1.0.1': 'archived' });
      expect(await auditActions()).toEqual(['register', 'register', 'promote', 'promote', 'promote', 'rollback', 'rollback']);
      expect(await text('models/fraud/state.yaml')).toMatch(/production: v1.0.0/);
      const show = await reg('show', 'fraud@v1.0.1');
      expect(show.stdout).toMatch(/rolled_back\s+production -> archived/);
    });

    it('a failed gate exits 1, names each failing condition with both values, and changes nothing', async () => {
      await reg('promote', 'fraud', 'v1.0.0');
      const result = await reg('promote', 'fraud', 'v1.0.1', '--require', 'accuracy>=0.95', '--no-regress', 'auc_roc');
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toMatch(/FAIL\s+accuracy = 0.8748 fails >= 0.95/);
      expect(result.stderr).toMatch(/FAIL\s+auc_roc 0.8797 \(v1.0.1\) is worse than 0.8801 \(production v1.0.0\)/);
      expect(await statuses()).toEqual({ 'v1.0.0': 'production', 'v1.0.1': 'staging' });
    });

    it('a misspelt metric in --require is exit 2 with "did you mean" and the version\'s metrics', async () => {
      const result = await reg('promote', 'fraud', 'v1.0.1', '--require', 'acuracy>=0.8');
      expect(result.exitCode).toBe(2);
      expect(expectCleanError(result)).toMatch(/has no metric 'acuracy'/);
      expect(result.stderr).toMatch(/hint: did you mean accuracy\? its metrics: .*accuracy/);
      expect(await statuses()).toEqual({ 'v1.0.0': 'staging', 'v1.0.1': 'staging' });
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

    it.each([8, 32])('%i registers at once without --version get distinct versions, all listed, each with its audit event', async (count) => {
      await reg('init');
      const runs = await Promise.all(Array.from({ length: count }, () => reg('register', 'fraud', V1, '--json')));
      for (const run of runs) expect(run.exitCode, run.stderr).toBe(0);
      const versions = runs.map((r) => JSON.parse(r.stdout).version).sort();
      expect(new Set(versions).size).toBe(count);
      const listed = JSON.parse((await reg('list', 'fraud', '--json')).stdout).map((r: { version: string }) => r.version);
      expect(listed.sort()).toEqual(versions);
      // Withdrawn attempts leave no audit event: exactly one register event per version.
      expect((await auditActions()).filter((a) => a === 'register')).toHaveLength(count);
    }, 240_000);

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

    it('a register SIGKILLed at several points leaves no visible version without its audit event', async () => {
      // A big reference file keeps register busy long enough to be killed at several points.
      const big = join(dir, 'big.csv');
      const lines = (await readFile(REFERENCE, 'utf8')).split('\n');
      await writeFile(big, `${lines[0]}\n${`${lines[1]}\n`.repeat(150_000)}`);
      await reg('init');
      for (const delay of [150, 400, 700, 1000, 1300]) {
        const child = spawnMlops(['--registry', registry, 'register', 'fraud', V1, '--reference-data', big], { cwd: dir, env: env() });
        await new Promise((r) => setTimeout(r, delay));
        child.kill('SIGKILL');
        await child;
        for (const key of await versionFiles('fraud')) {
          const event = /audit_event: (\S+)/.exec((await text(key))!)?.[1];
          expect(event, key).toBeDefined();
          expect(await store.get(event!), `${key} names ${event}`).toBeDefined();
        }
        const list = await reg('list', '--json');
        expect(list.exitCode, list.stderr).toBe(0);
      }
      const after = await reg('register', 'fraud', V2, '--version', 'v5.0.0');
      expect(after.exitCode, after.stderr).toBe(0);
    });
  });

  describe('trusts nothing it reads', () => {
    beforeEach(async () => {
      const result = await reg('register', 'fraud', V1, '--reference-data', REFERENCE);
      expect(result.exitCode, result.stderr).toBe(0);
    });

    const recordKey = 'models/fraud/versions/v1.0.0.yaml';
    const sha = async (field: 'artifact' | 'reference_data') => new RegExp(`${field}:[\\s\\S]*?sha256: ([0-9a-f]{64})`).exec((await text(recordKey))!)![1]!;
    /** Replace an object's bytes behind mlops's back (as a damaged disk or a careless hand would). */
    const overwrite = async (key: string, body: string | Buffer) => {
      const file = join(dir, 'tamper');
      await writeFile(file, body);
      await store.putFile(key, file);
    };

    it('a flipped byte in a blob is refused, naming the version', async () => {
      const key = `blobs/sha256/${await sha('reference_data')}`;
      const bytes = (await store.get(key))!.body;
      bytes[bytes.length - 5]! ^= 0xff;
      await overwrite(key, bytes);
      const drift = await reg('drift-check', 'fraud@v1.0.0', '--current', REFERENCE);
      expect(drift.exitCode, drift.stderr).toBe(2);
      expect(expectCleanError(drift)).toMatch(/fraud v1.0.0's reference data do not match its sha256/);

      const artifact = `blobs/sha256/${await sha('artifact')}`;
      const model = (await store.get(artifact))!.body;
      model[10]! ^= 0x01;
      await overwrite(artifact, model);
      const copy = await reg('registry', 'copy', registry, join(dir, 'copy'));
      expect(copy.exitCode, copy.stderr).toBe(2);
      expect(expectCleanError(copy)).toMatch(/fraud v1.0.0 do not match its sha256/);
    });

    it('serve refuses a model whose blob does not match its sha256, naming the version', async () => {
      expect((await reg('promote', 'fraud', 'v1.0.0')).exitCode).toBe(0);
      const key = `blobs/sha256/${await sha('artifact')}`;
      const model = (await store.get(key))!.body;
      model[20]! ^= 0x01;
      await overwrite(key, model);
      const served = await reg('serve', '--host', '127.0.0.1', '--port', '0', '--workers', '1');
      expect(served.exitCode, served.stderr).toBe(2);
      expect(expectCleanError(served)).toMatch(/the stored bytes of fraud v1.0.0 do not match its sha256/);
    });

    it.each([
      ['version', /^version: v1.0.0$/m, 'version: ../../../outside'],
      ['artifact sha256', /^(  )sha256: [0-9a-f]{64}$/m, '$1sha256: ../../../../outside'],
      ['artifact file', /^(  )file: fraud-v1.onnx$/m, '$1file: ../../outside.onnx'],
    ])('a record with a path in its %s is refused with exit 2, nothing outside touched', async (_field, pattern, replacement) => {
      const original = (await text(recordKey))!;
      const edited = original.replace(pattern, replacement);
      expect(edited).not.toBe(original);
      await overwrite(recordKey, edited);
      const before = (await import('node:fs')).readdirSync(dir).sort();
      for (const args of [['list', 'fraud'], ['show', 'fraud@v1.0.0'], ['drift-check', 'fraud@v1.0.0', '--current', REFERENCE], ['promote', 'fraud', 'v1.0.0']]) {
        const result = await reg(...args);
        expect(result.exitCode, `${args.join(' ')}: ${result.stderr}`).toBe(2);
        expect(expectCleanError(result)).toMatch(/is not a (version|sha256|file name)|it says/);
      }
      expect((await import('node:fs')).readdirSync(dir).sort()).toEqual(before);
    });

    it('a hand-edited state naming a path is refused', async () => {
      await reg('promote', 'fraud', 'v1.0.0');
      await overwrite('models/fraud/state.yaml', 'format: 2\nname: fraud\nproduction: ../../etc/passwd\n');
      const result = await reg('show', 'fraud@production');
      expect(result.exitCode).toBe(2);
      expect(expectCleanError(result)).toMatch(/production '..\/..\/etc\/passwd' is not a version/);
    });
  });

  describe('registry copy', () => {
    it('copies to a folder and back, resumably, and the copy serves the same versions', async () => {
      await reg('register', 'fraud', V1, '--reference-data', REFERENCE);
      await reg('register', 'fraud', V2);
      await reg('promote', 'fraud', 'v1.0.1');
      const target = join(dir, 'copy');
      const first = await reg('registry', 'copy', registry, target, '--json');
      expect(first.exitCode, first.stderr).toBe(0);
      expect(JSON.parse(first.stdout)).toMatchObject({ copied: { versions: 2, blobs: 3, states: 1 } });
      const again = await reg('registry', 'copy', registry, target, '--json');
      expect(JSON.parse(again.stdout)).toMatchObject({ copied: { versions: 0, blobs: 0 }, skipped: { versions: 2, blobs: 3 } });
      const show = await mlops(['--registry', target, 'show', 'fraud@production', '--json'], { cwd: dir, env: env() });
      expect(JSON.parse(show.stdout)).toMatchObject({ version: 'v1.0.1', status: 'production' });
    });
  });
});

describe('folder only', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let registry: string;
  const reg = (...args: string[]) => mlops(['--registry', registry, ...args], { cwd: dir });
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    registry = join(dir, 'registry');
  });
  afterEach(async () => cleanup());

  it('refuses a symlink inside the registry', async () => {
    const { symlink, rm } = await import('node:fs/promises');
    await reg('register', 'fraud', V1);
    const outside = join(dir, 'outside.yaml');
    await writeFile(outside, await readFile(join(registry, 'models/fraud/versions/v1.0.0.yaml')));
    await rm(join(registry, 'models/fraud/versions/v1.0.0.yaml'));
    await symlink(outside, join(registry, 'models/fraud/versions/v1.0.0.yaml'));
    const result = await reg('show', 'fraud@v1.0.0');
    expect(result.exitCode).toBe(2);
    expect(expectCleanError(result)).toMatch(/symbolic link inside the registry/);
  });

  it('reads a format-1 folder, refuses to change it with a hint, and migrates it on request', async () => {
    const { mkdir } = await import('node:fs/promises');
    await reg('register', 'fraud', V1);
    const v2 = (await readFile(join(registry, 'models/fraud/versions/v1.0.0.yaml'), 'utf8')).replace(/^audit_event: .*\n/m, '');
    // What an older mlops wrote: status and history inside the record, audit.jsonl.
    const old = join(dir, 'old');
    await mkdir(join(old, 'models/fraud/versions'), { recursive: true });
    await mkdir(join(old, 'blobs'), { recursive: true });
    const { cp } = await import('node:fs/promises');
    await cp(join(registry, 'blobs'), join(old, 'blobs'), { recursive: true });
    await writeFile(join(old, 'mlops-registry.yaml'), 'format: 1\n');
    await writeFile(join(old, 'models/fraud/versions/v1.0.0.yaml'), `${v2}status: production\nhistory:\n  - at: "2026-01-01T00:00:00.000Z"\n    by: t\n    event: registered\n    status: staging\n  - at: "2026-01-02T00:00:00.000Z"\n    by: t\n    event: promoted\n    status: production\n    from: staging\n`);
    await writeFile(join(old, 'audit.jsonl'), `${JSON.stringify({ at: '2026-01-01T00:00:00.000Z', by: 't', action: 'register', model: 'fraud', version: 'v1.0.0' })}\n`);
    registry = old;
    const show = await reg('show', 'fraud@production', '--json');
    expect(show.exitCode, show.stderr).toBe(0);
    expect(JSON.parse(show.stdout)).toMatchObject({ version: 'v1.0.0', status: 'production' });
    const refused = await reg('register', 'fraud', V2);
    expect(refused.exitCode).toBe(2);
    expect(expectCleanError(refused)).toMatch(/format-1 registry/);
    expect(refused.stderr).toMatch(/hint: convert it once with `mlops registry migrate/);
    const migrated = await reg('registry', 'migrate', '--json');
    expect(migrated.exitCode, migrated.stderr).toBe(0);
    expect(JSON.parse(migrated.stdout)).toMatchObject({ models: 1, versions: 1, audit_events: 1 });
    expect(await readFile(join(old, 'models/fraud/versions/v1.0.0.yaml'), 'utf8')).not.toMatch(/^status:/m);
    expect((await reg('show', 'fraud@production', '--json')).stdout).toMatch(/"status": "production"/);
    const registered = await reg('register', 'fraud', V2, '--json');
    expect(registered.exitCode, registered.stderr).toBe(0);
    expect(JSON.parse(registered.stdout).version).toBe('v1.0.1');
  });
});

describe('a full disk', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let mounted: string | undefined;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    const { execa } = await import('execa');
    const mountpoint = join(dir, 'small');
    await (await import('node:fs/promises')).mkdir(mountpoint);
    // A 256 KB tmpfs: needs root (as on CI and these machines); skipped elsewhere.
    const result = await execa('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mountpoint], { reject: false });
    mounted = result.exitCode === 0 ? mountpoint : undefined;
  });
  afterEach(async () => {
    if (mounted) await (await import('execa')).execa('umount', [mounted], { reject: false });
    await cleanup();
  });

  it('ENOSPC is exit 4 in one line, and the registry stays consistent', async (context) => {
    if (!mounted) return context.skip();
    const registry = join(mounted, 'registry');
    const reg = (...args: string[]) => mlops(['--registry', registry, ...args], { cwd: dir });
    expect((await reg('register', 'fraud', V1, '--version', 'v1.0.0')).exitCode).toBe(0);
    // 20,000 rows of random numbers: about 1.5 MB gzipped, far more than the disk holds.
    const header = (await readFile(REFERENCE, 'utf8')).split('\n')[0];
    const rows = Array.from({ length: 20_000 }, () => Array.from({ length: 10 }, () => Math.random().toFixed(8)).join(','));
    await writeFile(join(dir, 'big.csv'), `${header}\n${rows.join('\n')}\n`);
    const full = await reg('register', 'fraud', V2, '--reference-data', join(dir, 'big.csv'));
    expect(full.exitCode, full.stderr).toBe(4);
    expect(expectCleanError(full)).toMatch(/disk is full \(ENOSPC\)/);
    const list = await reg('list', '--json');
    expect(list.exitCode, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout).map((r: { version: string }) => r.version)).toEqual(['v1.0.0']);
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(join(registry, 'blobs', 'sha256')).filter((f) => f.startsWith('.tmp-'))).toEqual([]);
  });
});
