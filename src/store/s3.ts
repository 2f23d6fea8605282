// The S3 backend of the object store (AWS, Ceph RGW, MinIO, R2) on the official SDK.
// Create-only is `If-None-Match: *`, compare-and-swap is `If-Match`; credentials come
// from the standard AWS chain. Errors become one line with the bucket and key, never a
// secret: 412/409 are conflicts, a missing bucket is exit 3, everything else exit 4.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { S3Client as S3ClientType } from '@aws-sdk/client-s3';
import { NotFoundError } from '../errors.js';
import { checkKey, checkPrefix, StoreError, type ListedObject, type ObjectStore, type StoredObject } from './types.js';

export interface S3Location {
  bucket: string;
  /** '' or 'some/prefix/' */
  prefix: string;
}

/** s3://BUCKET[/PREFIX] -> bucket and a prefix ending in '/'. */
export function parseS3Url(url: string): S3Location {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m) throw new StoreError(`'${url}' is not an S3 location`, 'write s3://BUCKET or s3://BUCKET/PREFIX (bucket names: lower-case letters, digits, dots, hyphens)', 'invalid_location');
  const prefix = (m[2] ?? '').replace(/\/+$/, '');
  if (prefix) checkPrefix(`${prefix}/`);
  return { bucket: m[1]!, prefix: prefix ? `${prefix}/` : '' };
}

export interface S3Settings {
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
}

/** Endpoint and addressing from the environment: a custom endpoint means path-style unless MLOPS_S3_PATH_STYLE=0. */
export function s3Settings(env: Readonly<Record<string, string | undefined>>): S3Settings {
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1';
  const forcePathStyle = endpoint !== undefined && env.MLOPS_S3_PATH_STYLE !== '0';
  return { endpoint, region, forcePathStyle };
}

interface SdkError {
  name?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

const statusOf = (error: unknown) => (error as SdkError | undefined)?.$metadata?.httpStatusCode;
const nameOf = (error: unknown) => (error as SdkError | undefined)?.name ?? (error as SdkError | undefined)?.Code ?? '';

/** ETags come quoted ("abc"); Ceph RGW honours If-Match only unquoted, AWS both: we keep them bare. */
const bare = (etag: string | undefined) => (etag ?? '').replace(/^W\//, '').replace(/^"|"$/g, '');

export class S3Store implements ObjectStore {
  /** Whether this server wants If-Match quoted; learned on the first 412 that was not a real conflict. */
  private quoteIfMatch = false;
  private bucketExists = false;

  private constructor(
    private readonly client: S3ClientType,
    private readonly sdk: typeof import('@aws-sdk/client-s3'),
    readonly bucket: string,
    readonly prefix: string,
  ) {}

  /** The SDK loads on first use of an s3:// registry only: folder users never pay for it. */
  static async open(url: string, env: Readonly<Record<string, string | undefined>>): Promise<S3Store> {
    const { bucket, prefix } = parseS3Url(url);
    const sdk = await import('@aws-sdk/client-s3');
    const settings = s3Settings(env);
    // Keys in the env we were given win; otherwise the SDK's standard chain (profile, SSO, container and instance roles).
    const credentials = env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) } : undefined;
    const client = new sdk.S3Client({ region: settings.region, forcePathStyle: settings.forcePathStyle, ...(settings.endpoint ? { endpoint: settings.endpoint } : {}), ...(credentials ? { credentials } : {}),
      // S3-compatible servers (Ceph RGW 16, older MinIO) refuse the SDK's default streamed
      // (aws-chunked) checksums with 411 MissingContentLength: send checksums only when required there.
      ...(settings.endpoint ? { requestChecksumCalculation: 'WHEN_REQUIRED' as const, responseChecksumValidation: 'WHEN_REQUIRED' as const } : {}),
      maxAttempts: 3,
    });
    return new S3Store(client, sdk, bucket, prefix);
  }

  get location(): string {
    return `s3://${this.bucket}/${this.prefix}`.replace(/\/$/, '');
  }

  private key(key: string): string {
    checkKey(key);
    return `${this.prefix}${key}`;
  }

