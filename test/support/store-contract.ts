// The object-store contract, one suite for every backend: what the registry relies on.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ObjectStore } from '../../src/store/types.js';

export function storeContract(name: string, fresh: () => Promise<{ store: ObjectStore; scratch: string }>): void {
  describe(`${name} object store contract`, () => {
    it('get returns the bytes and an etag; a missing key is undefined', async () => {
      const { store } = await fresh();
      expect(await store.get('a/b.yaml')).toBeUndefined();
      expect(await store.putIfAbsent('a/b.yaml', 'hello')).toBe(true);
      const got = await store.get('a/b.yaml');
      expect(got?.body.toString()).toBe('hello');
      expect(got?.etag).toMatch(/\w+/);
    });

    it('putIfAbsent creates once; the loser of a race gets false and the winner\'s bytes stay', async () => {
      const { store } = await fresh();
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => store.putIfAbsent('k/one.json', `writer ${i}`)));
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results.indexOf(true);
      expect((await store.get('k/one.json'))?.body.toString()).toBe(`writer ${winner}`);
    });

    it('putIfMatch is a compare-and-swap: null = create, the read etag = replace, a stale etag = conflict', async () => {
      const { store } = await fresh();
      const first = await store.putIfMatch('m/state.yaml', 'v1', null);
      expect(first).toBeDefined();
      expect(await store.putIfMatch('m/state.yaml', 'again', null)).toBeUndefined();
      const current = (await store.get('m/state.yaml'))!;
      const second = await store.putIfMatch('m/state.yaml', 'v2', current.etag);
      expect(second).toBeDefined();
      expect(await store.putIfMatch('m/state.yaml', 'v3', current.etag)).toBeUndefined();
      expect((await store.get('m/state.yaml'))?.body.toString()).toBe('v2');
      expect((await store.get('m/state.yaml'))?.etag).toBe(second);
    });

    it('concurrent read-modify-write through putIfMatch loses no update', async () => {
      const { store } = await fresh();
      await store.putIfMatch('c/counter', '0', null);
      await Promise.all(
        Array.from({ length: 10 }, async () => {
          for (;;) {
            const got = (await store.get('c/counter'))!;
            if (await store.putIfMatch('c/counter', String(Number(got.body.toString()) + 1), got.etag)) return;
          }
        }),
      );
      expect((await store.get('c/counter'))?.body.toString()).toBe('10');
    });

    it('getIfChanged answers unchanged for the current etag and the new object after a change', async () => {
      const { store } = await fresh();
      await store.putIfMatch('p/state.yaml', 'one', null);
      const one = (await store.get('p/state.yaml'))!;
      expect(await store.getIfChanged('p/state.yaml', one.etag)).toBe('unchanged');
      await store.putIfMatch('p/state.yaml', 'two', one.etag);
      const changed = await store.getIfChanged('p/state.yaml', one.etag);
      expect(changed !== 'unchanged' && changed?.body.toString()).toBe('two');
    });

    it('list returns every key under a prefix in byte order, across pages', async () => {
      const { store } = await fresh();
      const keys = Array.from({ length: 1100 }, (_, i) => `audit/${String(i).padStart(5, '0')}.json`);
      for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((k) => store.putIfAbsent(k, '{}')));
      await store.putIfAbsent('other/x', 'x');
      const listed = (await store.list('audit/')).map((o) => o.key);
      expect(listed).toEqual(keys);
      expect((await store.list('nothing/')).length).toBe(0);
      await store.putIfAbsent('models/b/versions/v1.yaml', 'x');
      await store.putIfAbsent('models/a/state.yaml', 'x');
      expect(await store.listFolders('models/')).toEqual(['a', 'b']);
      expect(await store.listFolders('')).toEqual(['audit', 'models', 'other']);
    }, 120_000);

    it('putFile streams a file in; getStream and delete work; head gives the size', async () => {
      const { store, scratch } = await fresh();
      const file = join(scratch, 'blob.bin');
      const bytes = Buffer.alloc(3 * 1024 * 1024, 7);
      await writeFile(file, bytes);
      await store.putFile('blobs/sha256/x', file);
      expect((await store.head('blobs/sha256/x'))?.size).toBe(bytes.length);
      const chunks: Buffer[] = [];
      for await (const chunk of (await store.getStream('blobs/sha256/x'))!) chunks.push(chunk as Buffer);
      expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
      await store.delete('blobs/sha256/x');
      expect(await store.head('blobs/sha256/x')).toBeUndefined();
      expect(await store.getStream('blobs/sha256/x')).toBeUndefined();
    });

    it.each(['../x', 'a/../../x', '/etc/passwd', 'a//b', '.hidden', 'a/.tmp-1'])('refuses the key %j before any IO', async (key) => {
      const { store } = await fresh();
      await expect(store.get(key)).rejects.toMatchObject({ exitCode: 2 });
      await expect(store.putIfAbsent(key, 'x')).rejects.toMatchObject({ exitCode: 2 });
    });
  });
}
