// End-to-end, on a folder and on a bucket (when the test RGW runs): the registry after
// registration (issue 16): aliases, tag/describe, delete, gc, history, list filters,
// serve following an alias, and the races (two alias moves, gc beside a register).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ObjectStore } from '../../src/store/types.js';
import { BIN, EXAMPLE, expectCleanError, mlops, tempDir } from '../support/cli.js';
import { registryBackends } from '../support/registry-backends.js';
import { formatRecord, parseRecord } from '../../src/registry/records.js';

const V1 = join(EXAMPLE, 'fraud-v1.onnx');
const V2 = join(EXAMPLE, 'fraud-v2.onnx');
const REFERENCE = join(EXAMPLE, 'reference.csv');

const backends = await registryBackends();

interface Event {
  action: string;
  version: string;
  by: string;
  at: string;
  [key: string]: unknown;
}

describe.each(backends)('$name registry lifecycle', (backend) => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let registry: string;
  let store: ObjectStore;
  const env = () => ({ ...backend.env, MLOPS_CACHE_DIR: join(dir, 'cache'), NO_COLOR: '1' });
  const reg = (...args: string[]) => mlops(['--registry', registry, ...args], { cwd: dir, env: env() });
  const ok = async (...args: string[]) => {
    const result = await reg(...args);
    expect(result.exitCode, `${args.join(' ')}: ${result.stderr}`).toBe(0);
    return result;
  };
  const json = async (...args: string[]) => JSON.parse((await ok(...args, '--json')).stdout);
  const history = async (): Promise<Event[]> => json('history', 'fraud');
  const state = async () => (await store.get('models/fraud/state.yaml'))?.body.toString('utf8') ?? '';

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    registry = await backend.location(dir);
    store = await backend.store(registry);
    await ok('register', 'fraud', V1, '--metrics-file', join(EXAMPLE, 'metrics-v1.json'), '--tag', 'team=risk', '--reference-data', REFERENCE);
    await ok('register', 'fraud', V2, '--metrics-file', join(EXAMPLE, 'metrics-v2.json'));
  });
  afterEach(async () => cleanup());

  describe('aliases', () => {
    it('alias set / rm; NAME@ALIAS in show, list, promote --against and drift-check; each move one audit event', async () => {
      const set = await json('alias', 'set', 'fraud', 'champion', 'v1.0.0');
      expect(set).toMatchObject({ name: 'fraud', alias: 'champion', version: 'v1.0.0' });
      expect(await json('show', 'fraud@champion')).toMatchObject({ version: 'v1.0.0', aliases: ['champion'] });
      // Moving it records where it was.
      expect(await json('alias', 'set', 'fraud', 'champion', '1.0.1')).toMatchObject({ version: 'v1.0.1', previous: 'v1.0.0' });
      await ok('alias', 'set', 'fraud', 'challenger', 'v1.0.0');
      expect(await state()).toMatch(/aliases:\n\s+champion: v1.0.1\n\s+challenger: v1.0.0/);
      const listed = await json('list', 'fraud');
      expect(listed.map((r: { version: string; aliases: string[] }) => [r.version, r.aliases])).toEqual([['v1.0.0', ['challenger']], ['v1.0.1', ['champion']]]);
      expect((await json('list', 'fraud', '--alias', 'champion')).map((r: { version: string }) => r.version)).toEqual(['v1.0.1']);
      // The gate compares with the alias, not production (there is none).
      const gate = await reg('promote', 'fraud', 'v1.0.0', '--no-regress', 'auc_roc', '--against', 'champion', '--dry-run');
      expect(gate.exitCode, gate.stderr).toBe(0);
      expect(gate.stderr).toMatch(/auc_roc 0.8801 \(v1.0.0\) is not worse than 0.8797 \(champion v1.0.1\)/);
      const worse = await reg('promote', 'fraud', 'v1.0.1', '--no-regress', 'auc_roc', '--against', 'challenger');
      expect(worse.exitCode).toBe(1);
      expect(worse.stderr).toMatch(/is worse than 0.8801 \(challenger v1.0.0\)/);
      // drift-check reads the aliased version's reference data.
      const drift = await reg('drift-check', 'fraud@challenger', '--current', join(EXAMPLE, 'current.csv'), '--json');
      expect([0, 1]).toContain(drift.exitCode);
      expect(JSON.parse(drift.stdout)).toMatchObject({ version: 'v1.0.0' });
      const removed = await json('alias', 'rm', 'fraud', 'challenger');
      expect(removed).toMatchObject({ alias: 'challenger', previous: 'v1.0.0' });
      const gone = await reg('show', 'fraud@challenger');
      expect(gone.exitCode).toBe(3);
      expect(expectCleanError(gone)).toMatch(/fraud has no alias 'challenger'/);
      expect(gone.stderr).toMatch(/hint: its aliases: champion/);
      const aliasEvents = (await history()).filter((e) => e.action === 'alias');
      expect(aliasEvents.map((e) => [e.alias, e.version, e.from ?? null, e.removed ?? false])).toEqual([
        ['challenger', 'v1.0.0', null, true],
        ['challenger', 'v1.0.0', null, false],
        ['champion', 'v1.0.1', 'v1.0.0', false],
        ['champion', 'v1.0.0', null, false],
      ]);
      expect(aliasEvents.every((e) => e.by === 'tester')).toBe(true);
    });

    it('refuses reserved and malformed aliases, unknown versions and models, with exit 2 / 3 and a hint', async () => {
      for (const alias of ['production', 'staging', 'latest', 'archived']) {
        const result = await reg('alias', 'set', 'fraud', alias, 'v1.0.0');
        expect(result.exitCode).toBe(2);
        expect(expectCleanError(result)).toMatch(/reserved name/);
      }
      for (const alias of ['Champion', 'v2', '1x', 'a/b', '-x']) {
        const result = await reg('alias', 'set', 'fraud', alias, 'v1.0.0');
        expect(result.exitCode, alias).toBe(2);
        expectCleanError(result);
      }
      expect((await reg('alias', 'set', 'fraud', 'champion', 'v9.9.9')).exitCode).toBe(3);
      expect((await reg('alias', 'set', 'nope', 'champion', 'v1.0.0')).exitCode).toBe(3);
      expect((await reg('alias', 'rm', 'fraud', 'champion')).exitCode).toBe(3);
      expect(await state()).not.toMatch(/champion/);
      expect((await history()).filter((e) => e.action === 'alias')).toHaveLength(0);
    });

    it('two alias moves at once: both succeed, the alias ends on one of them, both audited in a consistent chain', async () => {
      for (let round = 0; round < 3; round++) {
        const runs = await Promise.all([reg('alias', 'set', 'fraud', 'champion', 'v1.0.0', '--json'), reg('alias', 'set', 'fraud', 'champion', 'v1.0.1', '--json')]);
        for (const run of runs) expect(run.exitCode, run.stderr).toBe(0);
        const results = runs.map((r) => JSON.parse(r.stdout) as { version: string; previous?: string });
        const final = (await json('show', 'fraud@champion')).version as string;
        // Compare-and-swap serialised them: the later one saw the earlier one's value.
        const last = results.find((r) => r.version === final)!;
        const first = results.find((r) => r !== last)!;
        expect(last.previous).toBe(first.version);
      }
      expect((await history()).filter((e) => e.action === 'alias')).toHaveLength(6);
    });

    it('two alias sets with --expect none at once: exactly one wins, the other is refused and not audited', async () => {
      const runs = await Promise.all([reg('alias', 'set', 'fraud', 'challenger', 'v1.0.0', '--expect', 'none'), reg('alias', 'set', 'fraud', 'challenger', 'v1.0.1', '--expect', 'none')]);
      const codes = runs.map((r) => r.exitCode).sort();
      expect(codes).toEqual([0, 2]);
      const loser = runs.find((r) => r.exitCode === 2)!;
      expect(expectCleanError(loser)).toMatch(/alias challenger points at v1\.0\.[01], not unset as expected/);
      const winner = runs.indexOf(runs.find((r) => r.exitCode === 0)!);
      expect((await json('show', 'fraud@challenger')).version).toBe(winner === 0 ? 'v1.0.0' : 'v1.0.1');
      expect((await history()).filter((e) => e.action === 'alias')).toHaveLength(1);
    });

    it('serve NAME@ALIAS follows the alias live: a move by another process is served within the poll', async () => {
      await ok('alias', 'set', 'fraud', 'champion', 'v1.0.0');
      const child = spawn(process.execPath, [BIN, '--registry', registry, 'serve', 'fraud@champion', '--json', '--host', '127.0.0.1', '--port', '0', '--workers', '1', '--poll-interval-ms', '200'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env() } });
      let stderr = '';
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      try {
        const url = await new Promise<string>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no listening event:\n${stderr}`)), 30_000);
          child.stderr.on('data', (chunk: Buffer) => {
            stderr += chunk.toString();
            const listening = stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { type?: string; url?: string }).find((e) => e.type === 'listening');
            if (listening) {
              clearTimeout(timer);
              resolve(listening.url!);
            }
          });
        });
        const version = async () => ((await (await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ features: Array(10).fill(1) }) })).json()) as { version: string }).version;
        expect(await version()).toBe('v1.0.0');
        await ok('alias', 'set', 'fraud', 'champion', 'v1.0.1');
        const deadline = Date.now() + 15_000;
        let served = await version();
        while (served !== 'v1.0.1' && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 100));
          served = await version();
        }
        expect(served).toBe('v1.0.1');
        // A promote does not move an alias-following server.
        await ok('promote', 'fraud', 'v1.0.0');
        await new Promise((r) => setTimeout(r, 800));
        expect(await version()).toBe('v1.0.1');
      } finally {
        child.kill('SIGTERM');
      }
      expect(await exited).toBe(0);
    }, 90_000);
  });

  describe('metadata after registration', () => {
    it('tag and describe edit what show and list read; the record is untouched; each edit audited with who and when', async () => {
      const recordBefore = (await store.get('models/fraud/versions/v1.0.0.yaml'))!.body.toString('utf8');
      expect(await json('tag', 'fraud@v1.0.0', 'reviewed=yes', 'owner=ana')).toMatchObject({ tags: { team: 'risk', reviewed: 'yes', owner: 'ana' } });
      expect(await json('tag', 'fraud@v1.0.0', '--rm', 'team', 'owner=bo')).toMatchObject({ tags: { reviewed: 'yes', owner: 'bo' } });
      await ok('describe', 'fraud@v1.0.0', 'retrained on March data');
      await ok('describe', 'fraud', 'card-fraud scorer');
      const shown = await json('show', 'fraud@v1.0.0');
      expect(shown.tags).toEqual({ reviewed: 'yes', owner: 'bo' });
      expect(shown.description).toBe('retrained on March data');
      expect(shown.edited).toMatchObject({ by: 'tester' });
      expect(shown.metrics.accuracy).toBe(0.8614);
      const text = (await ok('show', 'fraud@v1.0.0')).stdout;
      expect(text).toMatch(/description\s+retrained on March data/);
      expect(text).toMatch(/tags\s+reviewed=yes owner=bo/);
      expect((await json('list', 'fraud', '--tag', 'owner=bo')).map((r: { version: string }) => r.version)).toEqual(['v1.0.0']);
      expect(await json('list', 'fraud', '--tag', 'team=risk')).toEqual([]);
      expect((await store.get('models/fraud/versions/v1.0.0.yaml'))!.body.toString('utf8')).toBe(recordBefore);
      const edits = (await history()).filter((e) => e.action === 'tag' || e.action === 'describe');
      expect(edits.map((e) => e.action)).toEqual(['describe', 'describe', 'tag', 'tag']);
      for (const e of edits) expect(e).toMatchObject({ by: 'tester', at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
      expect(edits[3]).toMatchObject({ version: 'v1.0.0', set: { reviewed: 'yes', owner: 'ana' } });
      expect(edits[2]).toMatchObject({ removed: ['team'] });
    });

    it('bad tag edits are exit 2 with a hint and change nothing', async () => {
      for (const args of [['tag', 'fraud@v1.0.0'], ['tag', 'fraud@v1.0.0', 'novalue'], ['tag', 'fraud@v1.0.0', '=x'], ['tag', 'fraud', 'a=b']]) {
        const result = await reg(...args);
        expect(result.exitCode, args.join(' ')).toBe(2);
        expectCleanError(result);
      }
      expect((await reg('tag', 'fraud@v7.0.0', 'a=b')).exitCode).toBe(3);
      expect(await state()).not.toMatch(/meta:/);
    });
  });

  describe('delete and gc', () => {
    it('delete refuses a version in use, --force says what it detaches; the model goes only with --force', async () => {
      await ok('promote', 'fraud', 'v1.0.0');
      await ok('alias', 'set', 'fraud', 'champion', 'v1.0.0');
      const refused = await reg('delete', 'fraud@v1.0.0');
      expect(refused.exitCode).toBe(2);
      expect(expectCleanError(refused)).toMatch(/fraud v1.0.0 is production, alias:champion; refusing to delete it/);
      expect(refused.stderr).toMatch(/hint: .*--force to detach production, alias:champion/);
      expect((await json('list', 'fraud')).length).toBe(2);
      const dry = await json('delete', 'fraud@v1.0.0', '--force', '--dry-run');
      expect(dry).toMatchObject({ dry_run: true, detaches: ['production', 'alias:champion'] });
      expect((await json('list', 'fraud')).length).toBe(2);
      const forced = await reg('delete', 'fraud@champion', '--force');
      expect(forced.exitCode, forced.stderr).toBe(0);
      expect(forced.stderr).toMatch(/detached: production, alias:champion/);
      expect((await json('list', 'fraud')).map((r: { version: string }) => r.version)).toEqual(['v1.0.1']);
      expect(await state()).not.toMatch(/production: v1\.0\.0|champion/); // stage changes stay as history
      expect((await reg('show', 'fraud@production')).exitCode).toBe(3);
      expect((await reg('show', 'fraud@v1.0.0')).exitCode).toBe(3);
      // An archived version without aliases goes without --force.
      await ok('register', 'fraud', V1, '--version', 'v2.0.0');
      await ok('promote', 'fraud', 'v2.0.0', '--to', 'archived');
      await ok('delete', 'fraud@v2.0.0');
      const whole = await reg('delete', 'fraud');
      expect(whole.exitCode).toBe(2);
      expect(expectCleanError(whole)).toMatch(/needs --force/);
      await ok('delete', 'fraud', '--force');
      expect(await json('list')).toEqual([]);
      expect((await store.list('models/fraud/')).length).toBe(0);
      const events = await history();
      expect(events.filter((e) => e.action === 'delete').map((e) => [e.version, e.detached])).toEqual([
        ['', []],
        ['v2.0.0', []],
        ['v1.0.0', ['production', 'alias:champion']],
      ]);
    });

    it('gc removes only unreferenced blobs older than the grace period; --dry-run changes nothing', async () => {
      const blobs = async () => (await store.list('blobs/sha256/')).map((o) => o.key).sort();
      const all = await blobs();
      expect(all).toHaveLength(3); // two models and one reference file
      const v1 = await json('show', 'fraud@v1.0.0');
      await ok('promote', 'fraud', 'v1.0.0', '--to', 'archived');
      await ok('delete', 'fraud@v1.0.0');
      // Within the default 1 h grace nothing goes.
      expect(await json('gc')).toMatchObject({ removed: [], kept: [{ reason: expect.any(String) }, { reason: expect.any(String) }] });
      expect(await blobs()).toEqual(all);
      const dry = await json('gc', '--dry-run', '--grace', '0s');
      expect(dry.removed.map((r: { sha256: string }) => r.sha256).sort()).toEqual([v1.artifact.sha256, v1.reference_data.sha256].sort());
      expect(await blobs()).toEqual(all);
      const done = await json('gc', '--grace', '0s');
      expect(done).toMatchObject({ dry_run: false, referenced: 1, freed_bytes: v1.artifact.size + v1.reference_data.size });
      expect(await blobs()).toEqual([`blobs/sha256/${(await json('show', 'fraud@v1.0.1')).artifact.sha256}`]);
      // What is left still serves and verifies.
      const shown = await reg('drift-check', 'fraud@v1.0.1', '--current', join(EXAMPLE, 'current.csv'));
      expect(shown.exitCode).toBe(2); // v1.0.1 has no reference data: a usage error, not a missing blob
      expect((await reg('gc', '--grace', 'soon')).exitCode).toBe(2);
    });

    it('gc racing registers of the same bytes removes nothing a record references', async () => {
      // The old v1.0.0 blob becomes unreferenced, and registers re-use those exact bytes while gc runs with no grace.
      await ok('promote', 'fraud', 'v1.0.0', '--to', 'archived');
      await ok('delete', 'fraud@v1.0.0');
      for (let round = 0; round < 3; round++) {
        const runs = await Promise.all([
          reg('register', 'fraud', V1, '--reference-data', REFERENCE, '--version', `v3.${round}.0`),
          reg('gc', '--grace', '0s'),
          reg('register', 'fraud', V1, '--version', `v4.${round}.0`),
          reg('gc', '--grace', '0s'),
        ]);
        for (const run of runs) expect(run.exitCode, run.stderr).toBe(0);
        const versions = (await json('list', 'fraud')) as Array<{ version: string; artifact: { sha256: string }; reference_data?: { sha256: string } }>;
        for (const v of versions) {
          expect(await store.head(`blobs/sha256/${v.artifact.sha256}`), `${v.version} artifact`).toBeDefined();
          if (v.reference_data) expect(await store.head(`blobs/sha256/${v.reference_data.sha256}`), `${v.version} reference`).toBeDefined();
        }
        // Make them unreferenced again for the next round.
        for (const version of [`v3.${round}.0`, `v4.${round}.0`]) await ok('delete', `fraud@${version}`, '--force');
      }
    }, 180_000);
  });

  describe('list and history', () => {
    it('list filters with --where, sorts by a metric or created, limits; --json keeps full records and the last deployment', async () => {
      await ok('register', 'fraud', V1, '--metric', 'accuracy=0.95', '--version', 'v2.0.0');
      const sorted = (await json('list', 'fraud', '--sort', '-accuracy')).map((r: { version: string }) => r.version);
      expect(sorted).toEqual(['v2.0.0', 'v1.0.1', 'v1.0.0']);
      expect((await json('list', '--where', 'accuracy>=0.87', '--sort', 'accuracy')).map((r: { version: string }) => r.version)).toEqual(['v1.0.1', 'v2.0.0']);
      expect((await json('list', 'fraud', '--sort', '-created', '--limit', '1')).map((r: { version: string }) => r.version)).toEqual(['v2.0.0']);
      const full = (await json('list', 'fraud', '--limit', '1'))[0];
      expect(full).toMatchObject({ signature: { inputs: [{ name: 'features' }] }, artifact: { sha256: expect.any(String) }, reference_data: { rows: expect.any(Number) } });
      const table = (await ok('list', 'fraud')).stdout;
      expect(table).toMatch(/ALIASES/);
      expect(table).toMatch(/LAST DEPLOY/);
      for (const bad of [['--where', 'accuracy>>x'], ['--limit', '0'], ['--tag', 'novalue']]) {
        const result = await reg('list', ...bad);
        expect(result.exitCode, bad.join(' ')).toBe(2);
        expectCleanError(result);
      }
    });

    it('a model of 250+ versions lists from models/NAME/index.json; a deleted version never comes back from it', async () => {
      const first = await parseRecord((await store.get('models/fraud/versions/v1.0.0.yaml'))!.body.toString('utf8'), 'test');
      const { audit_event: _a, ...base } = first;
      const versions = Array.from({ length: 250 }, (_, i) => `v5.0.${i}`);
      for (let i = 0; i < versions.length; i += 25) {
        await Promise.all(versions.slice(i, i + 25).map(async (version) => store.putIfAbsent(`models/fraud/versions/${version}.yaml`, await formatRecord({ ...base, version }))));
      }
      expect(await json('list', 'fraud')).toHaveLength(252);
      expect(await store.get('models/fraud/index.json')).toBeDefined();
      await ok('promote', 'fraud', 'v5.0.7', '--to', 'archived');
      await ok('delete', 'fraud@v5.0.7');
      expect(await store.get('models/fraud/index.json')).toBeUndefined();
      // A fresh cache folder (a new machine, a fresh clone): the index is rebuilt without v5.0.7.
      const fresh = async () => JSON.parse((await mlops(['--registry', registry, 'list', 'fraud', '--json'], { cwd: dir, env: { ...env(), MLOPS_CACHE_DIR: join(dir, `cache-${Math.random()}`) } })).stdout) as Array<{ version: string }>;
      for (let i = 0; i < 2; i++) {
        const listed = (await fresh()).map((r) => r.version);
        expect(listed).toHaveLength(251);
        expect(listed).not.toContain('v5.0.7');
      }
      expect(JSON.parse((await store.get('models/fraud/index.json'))!.body.toString('utf8'))).toMatchObject({ deletions: 1 });
      // A register after the index was written is listed (read from its record).
      await ok('register', 'fraud', V2, '--version', 'v6.0.0');
      expect((await fresh()).map((r) => r.version)).toContain('v6.0.0');
    }, 120_000);

    it('history lists the model\'s events newest first; --since narrows; an unknown model is exit 3', async () => {
      await ok('promote', 'fraud', 'v1.0.0');
      await ok('alias', 'set', 'fraud', 'champion', 'v1.0.1');
      await ok('tag', 'fraud@champion', 'a=b');
      const events = await history();
      expect(events.map((e) => e.action)).toEqual(['tag', 'alias', 'promote', 'register', 'register']);
      expect([...events].sort((a, b) => (a.at < b.at ? 1 : -1)).map((e) => e.at)).toEqual(events.map((e) => e.at));
      expect(await json('history', 'fraud', '--since', '1h')).toHaveLength(5);
      expect((await json('history', 'fraud', '--limit', '2')).map((e: Event) => e.action)).toEqual(['tag', 'alias']);
      const text = (await ok('history', 'fraud')).stdout;
      expect(text.split('\n')[0]).toMatch(/tag\s+v1.0.1\s+by tester\s+set=\{"a":"b"\}/);
      expect((await reg('history', 'nope')).exitCode).toBe(3);
      expect((await reg('history', 'fraud', '--since', 'yesterday')).exitCode).toBe(2);
    });
  });
});
