// The folder object store (contract, symlinks, stale temp files, full disk) and the
// registry's record cache, which must never serve a changed record.
import { mkdir, readdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/registry/fs.js';
import { Registry } from '../../src/registry/registry.js';
import { FolderStore, fileSystemError } from '../../src/store/folder.js';
import { tempDir } from '../support/cli.js';
import { storeContract } from '../support/store-contract.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => cleanup());

storeContract('folder', async () => {
  await mkdir(join(dir, 'scratch'), { recursive: true });
  return { store: new FolderStore(join(dir, 'store')), scratch: join(dir, 'scratch') };
});

describe('writeFileAtomic', () => {
  it('replaces the whole file and leaves no temp file behind', async () => {
    const path = join(dir, 'a', 'file.txt');
    await writeFileAtomic(path, 'first');
    await writeFileAtomic(path, 'second');
    expect(await readdir(join(dir, 'a'))).toEqual(['file.txt']);
  });
});

describe('folder store', () => {
  it('refuses a symlinked file and a symlinked folder inside the root', async () => {
    const store = new FolderStore(join(dir, 'root'));
    await store.putIfAbsent('models/a/versions/v1.0.0.yaml', 'x');
    await writeFile(join(dir, 'secret'), 'outside');
    await symlink(join(dir, 'secret'), join(dir, 'root', 'models', 'a', 'versions', 'v2.0.0.yaml'));
    await expect(store.get('models/a/versions/v2.0.0.yaml')).rejects.toThrow(/symbolic link inside the registry/);
    await expect(store.list('models/')).rejects.toThrow(/symbolic link/);
    await mkdir(join(dir, 'elsewhere'));
    await symlink(join(dir, 'elsewhere'), join(dir, 'root', 'blobs'));
    await expect(new FolderStore(join(dir, 'root')).putIfAbsent('blobs/sha256/x', 'x')).rejects.toThrow(/symbolic link/);
    expect(await readdir(join(dir, 'elsewhere'))).toEqual([]);
  });

  it('removes temp files older than the grace period at the start of a write, and keeps fresh ones', async () => {
    const store = new FolderStore(join(dir, 'root'));
    await mkdir(join(dir, 'root', 'audit'), { recursive: true });
    await writeFile(join(dir, 'root', 'audit', '.tmp-old'), 'x');
    await writeFile(join(dir, 'root', 'audit', '.tmp-new'), 'x');
    const old = new Date(Date.now() - 2 * 60 * 60_000);
    await utimes(join(dir, 'root', 'audit', '.tmp-old'), old, old);
    await store.putIfAbsent('audit/1.json', '{}');
    expect((await readdir(join(dir, 'root', 'audit'))).sort()).toEqual(['.tmp-new', '1.json']);
  });

  it('turns a full disk into a one-line exit-4 error', () => {
    const error = fileSystemError(Object.assign(new Error('no space'), { code: 'ENOSPC' }), '/r/x') as { exitCode: number; message: string };
    expect(error.exitCode).toBe(4);
    expect(error.message).toMatch(/disk is full/);
  });
});

describe('record cache', () => {
  const stored = (version: string, accuracy = 0.9) => ({
    name: 'fraud',
    version,
    created_at: '2026-01-01T00:00:00.000Z',
    artifact: { file: 'm.onnx', size: 1, sha256: 'ab'.repeat(32) },
    signature: { inputs: [{ name: 'x', type: 'float32' as const, shape: ['batch', 2] }], outputs: [] },
    metrics: { accuracy },
    tags: {},
    description: '',
    registered_by: 't',
    source: { path: '/m.onnx' },
  });

  it('sees a record rewritten by hand, even at the same size, and derives status from the state', async () => {
    const { registry } = await Registry.init(join(dir, 'reg'), new Date());
    await registry.createVersion(stored('v1.0.0'));
    await registry.createVersion(stored('v1.0.1'));
    expect((await registry.listVersions('fraud')).map((r) => r.status)).toEqual(['staging', 'staging']);
    const path = join(dir, 'reg', 'models', 'fraud', 'versions', 'v1.0.0.yaml');
    const { readFile } = await import('node:fs/promises');
    await writeFileAtomic(path, (await readFile(path, 'utf8')).replace('accuracy: 0.9', 'accuracy: 0.8'));
    await registry.updateState('fraud', async (state) => ({ state: { ...state, production: 'v1.0.1' }, result: undefined }));
    const versions = await registry.listVersions('fraud');
    expect(versions.map((r) => [r.version, r.status, r.metrics.accuracy])).toEqual([
      ['v1.0.0', 'staging', 0.8],
      ['v1.0.1', 'production', 0.9],
    ]);
    expect(await readdir(join(dir, 'reg', '.cache'))).toEqual(['fraud.versions.json']);
  });

  it('survives a corrupt cache file and re-validates a tampered one', async () => {
    const { registry } = await Registry.init(join(dir, 'reg'), new Date());
    await registry.createVersion(stored('v1.0.0'));
    await registry.listVersions('fraud');
    const cacheFile = join(dir, 'reg', '.cache', 'fraud.versions.json');
    await writeFile(cacheFile, '{not json');
    expect((await registry.listVersions('fraud')).map((r) => r.version)).toEqual(['v1.0.0']);
    const { readFile } = await import('node:fs/promises');
    await writeFile(cacheFile, (await readFile(cacheFile, 'utf8')).replace('ab'.repeat(32), '../../../etc/passwd'));
    await expect(registry.listVersions('fraud')).rejects.toThrow(/is not a sha256/);
  });

  it('refuses a registry of another format with a hint', async () => {
    await mkdir(join(dir, 'old'));
    await writeFile(join(dir, 'old', 'mlops-registry.yaml'), 'format: 99\n');
    await expect(Registry.open(join(dir, 'old'))).rejects.toThrow(/format 99/);
  });
});
