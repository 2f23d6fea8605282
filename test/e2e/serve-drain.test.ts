// Graceful drain: readiness turns false at once, in-flight requests finish, then the
// server stops (in-process through the API, and a real process on SIGTERM: exit 0).
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { getJson, makeFraudRegistry, postJson, referenceRows, sleep, startServeProcess, startTestServer, type TestRegistry } from '../support/serve-helpers.js';

let reg: TestRegistry;
let row: number[];

beforeAll(async () => {
  reg = await makeFraudRegistry();
  row = (await referenceRows(1))[0]!;
});

afterAll(() => reg?.cleanup());

/**
 * An in-flight request that the server is still reading: headers and half the body
 * sent; `finish()` sends the rest and resolves with the raw HTTP answer.
 */
function slowRequest(url: string): Promise<{ finish: () => Promise<string>; socket: Socket }> {
  const { hostname, port } = new URL(url);
  const body = JSON.stringify({ features: row });
  const half = Math.floor(body.length / 2);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(`POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, half)}`);
      let answer = '';
      socket.on('data', (chunk) => (answer += chunk.toString()));
      const ended = new Promise<string>((done) => {
        socket.on('end', () => done(answer));
        socket.on('close', () => done(answer));
      });
      resolve({
        socket,
        finish: async () => {
          socket.write(body.slice(half));
          return ended;
        },
      });
    });
    socket.on('error', reject);
  });
}

describe('drain through the API', () => {
  test('readiness false during the drain delay, still answering; in-flight request completes; then closed', async () => {
    const server = await startTestServer(reg.registry.dir, { drainDelayMs: 1500 });
    const inFlight = await slowRequest(server.url);
    await sleep(50);
    const draining = server.drain();
    let drained = false;
    void draining.then(() => (drained = true));

    const ready = await getJson(`${server.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.body.error).toMatch(/draining/);
    expect((await getJson(`${server.url}/v2/health/ready`)).status).toBe(503);
    expect((await getJson(`${server.url}/healthz`)).status).toBe(200); // alive, just not ready
    // Load balancers still send traffic during the delay: it is answered.
    expect((await postJson(`${server.url}/predict`, { features: row })).status).toBe(200);

    await sleep(100);
    expect(drained).toBe(false); // the in-flight request holds the drain
    const answer = await inFlight.finish();
    expect(answer).toMatch(/^HTTP\/1.1 200/);
    expect(answer).toMatch(/connection: close/i);
    expect(answer).toMatch(/"prediction"/);
    await draining;
    await server.closed;
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    expect(server.events.map((e) => e.type)).toEqual(expect.arrayContaining(['draining', 'drained']));
  });

  test('drain is idempotent and close() skips the delay', async () => {
    const server = await startTestServer(reg.registry.dir, { drainDelayMs: 60_000 });
    const first = server.close();
    const second = server.close();
    await Promise.all([first, second]);
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });

  test('a start that fails (no production version anywhere) rejects `ready` with a NotFoundError and closes', async () => {
    const { makeRegistry, FRAUD_V1 } = await import('../support/serve-helpers.js');
    const empty = await makeRegistry();
    try {
      await empty.register('fraud', FRAUD_V1, 'v1.0.0'); // staging only
      await expect(startTestServer(empty.registry.dir)).rejects.toMatchObject({ exitCode: 3, message: expect.stringMatching(/production version/) });
      await expect(startTestServer(empty.registry.dir, { models: ['nope'] })).rejects.toMatchObject({ exitCode: 3, message: expect.stringMatching(/no model named nope/) });
      await expect(startTestServer(empty.registry.dir, { models: ['fraud@v9.0.0'] })).rejects.toMatchObject({ exitCode: 3 });
    } finally {
      await empty.cleanup();
    }
  });
});

describe('a real process', () => {
  test('SIGTERM: in-flight request completes, new connections are refused, exit code 0', async () => {
    const proc = await startServeProcess(reg.registry.dir, ['--workers', '1']);
    try {
      expect((await postJson(`${proc.url}/predict`, { features: row })).status).toBe(200);
      const inFlight = await slowRequest(proc.url);
      await sleep(50);
      proc.kill('SIGTERM');
      await sleep(300);
      const answer = await inFlight.finish();
      expect(answer).toMatch(/^HTTP\/1.1 200/);
      expect(await proc.exited).toBe(0);
      await expect(fetch(`${proc.url}/healthz`)).rejects.toThrow();
    } finally {
      proc.kill('SIGKILL');
    }
  });
});
