// Hot reload: a promotion in the registry (atomic rename of the version YAMLs, as
// `mlops promote` does from another process) switches the server to the new production
// version under concurrent load with zero failed requests; pinned models, --no-watch and
// failed loads keep the old version.
import { writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { identityModel, makeFraudRegistry, postJson, referenceRows, sleep, startTestServer, writeModel, type TestRegistry, type TestServer } from '../support/serve-helpers.js';

let reg: TestRegistry;
let server: TestServer | undefined;

beforeEach(async () => {
  reg = await makeFraudRegistry();
});

afterEach(async () => {
  await server?.close();
  server = undefined;
  await reg.cleanup();
});

async function waitForVersion(url: string, version: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const row = (await referenceRows(1))[0];
  while (Date.now() < deadline) {
    if ((await postJson(`${url}/predict`, { features: row })).body.version === version) return;
    await sleep(50);
  }
  throw new Error(`the server did not switch to ${version} within ${timeoutMs} ms`);
}

describe('hot reload', () => {
  test('promotion under concurrent load: zero failed requests, then only the new version', async () => {
    server = await startTestServer(reg.registry.dir, { pollIntervalMs: 100 });
    const rows = await referenceRows(50);
    let running = true;
    const statuses = new Map<number, number>();
    const versions: string[] = [];
    const failures: string[] = [];
    const client = async (seed: number) => {
      let i = seed;
      while (running) {
        try {
          const body = i % 4 === 0 ? { instances: rows.slice(0, 10) } : { features: rows[i % rows.length] };
          const response = await postJson(`${server!.url}/predict`, body);
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          if (response.status !== 200) failures.push(response.text);
          else versions.push(response.body.version);
        } catch (error) {
          failures.push(String(error));
        }
        i++;
      }
    };
    const clients = Array.from({ length: 8 }, (_, k) => client(k));
    await sleep(300);
    await reg.promote('fraud', 'v2.0.0');
    await waitForVersion(server.url, 'v2.0.0');
    const switchedAt = versions.length;
    await sleep(300);
    running = false;
    await Promise.all(clients);

    expect(failures).toEqual([]);
    expect([...statuses.keys()]).toEqual([200]);
    expect(versions).toContain('v1.0.0');
    // Requests that started after the switch was observed all got v2.
    expect(versions.slice(switchedAt + 8)).not.toContain('v1.0.0');
    expect(versions.slice(switchedAt + 8).length).toBeGreaterThan(0);
    const reloaded = server.events.find((e) => e.type === 'reloaded');
    expect(reloaded).toMatchObject({ model: 'fraud', from: 'v1.0.0', to: 'v2.0.0' });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^mlops_models_loaded\{model="fraud",version="v2.0.0"\} 1$/m);
    expect(metrics).not.toMatch(/^mlops_models_loaded\{model="fraud",version="v1.0.0"\}/m);
  });

  test('rolling back (production moves to an older version) reloads too', async () => {
    server = await startTestServer(reg.registry.dir, { pollIntervalMs: 100 });
    await reg.promote('fraud', 'v2.0.0');
    await waitForVersion(server.url, 'v2.0.0');
    await reg.promote('fraud', 'v1.0.0');
    await waitForVersion(server.url, 'v1.0.0');
  });

  test('a pinned NAME@VERSION is not reloaded', async () => {
    server = await startTestServer(reg.registry.dir, { models: ['fraud@v1.0.0'], pollIntervalMs: 100 });
    await reg.promote('fraud', 'v2.0.0');
    await sleep(500);
    const response = await postJson(`${server.url}/predict`, { features: (await referenceRows(1))[0] });
    expect(response.body.version).toBe('v1.0.0');
    expect(server.events.filter((e) => e.type === 'reloaded')).toEqual([]);
  });

  test('--no-watch (watch: false) keeps the version it started with', async () => {
    server = await startTestServer(reg.registry.dir, { watch: false, pollIntervalMs: 100 });
    await reg.promote('fraud', 'v2.0.0');
    await sleep(500);
    expect((await postJson(`${server.url}/predict`, { features: (await referenceRows(1))[0] })).body.version).toBe('v1.0.0');
  });

  test('a new production version that fails to load is reported, and the old one keeps serving', async () => {
    const record = await reg.register('fraud', await writeModel(reg.dir, 'v4.onnx', identityModel('float32', 10)), 'v4.0.0', { reference: false });
    // The blob goes bad after registration (disk corruption, a partial copy).
    await writeFile(reg.registry.artifactPath(record), 'this is not an onnx model');
    server = await startTestServer(reg.registry.dir, { pollIntervalMs: 100 });
    await reg.promote('fraud', 'v4.0.0');
    const deadline = Date.now() + 10_000;
    while (!server.events.some((e) => e.type === 'reload_failed' && e.version === 'v4.0.0') && Date.now() < deadline) await sleep(50);
    const failed = server.events.filter((e) => e.type === 'reload_failed' && e.version === 'v4.0.0');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.message).toMatch(/could not load fraud v4.0.0.*still serving v1.0.0/);
    await sleep(400); // several more polls: no retry storm for the same broken version
    expect(server.events.filter((e) => e.type === 'reload_failed' && e.version === 'v4.0.0')).toHaveLength(1);
    const response = await postJson(`${server.url}/predict`, { features: (await referenceRows(1))[0] });
    expect(response.status).toBe(200);
    expect(response.body.version).toBe('v1.0.0');
  });
});
