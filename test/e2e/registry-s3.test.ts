// What only a bucket registry has: serve following production from a bucket (reload
// after a promote by another process), and init on a bucket that does not exist.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, EXAMPLE, expectCleanError, mlops, tempDir } from '../support/cli.js';
import { s3Backend } from '../support/registry-backends.js';

const { backend, skipReason } = await s3Backend();

describe.skipIf(!backend)(`s3:// registry${backend ? '' : ` (skipped: ${skipReason})`}`, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let registry: string;
  const env = () => ({ ...backend!.env, MLOPS_CACHE_DIR: join(dir, 'cache'), NO_COLOR: '1' });
  const reg = (...args: string[]) => mlops(['--registry', registry, ...args], { cwd: dir, env: env() });

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    registry = await backend!.location(dir);
  });
  afterAll(async () => cleanup());

  it('serve follows production in the bucket: a promote by another process is served within the poll', async () => {
    for (const args of [['register', 'fraud', join(EXAMPLE, 'fraud-v1.onnx')], ['register', 'fraud', join(EXAMPLE, 'fraud-v2.onnx')], ['promote', 'fraud', 'v1.0.0']]) {
      const result = await reg(...args);
      expect(result.exitCode, result.stderr).toBe(0);
    }
    const child = spawn(process.execPath, [BIN, '--registry', registry, 'serve', '--json', '--host', '127.0.0.1', '--port', '0', '--workers', '1', '--poll-interval-ms', '200'], { stdio: ['ignore', 'pipe', 'pipe'], env: env() });
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening event:\n${stderr}`)), 30_000);
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        const listening = stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { type?: string; url?: string }).find((e) => e.type === 'listening');
        if (listening) {
          clearTimeout(timer);
          resolve(listening.url!);
        }
      });
    });
    const version = async () => ((await (await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ features: Array(10).fill(1) }) })).json()) as { version: string }).version;
    expect(await version()).toBe('v1.0.0');
    const promoted = await reg('promote', 'fraud', 'v1.0.1');
    expect(promoted.exitCode, promoted.stderr).toBe(0);
    const deadline = Date.now() + 15_000;
    let served = await version();
    while (served !== 'v1.0.1' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      served = await version();
    }
    expect(served).toBe('v1.0.1');
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 90_000);

  it('init on a bucket that does not exist is exit 3 with the administrator hint', async () => {
    const result = await mlops(['--registry', 's3://no-such-bucket-mlops-test/team', 'init'], { cwd: dir, env: env() });
    expect(result.exitCode).toBe(3);
    expect(expectCleanError(result)).toMatch(/the bucket no-such-bucket-mlops-test does not exist/);
    expect(result.stderr).toMatch(/hint: .*creating buckets is an administrator's job/);
  });

  it('MLOPS_REGISTRY=s3://... works like --registry', async () => {
    const result = await mlops(['list', '--json'], { cwd: dir, env: { ...env(), MLOPS_REGISTRY: registry } });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).map((r: { version: string }) => r.version)).toEqual(['v1.0.0', 'v1.0.1']);
  });
});
