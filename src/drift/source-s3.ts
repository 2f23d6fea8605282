// Drift data in an object store: s3://BUCKET/KEY as a ByteSource, on the registry's S3 client
// (src/store/s3.ts createS3Client: same env, endpoint and path style). Size is one HEAD; reads
// are ranged GETs (gzip magic and trailer, Parquet footers and column chunks: Parquet is never
// downloaded whole); stream() is one GET whose body is consumed as it arrives.
// Errors: a missing bucket or key is exit 3 naming the URL; access denied and every other S3
// failure is exit 4 in one line, never a header or a key.
import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { NotFoundError, UsageError } from '../errors.js';
import { createS3Client } from '../store/s3.js';
import { StoreError } from '../store/types.js';
import { describe } from './data.js';
import type { ByteSource } from './source.js';

export type SourceEnv = Readonly<Record<string, string | undefined>>;

interface SdkError {
  name?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

const statusOf = (error: unknown) => (error as SdkError | undefined)?.$metadata?.httpStatusCode;
// A HEAD answer has no body, so the SDK names a 403 or 404 'Unknown': keep only real names.
const nameOf = (error: unknown) => {
  const name = (error as SdkError | undefined)?.name ?? (error as SdkError | undefined)?.Code ?? '';
  return name === 'Unknown' ? '' : name;
};

/** s3://BUCKET/KEY: the bucket as S3 names them, the key anything non-empty (a prefix ends in '/'). */
export function parseDataUrl(url: string, role: string, flag: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.+)$/.exec(url);
  if (!m) {
    throw new UsageError(`${describe(role, url)} is not an S3 object URL`, `write s3://BUCKET/KEY in --${flag} (bucket names: lower-case letters, digits, dots, hyphens)`, 'invalid_location');
  }
  return { bucket: m[1]!, key: m[2]! };
}

/** One client per process and environment: the SDK keeps its connections. */
let shared: { env: SourceEnv; client: Promise<S3Client> } | undefined;
function clientFor(env: SourceEnv): Promise<S3Client> {
  if (shared?.env !== env) shared = { env, client: createS3Client(env).then((made) => made.client) };
  return shared.client;
}

let sdkModule: Promise<typeof import('@aws-sdk/client-s3')> | undefined;
const sdk = () => (sdkModule ??= import('@aws-sdk/client-s3'));

export class S3Object implements ByteSource {
  readonly bucket: string;
  readonly key: string;
  private knownSize: Promise<number> | undefined;

  constructor(
    readonly location: string,
    readonly role: string,
    readonly flag: string,
    private readonly env: SourceEnv,
  ) {
    ({ bucket: this.bucket, key: this.key } = parseDataUrl(location, role, flag));
  }

  private async send<T>(make: (s: typeof import('@aws-sdk/client-s3')) => unknown): Promise<T> {
    const [client, s] = await Promise.all([clientFor(this.env), sdk()]);
    return (await client.send(make(s) as never)) as T;
  }

  /** Exit 3 for a missing bucket or key, exit 4 (StoreError) for everything else. */
  async fail(error: unknown): Promise<never> {
    const status = statusOf(error);
    const name = nameOf(error);
    const label = describe(this.role, this.location);
    if (name === 'NoSuchBucket') throw this.noBucket();
    if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) {
      // HEAD has no body, so a missing bucket looks like a missing key: ask once.
      const bucketThere = await this.send((s) => new s.HeadBucketCommand({ Bucket: this.bucket })).then(
        () => true,
        (e: unknown) => (statusOf(e) === 404 || nameOf(e) === 'NoSuchBucket' || nameOf(e) === 'NotFound' ? false : true),
      );
      if (!bucketThere) throw this.noBucket();
      throw new NotFoundError(`${label} does not exist`, `check the key in --${this.flag} (aws s3 ls s3://${this.bucket}/ lists the bucket)`, 'data_not_found');
    }
    if (status === 403 || name === 'AccessDenied' || name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch') {
      throw new StoreError(`S3 refused to read ${label} (${name || `HTTP ${status}`})`, 'check the credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID) and that they grant s3:GetObject on the key', 'store_refused');
    }
    if (name === 'CredentialsProviderError' || /credential/i.test(name)) {
      throw new StoreError(`no AWS credentials to read ${label}`, 'set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where a role provides them', 'store_credentials');
    }
    const detail = status ? `HTTP ${status}${name ? ` ${name}` : ''}` : ((error as SdkError)?.message?.split('\n')[0] ?? String(error));
    throw new StoreError(`cannot read ${label}: ${detail}`, 'check the endpoint (AWS_ENDPOINT_URL_S3) and the network, then run the command again', 'store_failed');
  }

  private noBucket(): NotFoundError {
    return new NotFoundError(`${describe(this.role, this.location)}: the bucket ${this.bucket} does not exist`, `check the bucket in --${this.flag} and AWS_ENDPOINT_URL_S3`, 'bucket_not_found');
  }

  size(): Promise<number> {
    this.knownSize ??= this.send<import('@aws-sdk/client-s3').HeadObjectCommandOutput>((s) => new s.HeadObjectCommand({ Bucket: this.bucket, Key: this.key })).then(
      (out) => out.ContentLength ?? 0,
      (error: unknown) => this.fail(error),
    );
    return this.knownSize;
  }

  async exists(): Promise<boolean> {
    try {
      await this.size();
      return true;
    } catch (error) {
      if (error instanceof NotFoundError && error.code === 'data_not_found') return false;
      throw error;
    }
  }

  async isGzip(): Promise<boolean> {
    const magic = await this.read(0, 2);
    return magic.length === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
  }

  async read(position: number, length: number): Promise<Buffer> {
    if (length <= 0) return Buffer.alloc(0);
    const size = await this.size();
    if (position >= size) return Buffer.alloc(0);
    const end = Math.min(size, position + length) - 1;
    try {
      const out = await this.send<import('@aws-sdk/client-s3').GetObjectCommandOutput>((s) => new s.GetObjectCommand({ Bucket: this.bucket, Key: this.key, Range: `bytes=${position}-${end}` }));
      return Buffer.from(await out.Body!.transformToByteArray());
    } catch (error) {
      return this.fail(error);
    }
  }

  /** One GET (ranged when asked); the body is read as it arrives, so memory holds a chunk or two. */
  stream(options: { start?: number; end?: number; chunkSize?: number } = {}): Readable {
    const start = options.start ?? 0;
    const range = options.end !== undefined ? `bytes=${start}-${options.end}` : start > 0 ? `bytes=${start}-` : undefined;
    async function* body(self: S3Object): AsyncGenerator<Buffer> {
      let out: import('@aws-sdk/client-s3').GetObjectCommandOutput;
      try {
        out = await self.send((s) => new s.GetObjectCommand({ Bucket: self.bucket, Key: self.key, ...(range ? { Range: range } : {}) }));
      } catch (error) {
        return self.fail(error);
      }
      const stream = out.Body as Readable;
      try {
        for await (const chunk of stream) yield chunk as Buffer;
      } catch (error) {
        throw new StoreError(`the connection broke while reading ${describe(self.role, self.location)}: ${(error as Error).message.split('\n')[0]}`, 'run the command again; check the network to the S3 endpoint', 'store_failed');
      } finally {
        stream.destroy();
      }
    }
    return Readable.from(body(this), { objectMode: false, highWaterMark: options.chunkSize ?? 64 * 1024 });
  }
}