  /** One line for any failure; 404 on the bucket is exit 3 with the administrator hint. */
  private fail(error: unknown, action: string, key?: string): never {
    const status = statusOf(error);
    const name = nameOf(error);
    const where = key === undefined ? `s3://${this.bucket}` : `s3://${this.bucket}/${this.prefix}${key}`;
    if (name === 'NoSuchBucket') {
      throw new NotFoundError(`the bucket ${this.bucket} does not exist`, 'ask an administrator to create it (creating buckets is an administrator\'s job), or check the s3:// URL and AWS_ENDPOINT_URL_S3', 'bucket_not_found');
    }
    if (status === 403 || name === 'AccessDenied' || name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch') {
      throw new StoreError(`S3 refused to ${action} ${where} (${name || status})`, 'check the credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID) and that the bucket policy grants s3:GetObject, s3:PutObject, s3:DeleteObject and s3:ListBucket on the prefix', 'store_refused');
    }
    if (name === 'CredentialsProviderError' || /credential/i.test(name)) {
      throw new StoreError(`no AWS credentials to ${action} ${where}`, 'set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where a role provides them', 'store_credentials');
    }
    const detail = status ? `HTTP ${status}${name ? ` ${name}` : ''}` : (error as SdkError)?.message?.split('\n')[0] ?? String(error);
    throw new StoreError(`cannot ${action} ${where}: ${detail}`, 'check the endpoint (AWS_ENDPOINT_URL_S3) and the network, then run the command again; the registry is unchanged', 'store_failed');
  }

  private async send<T>(command: unknown, action: string, key?: string): Promise<T> {
    try {
      return (await this.client.send(command as never)) as T;
    } catch (error) {
      this.fail(error, action, key);
    }
  }

  async get(key: string): Promise<StoredObject | undefined> {
    const result = await this.getIfChanged(key, undefined);
    return result === 'unchanged' ? undefined : result;
  }

  async getIfChanged(key: string, etag: string | undefined): Promise<StoredObject | undefined | 'unchanged'> {
    const Key = this.key(key);
    try {
      const out = await this.client.send(new this.sdk.GetObjectCommand({ Bucket: this.bucket, Key, ...(etag ? { IfNoneMatch: `"${etag}"` } : {}) }));
      const body = Buffer.from(await out.Body!.transformToByteArray());
      return { body, etag: bare(out.ETag) };
    } catch (error) {
      if (statusOf(error) === 304) return 'unchanged';
      if (nameOf(error) === 'NoSuchKey' || (statusOf(error) === 404 && nameOf(error) !== 'NoSuchBucket')) return undefined;
      this.fail(error, 'read', key);
    }
  }

  async getStream(key: string): Promise<Readable | undefined> {
    const Key = this.key(key);
    try {
      const out = await this.client.send(new this.sdk.GetObjectCommand({ Bucket: this.bucket, Key }));
      return out.Body as Readable;
    } catch (error) {
      if (nameOf(error) === 'NoSuchKey' || (statusOf(error) === 404 && nameOf(error) !== 'NoSuchBucket')) return undefined;
      this.fail(error, 'read', key);
    }
  }

  async head(key: string): Promise<{ size: number; etag: string } | undefined> {
    const Key = this.key(key);
    try {
      const out = await this.client.send(new this.sdk.HeadObjectCommand({ Bucket: this.bucket, Key }));
      return { size: out.ContentLength ?? 0, etag: bare(out.ETag) };
    } catch (error) {
      if (statusOf(error) === 404 || nameOf(error) === 'NotFound') {
        // HEAD has no body, so a missing bucket looks like a missing key: ask once per process.
        if (!this.bucketExists) await this.requireBucket();
        this.bucketExists = true;
        return undefined;
      }
      this.fail(error, 'read', key);
    }
  }

  /** Exit 3 with the administrator hint when the bucket does not exist. */
  async requireBucket(): Promise<void> {
    await this.send(new this.sdk.HeadBucketCommand({ Bucket: this.bucket }), 'open').catch((error: unknown) => {
      if (error instanceof StoreError && / HTTP 404/.test(error.message)) this.fail({ name: 'NoSuchBucket' }, 'open');
      throw error;
    });
  }

