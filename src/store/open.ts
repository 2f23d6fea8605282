// A registry location is a folder path or an s3://BUCKET/PREFIX URL; this opens its store.
import { resolve } from 'node:path';
import { FolderStore } from './folder.js';
import type { ObjectStore } from './types.js';

export const isS3Url = (location: string) => location.startsWith('s3://');

/** A flag or MLOPS_REGISTRY value made absolute: URLs stay as they are, folders resolve against cwd. */
export function resolveLocation(cwd: string, location: string): string {
  return isS3Url(location) ? location.replace(/\/+$/, '') : resolve(cwd, location);
}

export async function openStore(location: string, env: Readonly<Record<string, string | undefined>> = globalThis.process.env): Promise<ObjectStore> {
  if (isS3Url(location)) {
    const { S3Store } = await import('./s3.js');
    return S3Store.open(location, env);
  }
  return new FolderStore(location);
}
