// `mlops serve` as a cluster member, with real processes and real HTTP: readiness that
// holds with 4 workers, one starved of CPU while it starts and loads, start-up failures that end the whole server
// cleanly, a SIGTERM under load that resets nothing already sent, feedback sent to another
// replica and joined by `ab report`, hostile paths answered 4xx in one log line, the
// bearer token on /feedback, and the default bind address.
import { spawn, type ChildProcess } from 'node:child_process';
import { request as httpRequest, Agent } from 'node:http';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { BIN, expectCleanError, mlops } from '../support/cli.js';
import {
  FRAUD_V1,
  makeFraudRegistry,
  makeRegistry,
  postJson,
  rawRequest,
  referenceRows,
  sleep,
  startServeProcess,
  startTestServer,
  type TestRegistry,
} from '../support/serve-helpers.js';

let reg: TestRegistry;
let rows: number[][];

beforeAll(async () => {
  reg = await makeFraudRegistry();
  rows = await referenceRows(200);
});

afterAll(() => reg?.cleanup());

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server: Server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

interface Spawned {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
}

function spawnServe(args: string[], env: Record<string, string> = {}): Spawned {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', ...env } });
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stderr: () => stderr, exited };
}

/** One request on its own connection; the status, or the error code (ECONNRESET...). */
function once(port: number, method: string, path: string, body?: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, agent: false, headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {} }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    req.end(body);
  });
}

describe('readiness with 4 workers, one of them starved of CPU', () => {
  test('a worker that runs 10% of the time gets no request before its models are loaded (0 non-2xx after the first 200)', async () => {
    const port = await freePort();
    const server = spawnServe(['--registry', reg.registry.dir, '--host', '127.0.0.1', '--port', String(port), '--workers', '4', '--no-watch']);
    let starved: number | undefined;
    let throttling = true;
    try {
      const children = `/proc/${server.child.pid}/task/${server.child.pid}/children`;
      const seen = Date.now() + 30_000;
      while (starved === undefined && Date.now() < seen) {
        const pids = (await readFile(children, 'utf8').catch(() => '')).trim().split(/\s+/).filter(Boolean).map(Number);
        if (pids.length === 4) starved = pids[3];
        else await sleep(2);
      }
      expect(starved).toBeDefined();
      // As on an overloaded node: the worker gets 5 ms of every 50, so starting, listening
      // and loading take ten times as long as in the others.
      const throttle = (async () => {
        while (throttling) {
          process.kill(starved!, 'SIGCONT');
          await sleep(5);
          if (!throttling) break;
          process.kill(starved!, 'SIGSTOP');
          await sleep(45);
        }
        process.kill(starved!, 'SIGCONT');
      })();
      let status: number | string = 0;
      const deadline = Date.now() + 60_000;
      while (status !== 200 && Date.now() < deadline) {
        status = await once(port, 'GET', '/readyz');
        if (status !== 200) await sleep(10);
      }
      expect(status).toBe(200);
      const body = JSON.stringify({ features: Array(10).fill(1) });
      const answers: Array<number | string> = [];
      // Six seconds of traffic on new connections, which the primary spreads over every
      // worker that takes connections, while the starved one starts and loads.
      const until = Date.now() + 6000;
      while (Date.now() < until) answers.push(...(await Promise.all(Array.from({ length: 8 }, () => once(port, 'POST', '/predict', body)))));
      throttling = false;
      await throttle;
      expect(answers.length).toBeGreaterThan(100);
      expect(answers.filter((a) => a !== 200)).toEqual([]);
    } finally {
      throttling = false;
      if (starved !== undefined) process.kill(starved, 'SIGCONT');
      server.child.kill('SIGKILL');
      await server.exited;
    }
  }, 120_000);
});

