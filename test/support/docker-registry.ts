// A real image registry for push tests: Debian's docker-registry (distribution 2.8) on a
// free loopback port with storage in a temp folder. Engines treat 127.0.0.1 as an
// insecure registry, so pushes need no TLS.
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binaryExists, missingBinaryError, startPeer, type RunningPeer } from './prometheus.js';

export const DOCKER_REGISTRY_BIN = process.env.MLOPS_TEST_DOCKER_REGISTRY ?? '/usr/bin/docker-registry';

export interface ImageRegistry {
  /** host:port to put in image references, e.g. 127.0.0.1:41234. */
  host: string;
  url: string;
  /** Repositories in the registry (GET /v2/_catalog). */
  catalog(): Promise<string[]>;
  /** Tags of one repository (GET /v2/<name>/tags/list); [] when it has none. */
  tags(repository: string): Promise<string[]>;
  /** The manifest digest the registry holds for repository:tag. */
  manifestDigest(repository: string, tag: string): Promise<string | undefined>;
  logs(): string;
  stop(): Promise<void>;
}

export async function startImageRegistry(): Promise<ImageRegistry> {
  if (!binaryExists(DOCKER_REGISTRY_BIN)) throw missingBinaryError('docker-registry', DOCKER_REGISTRY_BIN, 'docker-registry');
  const dir = await mkdtemp(join(tmpdir(), 'mlops-image-registry-'));
  const configPath = join(dir, 'config.yml');
  let peer: RunningPeer;
  try {
    peer = await startPeer({
      name: 'docker-registry',
      bin: DOCKER_REGISTRY_BIN,
      dir,
      readyPath: '/v2/',
      args: (port) => {
        // JSON is YAML. The registry reads its address only from the config file.
        const config = {
          version: 0.1,
          log: { level: 'warn', accesslog: { disabled: true } },
          storage: { filesystem: { rootdirectory: join(dir, 'data') }, delete: { enabled: true } },
          http: { addr: `127.0.0.1:${port}`, secret: 'mlops-test-only' },
        };
        writeFileSync(configPath, JSON.stringify(config, null, 2));
        return ['serve', configPath];
      },
    });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const url = peer.url;
  const getJson = async (path: string) => {
    const response = await fetch(url + path, { signal: AbortSignal.timeout(5_000) });
    if (response.status === 404) return undefined;
    if (!response.ok) throw new Error(`registry GET ${path}: HTTP ${response.status}`);
    return response.json() as Promise<Record<string, unknown>>;
  };
  return {
    host: url.replace(/^http:\/\//, ''),
    url,
    async catalog() {
      return ((await getJson('/v2/_catalog'))?.repositories as string[] | undefined) ?? [];
    },
    async tags(repository) {
      return ((await getJson(`/v2/${repository}/tags/list`))?.tags as string[] | null | undefined) ?? [];
    },
    async manifestDigest(repository, tag) {
      const response = await fetch(`${url}/v2/${repository}/manifests/${tag}`, {
        method: 'HEAD',
        headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' },
        signal: AbortSignal.timeout(5_000),
      });
      return response.ok ? (response.headers.get('docker-content-digest') ?? undefined) : undefined;
    },
    logs: () => peer.logs(),
    async stop() {
      await peer.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
