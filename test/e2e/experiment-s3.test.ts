// `mlops experiment` on a bucket registry (the test Ceph RGW): two `mlops serve fraud`
// processes follow an experiment kept in the bucket: the same sticky assignment for
// 2,000 users, a re-weight under load with 0 failed requests, a shadow, a stop.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketBounds, stickyBucket, variantForBucket } from '../../src/serve/routing.js';
import { BIN, EXAMPLE, mlops, tempDir } from '../support/cli.js';
import { s3Backend } from '../support/registry-backends.js';

const { backend, skipReason } = await s3Backend();
const users = Array.from({ length: 2000 }, (_, i) => `s3-user-${i}`);
const features = [12.5, 3, 0.4, 30, 200, 5, 40, 0, 1, 0.5];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!backend)(`mlops experiment on an s3:// registry${backend ? '' : ` (skipped: ${skipReason})`}`, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let registry: string;
  const servers: Array<{ url: string; child: ChildProcess; exited: Promise<number | null> }> = [];
  const env = (name: string) => ({ ...backend!.env, MLOPS_CACHE_DIR: join(dir, `cache-${name}`), NO_COLOR: '1' });
  const reg = (...args: string[]) => mlops(['--registry', registry, ...args], { cwd: dir, env: env('cli') });

  async function serve(name: string): Promise<void> {
    const child = spawn(process.execPath, [BIN, '--registry', registry, 'serve', 'fraud', '--host', '127.0.0.1', '--port', '0', '--workers', '1', '--poll-interval-ms', '200'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: env(name),
    });
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "listening on":\n${stderr}`)), 30_000);
      child.stderr!.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        const match = /listening on (http:\/\/\S+)/.exec(stderr);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
    });
    servers.push({ url, child, exited });
  }

  const predict = async (url: string, user: string) => {
    const response = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ features, user_id: user }) });
    return { status: response.status, body: (await response.json()) as { version: string; variant: string; experiment?: string } };
  };
  const assigned = (weights: Array<[string, number]>, user: string) =>
    weights[variantForBucket(bucketBounds(weights.map(([name, weight]) => ({ name, weight }))), stickyBucket('fraud', user))]![0];

  async function waitForRouting(weights: Array<[string, number]>): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const answers = await Promise.all(servers.flatMap((s) => users.slice(0, 30).map((u) => predict(s.url, u))));
      if (answers.every((a, i) => a.body.version === assigned(weights, users[i % 30]!))) return;
      if (Date.now() > deadline) throw new Error(`servers did not follow ${JSON.stringify(weights)}`);
      await sleep(100);
    }
  }

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    registry = await backend!.location(dir);
    for (const args of [
      ['register', 'fraud', join(EXAMPLE, 'fraud-v1.onnx')],
      ['register', 'fraud', join(EXAMPLE, 'fraud-v2.onnx')],
      ['promote', 'fraud', 'v1.0.0'],
    ]) {
      const result = await reg(...args);
      expect(result.exitCode, result.stderr).toBe(0);
    }
    await Promise.all([serve('a'), serve('b')]);
  }, 90_000);

  afterAll(async () => {
    for (const s of servers) s.child.kill('SIGTERM');
    await Promise.all(servers.map((s) => s.exited));
    await cleanup();
  });

  it('start, re-weight under load, shadow, stop: both servers agree on every user and fail no request', async () => {
    const started = await reg('experiment', 'start', 'fraud', '--variant', 'v1.0.0=50', '--variant', 'v1.0.1=50');
    expect(started.exitCode, started.stderr).toBe(0);
    await waitForRouting([
      ['v1.0.0', 50],
      ['v1.0.1', 50],
    ]);
    const [a, b] = await Promise.all(
      servers.map(async (s) => {
        const out: string[] = [];
        for (let i = 0; i < users.length; i += 50) out.push(...(await Promise.all(users.slice(i, i + 50).map(async (u) => (await predict(s.url, u)).body.version))));
        return out;
      }),
    );
    expect(users.filter((_, i) => a![i] !== b![i])).toEqual([]);
    expect(
      users.filter(
        (u, i) =>
          a![i] !==
          assigned(
            [
              ['v1.0.0', 50],
              ['v1.0.1', 50],
            ],
            u,
          ),
      ),
    ).toEqual([]);

    let running = true;
    const failures: string[] = [];
    const clients = Array.from({ length: 6 }, async (_, k) => {
      for (let i = k; running; i += 6) {
        try {
          const { status } = await predict(servers[i % 2]!.url, users[i % users.length]!);
          if (status !== 200) failures.push(String(status));
        } catch (error) {
          failures.push(String(error));
        }
      }
    });
    await sleep(200);
    const set = await reg('experiment', 'set', 'fraud', '--variant', 'v1.0.0=10', '--variant', 'v1.0.1=90', '--shadow', 'v1.0.0', '--shadow-fraction', '0.5');
    expect(set.exitCode, set.stderr).toBe(0);
    await waitForRouting([
      ['v1.0.0', 10],
      ['v1.0.1', 90],
    ]);
    running = false;
    await Promise.all(clients);
    expect(failures).toEqual([]);
    for (const s of servers) expect(await (await fetch(`${s.url}/metrics`)).text()).toMatch(/^mlops_shadow_predictions_total\{model="fraud",version="v1.0.0"\} [1-9]/m);

    const stopped = await reg('experiment', 'stop', 'fraud');
    expect(stopped.exitCode, stopped.stderr).toBe(0);
    const deadline = Date.now() + 20_000;
    for (;;) {
      const answers = await Promise.all(servers.map((s) => predict(s.url, users[0]!)));
      if (answers.every((x) => x.body.variant === 'default' && x.body.version === 'v1.0.0')) break;
      if (Date.now() > deadline) throw new Error('servers still route the experiment');
      await sleep(100);
    }
  }, 180_000);
});