describe('start-up failures with 2 workers end the whole server: one line, its exit code, no trace', () => {
  test('no production version to serve: exit 3', async () => {
    const empty = await makeRegistry();
    try {
      await empty.register('fraud', FRAUD_V1, 'v1.0.0');
      for (let i = 0; i < 3; i++) {
        const result = await mlops(['--registry', empty.registry.dir, 'serve', '--port', '0', '--workers', '2'], { timeout: 30_000 });
        expect(result.exitCode).toBe(3);
        expect(expectCleanError(result)).toMatch(/has a production version to serve/);
        expect(result.stderr).not.toMatch(/EPIPE|deserializeError|cluster-protocol/);
      }
    } finally {
      await empty.cleanup();
    }
  });

  test('an empty registry: exit 3', async () => {
    const empty = await makeRegistry();
    try {
      const result = await mlops(['--registry', empty.registry.dir, 'serve', '--port', '0', '--workers', '2'], { timeout: 30_000 });
      expect(result.exitCode).toBe(3);
      expect(expectCleanError(result)).toMatch(/has no models/);
    } finally {
      await empty.cleanup();
    }
  });

  test('a model that fails to load (a corrupt blob that passes its hash, a registry written by hand): exit 4, with 1 and 2 workers', async () => {
    const broken = await makeRegistry();
    try {
      await broken.register('fraud', FRAUD_V1, 'v1.0.0');
      await broken.promote('fraud', 'v1.0.0');
      // Point the version at bytes that are stored under their own hash but are not ONNX.
      const garbage = Buffer.from('not an onnx model, stored under its own sha256\n'.repeat(40));
      const sha256 = createHash('sha256').update(garbage).digest('hex');
      await writeFile(join(broken.registry.dir, 'blobs', 'sha256', sha256), garbage);
      const recordPath = join(broken.registry.dir, 'models', 'fraud', 'versions', 'v1.0.0.yaml');
      const record = parseYaml(await readFile(recordPath, 'utf8')) as { artifact: { sha256: string; size: number } };
      record.artifact = { ...record.artifact, sha256, size: garbage.length };
      await writeFile(recordPath, stringifyYaml(record));
      for (const workers of ['1', '2']) {
        const result = await mlops(['--registry', broken.registry.dir, 'serve', '--port', '0', '--workers', workers], { timeout: 30_000 });
        expect(result.exitCode, result.stderr).toBe(4);
        const line = expectCleanError(result);
        expect(line).toMatch(/^error: cannot load fraud v1\.0\.0: onnxruntime failed on its artifact \(/);
        expect(result.stderr).toMatch(/hint: .*mlops register fraud MODEL\.onnx/);
        expect(result.stderr).not.toMatch(/EPIPE|deserializeError|cluster-protocol|    at /);
      }
      // register still refuses the same bytes as bad input (exit 2), as before.
      const bogus = join(broken.dir, 'bogus.onnx');
      await writeFile(bogus, garbage);
      const refused = await mlops(['--registry', broken.registry.dir, 'register', 'fraud', bogus], { timeout: 30_000 });
      expect(refused.exitCode).toBe(2);
      expect(expectCleanError(refused)).toMatch(/not a loadable ONNX model/);
    } finally {
      await broken.cleanup();
    }
  });

  test('the port is in use: exit 2', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const result = await mlops(['--registry', reg.registry.dir, 'serve', '--host', '127.0.0.1', '--port', String(port), '--workers', '2'], { timeout: 30_000 });
      expect(result.exitCode).toBe(2);
      expect(expectCleanError(result)).toMatch(/already in use/);
    } finally {
      blocker.close();
    }
  });
});

describe('SIGTERM under in-flight load', () => {
  const cases = [
    { workers: 1, keepAlive: false },
    { workers: 2, keepAlive: false },
    { workers: 2, keepAlive: true },
  ];
  test.each(cases)('$workers worker(s), keep-alive $keepAlive: every request sent before the signal is answered 200, exit 0', async ({ workers, keepAlive }) => {
    const proc = await startServeProcess(reg.registry.dir, ['--workers', String(workers), '--no-watch']);
    const port = Number(new URL(proc.url).port);
    const body = JSON.stringify({ instances: Array.from({ length: 2000 }, (_, i) => rows[i % rows.length]) });
    const agent = new Agent({ keepAlive, maxSockets: 16 });
    let signalAt = Infinity;
    const results: Array<{ sentAt: number; outcome: number | string }> = [];
    const post = () =>
      new Promise<void>((resolve) => {
        let sentAt = Infinity;
        const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/predict', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
          res.resume();
          res.on('end', () => {
            results.push({ sentAt, outcome: res.statusCode ?? 0 });
            resolve();
          });
        });
        req.on('finish', () => (sentAt = performance.now()));
        req.on('error', (error: NodeJS.ErrnoException) => {
          results.push({ sentAt, outcome: error.code ?? 'error' });
          resolve();
        });
        req.end(body);
      });
    // 16 clients, each posting again as soon as it has its answer, until the server is gone.
    const clients = Array.from({ length: 16 }, async () => {
      while (performance.now() < signalAt + 2000) {
        await post();
        if (results.at(-1)!.outcome !== 200 && performance.now() > signalAt) break;
      }
    });
    await sleep(1500);
    signalAt = performance.now();
    proc.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    await Promise.all(clients);
    agent.destroy();
    const before = results.filter((r) => r.sentAt < signalAt);
    expect(before.length).toBeGreaterThan(16);
    const outcomes = (list: typeof results) => list.reduce<Record<string, number>>((counts, r) => ({ ...counts, [r.outcome]: (counts[r.outcome] ?? 0) + 1 }), {});
    expect(outcomes(before.filter((r) => r.outcome !== 200)), JSON.stringify(outcomes(results))).toEqual({});
    expect(proc.stderr()).toMatch(/drained/);
  }, 90_000);
});