/**
 * s3://BUCKET/PREFIX/ : every object under the prefix, in key order, read as one file (rotated
 * or shipped prediction-log parts). Gzipped parts concatenate into one multi-member gzip stream,
 * which gunzip reads whole; plain and gzipped parts must not be mixed.
 */
export class S3Prefix implements ByteSource {
  private parts: Promise<Array<{ object: S3Object; size: number; start: number }>> | undefined;

  constructor(
    readonly location: string,
    readonly role: string,
    readonly flag: string,
    private readonly env: SourceEnv,
  ) {}

  private list(): Promise<Array<{ object: S3Object; size: number; start: number }>> {
    this.parts ??= (async () => {
      const probe = new S3Object(this.location, this.role, this.flag, this.env);
      const [client, s] = await Promise.all([clientFor(this.env), sdk()]);
      const keys: Array<{ key: string; size: number }> = [];
      let token: string | undefined;
      try {
        do {
          const out = await client.send(new s.ListObjectsV2Command({ Bucket: probe.bucket, Prefix: probe.key, ContinuationToken: token }));
          for (const item of out.Contents ?? []) if (item.Key && !item.Key.endsWith('/') && (item.Size ?? 0) > 0) keys.push({ key: item.Key, size: item.Size ?? 0 });
          token = out.IsTruncated ? out.NextContinuationToken : undefined;
        } while (token);
      } catch (error) {
        return probe.fail(error);
      }
      if (keys.length === 0) throw new NotFoundError(`${describe(this.role, this.location)}: no objects under the prefix`, `check the prefix in --${this.flag} (it ends in '/')`, 'data_not_found');
      keys.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      let start = 0;
      return keys.map(({ key, size }) => {
        const part = { object: new S3Object(`s3://${probe.bucket}/${key}`, this.role, this.flag, this.env), size, start };
        start += size;
        return part;
      });
    })();
    return this.parts;
  }

  async size(): Promise<number> {
    const parts = await this.list();
    return parts.reduce((sum, part) => sum + part.size, 0);
  }

  async exists(): Promise<boolean> {
    return this.list().then(
      () => true,
      (error: unknown) => {
        if (error instanceof NotFoundError && error.code === 'data_not_found') return false;
        throw error;
      },
    );
  }

  async isGzip(): Promise<boolean> {
    const magic = await this.read(0, 2);
    return magic.length === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
  }

  async read(position: number, length: number): Promise<Buffer> {
    const pieces: Buffer[] = [];
    for (const part of await this.list()) {
      const end = position + length;
      if (part.start + part.size <= position || part.start >= end) continue;
      const from = Math.max(position, part.start) - part.start;
      pieces.push(await part.object.read(from, Math.min(end, part.start + part.size) - part.start - from));
    }
    return Buffer.concat(pieces);
  }

  stream(options: { start?: number; end?: number; chunkSize?: number } = {}): Readable {
    async function* body(self: S3Prefix): AsyncGenerator<Buffer> {
      const start = options.start ?? 0;
      const end = options.end ?? Infinity;
      for (const part of await self.list()) {
        if (part.start + part.size <= start || part.start > end) continue;
        const from = Math.max(start, part.start) - part.start;
        const to = Math.min(end, part.start + part.size - 1) - part.start;
        for await (const chunk of part.object.stream({ start: from, end: to, chunkSize: options.chunkSize })) yield chunk as Buffer;
      }
    }
    return Readable.from(body(this), { objectMode: false, highWaterMark: options.chunkSize ?? 64 * 1024 });
  }
}
