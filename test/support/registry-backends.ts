// The registry backends the e2e and contract suites run against: a temp folder always,
// and a bucket on the test Ceph RGW when test/support/s3-tests.ts says one is available.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore } from '../../src/store/open.js';
import type { ObjectStore } from '../../src/store/types.js';

export interface Backend {
  name: 'folder' | 's3';
  /** A fresh registry location inside `dir` (folder) or a fresh prefix in the test bucket. */
  location(dir: string): Promise<string>;
  env: Record<string, string | undefined>;
  store(location: string): Promise<ObjectStore>;
}

interface S3ForTests {
  available: boolean;
  skipReason?: string;
  env: Record<string, string | undefined>;
  newBucket(prefix?: string): Promise<string>;
}

const folder: Backend = {
  name: 'folder',
  location: async (dir) => join(dir, 'registry'),
  env: {},
  store: (location) => openStore(location, {}),
};

/** The S3 helper, when the branch that provides it is merged and RGW runs; otherwise undefined and why. */
export async function s3Backend(): Promise<{ backend?: Backend; skipReason?: string }> {
  const helper = fileURLToPath(new URL('./s3-tests.ts', import.meta.url));
  if (!existsSync(helper)) return { skipReason: 'test/support/s3-tests.ts is not there yet' };
  const modulePath = './s3-tests.js';
  const { s3ForTests } = (await import(/* @vite-ignore */ modulePath)) as { s3ForTests: S3ForTests | (() => Promise<S3ForTests>) };
  const s3 = typeof s3ForTests === 'function' ? await s3ForTests() : s3ForTests;
  if (!s3.available) return { skipReason: s3.skipReason ?? 'no S3 server' };
  let bucket: string | undefined;
  return {
    backend: {
      name: 's3',
      async location() {
        bucket ??= await s3.newBucket('mlops-reg');
        return `s3://${bucket}/r-${randomBytes(4).toString('hex')}`;
      },
      env: s3.env,
      store: (location) => openStore(location, s3.env),
    },
  };
}

export async function registryBackends(): Promise<Backend[]> {
  const { backend } = await s3Backend();
  return backend ? [folder, backend] : [folder];
}