describe('feedback from any replica', () => {
  test('feedback sent to the other of two servers sharing a log folder is recorded, and ab report joins it', async () => {
    const folder = join(reg.dir, 'replica-logs');
    await mkdir(folder, { recursive: true });
    const ab = 'fraud@v1.0.0=50,fraud@v2.0.0=50';
    const a = await startTestServer(reg.registry.dir, { ab, log: join(folder, 'predictions-a.jsonl') });
    const b = await startTestServer(reg.registry.dir, { ab, log: join(folder, 'predictions-b.jsonl') });
    const N = 60;
    try {
      for (let i = 0; i < N; i++) {
        const answer = await postJson(`${a.url}/predict`, { features: rows[i], user_id: `user-${i}` });
        expect(answer.status).toBe(200);
        // Half the labels agree with the prediction: the joined accuracy is known exactly.
        const label = i % 2 === 0 ? answer.body.prediction : 1 - Number(answer.body.prediction);
        const feedback = await postJson(`${b.url}/feedback`, { request_id: answer.body.request_id, label });
        expect(feedback.status).toBe(202);
        expect(feedback.body).toMatchObject({ recorded: true, joined: false });
      }
    } finally {
      await a.close();
      await b.close();
    }
    const report = await mlops(['ab', 'report', '--log', folder, '--json']);
    expect(report.exitCode).toBe(0);
    const parsed = JSON.parse(report.stdout) as { files: string[]; variants: Array<{ requests: number; labelled: number; correct: number }> };
    expect(parsed.files).toHaveLength(2);
    expect(parsed.variants.reduce((sum, v) => sum + v.requests, 0)).toBe(N);
    expect(parsed.variants.reduce((sum, v) => sum + v.labelled, 0)).toBe(N);
    expect(parsed.variants.reduce((sum, v) => sum + v.correct, 0)).toBe(N / 2);
  });
});

describe('client errors are 4xx in one log line', () => {
  test('bad percent-encoding and other hostile paths: 4xx, never 5xx, no stack in the log', async () => {
    const proc = await startServeProcess(reg.registry.dir, ['--workers', '1', '--no-watch']);
    try {
      const port = Number(new URL(proc.url).port);
      const linesBefore = proc.stderr().split('\n').length;
      const hostile: Array<[string, string]> = [
        ['POST', '/v1/models/%ZZ:predict'],
        ['GET', '/v1/models/%ZZ'],
        ['POST', '/v1/models/%E0%A4%A:predict'],
        ['POST', '/v2/models/%ZZ/infer'],
        ['GET', '/v2/models/fraud/versions/%ZZ/ready'],
        ['GET', '/v2/models/%/ready'],
        ['POST', '/v1/models/..%2F..%2Fetc%2Fpasswd:predict'],
        ['GET', `/v1/models/${'a'.repeat(6000)}`],
        ['GET', '/%00'],
        ['DELETE', '/predict'],
      ];
      for (let round = 0; round < 20; round++) {
        for (const [method, path] of hostile) {
          const status = await once(port, method, path, method === 'POST' ? '{"instances": [[1,2,3,4,5,6,7,8,9,10]]}' : undefined);
          expect(typeof status === 'number' && status >= 400 && status < 500, `${method} ${path} -> ${status}`).toBe(true);
        }
      }
      const metrics = (await rawRequest(proc.url, { method: 'GET', path: '/metrics' })).body;
      expect(metrics).not.toMatch(/mlops_requests_total\{[^}]*status="5\d\d"[^}]*\} [1-9]/);
      expect(proc.stderr()).not.toMatch(/\n\s+at /);
      expect(proc.stderr().split('\n').length).toBe(linesBefore);
    } finally {
      proc.kill('SIGKILL');
    }
  });
});

describe('--auth-token-env', () => {
  test('POST /feedback needs the bearer token; /predict does not', async () => {
    const server = await startTestServer(reg.registry.dir, { models: ['fraud'], authToken: 'a-long-random-token' });
    try {
      const answer = await postJson(`${server.url}/predict`, { features: rows[0] });
      expect(answer.status).toBe(200);
      const feedback = { request_id: answer.body.request_id, label: answer.body.prediction };
      expect((await postJson(`${server.url}/feedback`, feedback)).status).toBe(401);
      expect((await postJson(`${server.url}/feedback`, feedback, { authorization: 'Bearer wrong-token-of-same-size' })).status).toBe(401);
      expect((await postJson(`${server.url}/feedback`, feedback, { authorization: 'Bearer a-long-random-token' })).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  test('the CLI reads the token from the named variable, and refuses an empty one', async () => {
    const refused = await mlops(['--registry', reg.registry.dir, 'serve', '--port', '0', '--auth-token-env', 'MLOPS_TEST_NO_SUCH_TOKEN']);
    expect(refused.exitCode).toBe(2);
    expect(expectCleanError(refused)).toMatch(/MLOPS_TEST_NO_SUCH_TOKEN/);
  });
});

describe('the bind address', () => {
  test.each([
    [[], 'http://127.0.0.1:'],
    [['--host', '0.0.0.0'], 'http://0.0.0.0:'],
  ])('serve %j prints the address it binds', async (args, printed) => {
    const server = spawnServe(['--registry', reg.registry.dir, '--port', '0', '--workers', '1', '--no-watch', ...args]);
    try {
      const deadline = Date.now() + 30_000;
      while (!/listening on/.test(server.stderr()) && Date.now() < deadline) await sleep(50);
      expect(/listening on (\S+)/.exec(server.stderr())?.[1]).toContain(printed);
    } finally {
      server.child.kill('SIGKILL');
      await server.exited;
    }
  });
});
