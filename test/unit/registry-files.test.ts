// The registry's file mechanics: atomic writes, the writer lock (stale holders, timeouts),
// and the parsed-record cache that must never serve a stale record.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError } from '../../src/errors.js';
import { writeFileAtomic } from '../../src/registry/fs.js';
import { withLock } from '../../src/registry/lock.js';
import { Registry } from '../../src/registry/registry.js';
import type { VersionRecord } from '../../src/registry/types.js';
import { tempDir } from '../support/cli.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

function record(version: string, status: VersionRecord['status'] = 'staging'): VersionRecord {
  return {
    name: 'fraud',
    version,
    created_at: '2026-01-01T00:00:00.000Z',
    status,
    artifact: { file: 'm.onnx', size: 1, sha256: 'ab' },
    signature: { inputs: [{ name: 'x', type: 'float32', shape: ['batch', 2] }], outputs: [] },
    metrics: { accuracy: 0.9 },
    tags: {},
    description: '',
    registered_by: 't',
    source: { path: '/m.onnx' },
    history: [],
  };
}

describe('writeFileAtomic', () => {
  it('replaces the whole file and leaves no temp file behind', async () => {
    const path = join(dir, 'a', 'file.yaml');
    await writeFileAtomic(path, 'one');
    await writeFileAtomic(path, 'two');
    expect(await readFile(path, 'utf8')).toBe('two');
    expect(await readdir(join(dir, 'a'))).toEqual(['file.yaml']);
  });
});

describe('withLock', () => {
  it('serialises holders', async () => {
    const lock = join(dir, '.lock');
    const order: string[] = [];
    const hold = (name: string) =>
      withLock(lock, async () => {
        order.push(`${name} in`);
        await new Promise((r) => setTimeout(r, 30));
        order.push(`${name} out`);
      });
    await Promise.all([hold('a'), hold('b'), hold('c')]);
    for (let i = 0; i < order.length; i += 2) expect(order[i + 1]).toBe(order[i]!.replace('in', 'out'));
  });

  it('breaks a lock whose holder is dead, with a message', async () => {
    const lock = join(dir, '.lock');
    await mkdir(lock);
    await writeFile(join(lock, 'owner.json'), JSON.stringify({ pid: 999_999, host: hostname(), at: new Date().toISOString() }));
    const messages: string[] = [];
    expect(await withLock(lock, async () => 'ran', { onEvent: (e) => messages.push(e.message) })).toBe('ran');
    expect(messages.join()).toMatch(/broke a stale lock .*pid 999999/);
  });

  it('gives up on a live holder after the timeout with a ConflictError naming the lock', async () => {
    const lock = join(dir, '.lock');
    await mkdir(lock);
    await writeFile(join(lock, 'owner.json'), JSON.stringify({ pid: process.pid, host: hostname(), at: new Date().toISOString() }));
    await expect(withLock(lock, async () => 'never', { timeoutMs: 150 })).rejects.toThrow(ConflictError);
  });

  it('does not break a recent lock held on another host', async () => {
    const lock = join(dir, '.lock');
    await mkdir(lock);
    await writeFile(join(lock, 'owner.json'), JSON.stringify({ pid: 1, host: 'elsewhere', at: new Date().toISOString() }));
    await expect(withLock(lock, async () => 'never', { timeoutMs: 150 })).rejects.toThrow(/another mlops process holds the lock/);
  });
});

describe('version cache', () => {
  it('sees every rewrite of a record, even one of the same size', async () => {
    const { registry } = await Registry.init(join(dir, 'reg'), new Date());
    await registry.writeVersion(record('v1.0.0'));
    await registry.writeVersion(record('v1.0.1'));
    expect((await registry.listVersions('fraud')).map((r) => r.status)).toEqual(['staging', 'staging']);
    // 'archived' and 'staging' differ in length; 'production' in place of 'staging' too. Same size: swap a metric digit.
    await registry.writeVersion({ ...record('v1.0.0'), metrics: { accuracy: 0.8 } });
    await registry.writeVersion(record('v1.0.1', 'production'));
    const versions = await registry.listVersions('fraud');
    expect(versions.map((r) => [r.version, r.status, r.metrics.accuracy])).toEqual([
      ['v1.0.0', 'staging', 0.8],
      ['v1.0.1', 'production', 0.9],
    ]);
    expect(await readdir(join(dir, 'reg', '.cache'))).toEqual(['fraud.versions.json']);
  });

  it('survives a corrupt cache file', async () => {
    const { registry } = await Registry.init(join(dir, 'reg'), new Date());
    await registry.writeVersion(record('v1.0.0'));
    await registry.listVersions('fraud');
    await writeFile(join(dir, 'reg', '.cache', 'fraud.versions.json'), '{not json');
    expect((await registry.listVersions('fraud')).map((r) => r.version)).toEqual(['v1.0.0']);
  });

  it('refuses a registry of another format with a hint', async () => {
    await mkdir(join(dir, 'old'));
    await writeFile(join(dir, 'old', 'mlops-registry.yaml'), 'format: 99\n');
    await expect(Registry.open(join(dir, 'old'))).rejects.toThrow(/format 99/);
  });
});
