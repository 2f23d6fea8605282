// The object-store contract against a real S3 server (the test Ceph RGW), plus what only
// S3 has: a missing bucket, refused credentials, a server that wants If-Match unquoted.
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Store } from '../../src/store/s3.js';
import { tempDir } from '../support/cli.js';
import { s3Backend } from '../support/registry-backends.js';
import { storeContract } from '../support/store-contract.js';

const { backend, skipReason } = await s3Backend();
let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(async () => cleanup?.());

if (!backend) {
  describe.skip(`S3 store (${skipReason})`, () => it('needs the test RGW', () => undefined));
} else {
  storeContract('s3', async () => {
    const scratch = join(dir, randomBytes(4).toString('hex'));
    await mkdir(scratch, { recursive: true });
    return { store: await backend.store(await backend.location(dir)), scratch };
  });

  describe('S3 errors', () => {
    it('a missing bucket is exit 3 naming the bucket, with the administrator hint', async () => {
      const store = await S3Store.open('s3://no-such-bucket-mlops/x', backend.env);
      await expect(store.requireBucket()).rejects.toMatchObject({ exitCode: 3, message: expect.stringMatching(/bucket no-such-bucket-mlops does not exist/), hint: expect.stringMatching(/administrator/) });
      await expect(store.get('a')).rejects.toMatchObject({ exitCode: 3 });
    });

    it('wrong credentials are exit 4 in one line without the secret', async () => {
      const store = await S3Store.open(await backend.location(dir), { ...backend.env, AWS_ACCESS_KEY_ID: 'wrong', AWS_SECRET_ACCESS_KEY: 'very-secret-value' });
      const error = await store.putIfAbsent('a', 'x').catch((e: unknown) => e as Error & { exitCode: number });
      expect(error).toMatchObject({ exitCode: 4 });
      expect(String((error as Error).message)).not.toMatch(/very-secret-value/);
      expect(String((error as Error).message)).not.toMatch(/\n/);
    });

    it('an unreachable endpoint is exit 4', async () => {
      const store = await S3Store.open('s3://bucket/x', { ...backend.env, AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9' });
      await expect(store.get('a')).rejects.toMatchObject({ exitCode: 4 });
    });
  });
}