  async list(prefix: string): Promise<ListedObject[]> {
    checkPrefix(prefix);
    const found: ListedObject[] = [];
    let token: string | undefined;
    do {
      const out = await this.send<import('@aws-sdk/client-s3').ListObjectsV2CommandOutput>(
        new this.sdk.ListObjectsV2Command({ Bucket: this.bucket, Prefix: `${this.prefix}${prefix}`, ContinuationToken: token }),
        'list',
        prefix,
      );
      for (const item of out.Contents ?? []) {
        if (!item.Key) continue;
        found.push({ key: item.Key.slice(this.prefix.length), size: item.Size ?? 0, etag: bare(item.ETag) });
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async listFolders(prefix: string): Promise<string[]> {
    checkPrefix(prefix);
    const found: string[] = [];
    let token: string | undefined;
    do {
      const out = await this.send<import('@aws-sdk/client-s3').ListObjectsV2CommandOutput>(
        new this.sdk.ListObjectsV2Command({ Bucket: this.bucket, Prefix: `${this.prefix}${prefix}`, Delimiter: '/', ContinuationToken: token }),
        'list',
        prefix,
      );
      for (const p of out.CommonPrefixes ?? []) if (p.Prefix) found.push(p.Prefix.slice(this.prefix.length + prefix.length).replace(/\/$/, ''));
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    return found.sort();
  }

  async putIfAbsent(key: string, body: Buffer | string): Promise<boolean> {
    const Key = this.key(key);
    for (let attempt = 0; ; attempt++) {
      try {
        await this.client.send(new this.sdk.PutObjectCommand({ Bucket: this.bucket, Key, Body: body, IfNoneMatch: '*' }));
        return true;
      } catch (error) {
        if (statusOf(error) === 412) return false;
        // 409 ConditionalRequestConflict: another conditional write to the key is in flight.
        if (statusOf(error) === 409 && attempt < 5) {
          await new Promise((r) => setTimeout(r, 20 * 2 ** attempt * Math.random()));
          continue;
        }
        this.fail(error, 'write', key);
      }
    }
  }

  async putIfMatch(key: string, body: Buffer | string, etag: string | null): Promise<string | undefined> {
    const Key = this.key(key);
    if (etag === null) {
      const created = await this.putIfAbsent(key, body);
      return created ? ((await this.head(key))?.etag ?? '') : undefined;
    }
    for (let retriedQuoted = false; ; ) {
      const ifMatch = this.quoteIfMatch ? `"${etag}"` : etag;
      try {
        const out = await this.client.send(new this.sdk.PutObjectCommand({ Bucket: this.bucket, Key, Body: body, IfMatch: ifMatch }));
        return bare(out.ETag);
      } catch (error) {
        const status = statusOf(error);
        if (status === 409) return undefined;
        if (status === 412 || status === 404) {
          if (retriedQuoted) return undefined;
          // A 412 with the etag unchanged means this server wants the other quoting.
          const current = await this.head(key);
          if (!current || current.etag !== etag) return undefined;
          this.quoteIfMatch = !this.quoteIfMatch;
          retriedQuoted = true;
          continue;
        }
        this.fail(error, 'write', key);
      }
    }
  }

  async putFile(key: string, path: string): Promise<void> {
    const Key = this.key(key);
    const size = (await stat(path)).size;
    try {
      if (size < 16 * 1024 * 1024) {
        await this.client.send(new this.sdk.PutObjectCommand({ Bucket: this.bucket, Key, Body: createReadStream(path), ContentLength: size }));
        return;
      }
      const { Upload } = await import('@aws-sdk/lib-storage');
      // 16 MB parts, 4 at once: 300 MB in 19 parts.
      const upload = new Upload({ client: this.client, params: { Bucket: this.bucket, Key, Body: createReadStream(path) }, partSize: 16 * 1024 * 1024, queueSize: 4 });
      await upload.done();
    } catch (error) {
      this.fail(error, 'upload', key);
    }
  }

  async delete(key: string): Promise<void> {
    await this.send(new this.sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(key) }), 'delete', key);
  }
}

