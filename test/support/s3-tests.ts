// What S3 tests read from the server that test/support/s3-global.ts (vitest globalSetup)
// provides: whether it runs, why not, an environment with the AWS_* variables for
// child processes (bin/mlops), an SDK client, and fresh buckets.
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { skipOrFail } from './integration.ts';

export interface S3ForTests {
  available: boolean;
  skipReason: string;
  /** process.env plus AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL_S3. */
  env: Record<string, string | undefined>;
  /** An SDK client for the test server (path-style addressing). */
  client(): S3Client;
  /** Create a bucket with a unique name (prefix plus random suffix) and return its name. */
  newBucket(prefix?: string): Promise<string>;
}

export function s3ForTests(): S3ForTests {
  // inject() is undefined when test/support/s3-global.ts is not in vitest's globalSetup.
  const skipReason = inject('s3SkipReason') ?? skipOrFail('test/support/s3-global.ts is not in vitest globalSetup');
  const available = inject('s3Available') === true;
  const config = inject('s3Config');
  const env: Record<string, string | undefined> = { ...process.env };
  if (available) {
    env.AWS_ACCESS_KEY_ID = config.accessKeyId;
    env.AWS_SECRET_ACCESS_KEY = config.secretAccessKey;
    env.AWS_REGION = config.region;
    env.AWS_ENDPOINT_URL_S3 = config.endpoint;
  }
  let shared: S3Client | undefined;
  const client = () => {
    if (!available) throw new Error(`no test S3 server: ${skipReason}`);
    shared ??= new S3Client({
      endpoint: config.endpoint,
      region: config.region,
      credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
      forcePathStyle: true,
    });
    return shared;
  };
  const newBucket = async (prefix = 'mlops-test') => {
    // Bucket names: 3-63 of [a-z0-9-], starting and ending with a letter or digit.
    const clean = prefix.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+/, '').slice(0, 40) || 'b';
    const name = `${clean}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    await client().send(new CreateBucketCommand({ Bucket: name }));
    return name;
  };
  return { available, skipReason, env, client, newBucket };
}
