// A/B routing (sticky per user across restarts, weighted), shadow traffic isolation,
// feedback joined to predictions, and the prediction log those produce.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { identityModel, makeFraudRegistry, postJson, referenceRows, sleep, startTestServer, writeModel, type TestRegistry, type TestServer } from '../support/serve-helpers.js';

let reg: TestRegistry;
let rows: number[][];

beforeAll(async () => {
  reg = await makeFraudRegistry();
  rows = await referenceRows(100);
  // v3: takes 12 features, so every shadow copy of a 10-feature request fails.
  await reg.register('fraud', await writeModel(reg.dir, 'wide.onnx', identityModel('float32', 12)), 'v3.0.0', { reference: false });
});

afterAll(() => reg?.cleanup());

async function readLog(path: string): Promise<any[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

async function inBatches<T>(count: number, size: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let start = 0; start < count; start += size) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(size, count - start) }, (_, k) => fn(start + k)))));
  }
  return out;
}

/** The README's formula, computed here independently of src/serve/routing.ts. */
function documentedVariant(experiment: string, user: string): 'v1.0.0' | 'v2.0.0' {
  const bucket = createHash('sha256').update(`${experiment}:${user}`).digest().readBigUInt64BE(0) % 10000n;
  return bucket < 9000n ? 'v1.0.0' : 'v2.0.0';
}

describe('A/B experiment from --ab', () => {
  let server: TestServer;
  const users = Array.from({ length: 300 }, (_, i) => `user-${i}`);
  const assignments = new Map<string, string>();

  beforeAll(async () => {
    server = await startTestServer(reg.registry.dir, { ab: 'fraud@v1.0.0=90,fraud@v2.0.0=10', log: join(reg.dir, 'ab.jsonl') });
  });
  afterAll(() => server?.close());

  test('the response says which variant and experiment served it', async () => {
    const response = await postJson(`${server.url}/predict`, { features: rows[0], user_id: 'alice' });
    expect(response.status).toBe(200);
    expect(response.body.experiment).toBe('fraud');
    expect(['v1.0.0', 'v2.0.0']).toContain(response.body.variant);
    expect(response.body.version).toBe(response.body.variant);
  });

  test('a user id always gets the variant of the documented hash (body or X-User-Id header)', async () => {
    await inBatches(users.length, 25, async (i) => {
      const user = users[i]!;
      const viaBody = await postJson(`${server.url}/predict`, { features: rows[i % rows.length], user_id: user });
      const viaHeader = await postJson(`${server.url}/predict`, { features: rows[i % rows.length] }, { 'x-user-id': user });
      expect(viaBody.body.variant).toBe(documentedVariant('fraud', user));
      expect(viaHeader.body.variant).toBe(viaBody.body.variant);
      assignments.set(user, viaBody.body.variant);
    });
    const counts = [...assignments.values()].filter((v) => v === 'v2.0.0').length;
    expect(counts).toBeGreaterThan(0);
    expect(counts).toBeLessThan(users.length / 2);
  });

  test('numeric user ids hash as their decimal text', async () => {
    const response = await postJson(`${server.url}/predict`, { features: rows[0], user_id: 12345 });
    expect(response.body.variant).toBe(documentedVariant('fraud', '12345'));
  });

  test('without a user id, traffic splits by weight at random (90/10 within ±3% over 3,000 requests)', async () => {
    const results = await inBatches(3000, 50, () => postJson(`${server.url}/predict`, { features: rows[0] }));
    const share = results.filter((r) => r.body.variant === 'v2.0.0').length / results.length;
    expect(share).toBeGreaterThan(0.07);
    expect(share).toBeLessThan(0.13);
  });

  test('sticky across a restart: the same users get the same variants from a new server', async () => {
    await server.close();
    server = await startTestServer(reg.registry.dir, { ab: 'fraud@v1.0.0=90,fraud@v2.0.0=10' });
    await inBatches(users.length, 25, async (i) => {
      const again = await postJson(`${server.url}/predict`, { features: rows[0], user_id: users[i] });
      expect(again.body.variant).toBe(assignments.get(users[i]!));
    });
  });

  test('the metrics count each variant under its own labels', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(/^mlops_predictions_total\{model="fraud",version="v1.0.0",variant="v1.0.0"\} [1-9]/m);
    expect(text).toMatch(/^mlops_predictions_total\{model="fraud",version="v2.0.0",variant="v2.0.0"\} [1-9]/m);
  });

  test('the log records the variant and experiment of every row', async () => {
    // The first server (the one with the log) was closed by the restart, which flushed it.
    const lines = await readLog(join(reg.dir, 'ab.jsonl'));
    expect(lines.length).toBeGreaterThan(3000);
    for (const line of lines.slice(0, 50)) {
      expect(line).toMatchObject({ model: 'fraud', experiment: 'fraud' });
      expect(line.variant).toBe(line.version);
      expect(line.features).toHaveLength(10);
      expect(Object.keys(line.outputs).sort()).toEqual(['label', 'probabilities']);
      expect(typeof line.latency_ms).toBe('number');
    }
  });

  test('serve.yaml experiments with named variants', async () => {
    const config = join(reg.dir, 'serve.yaml');
    await import('node:fs/promises').then((fs) =>
      fs.writeFile(config, 'experiments:\n  - name: fraud-rollout\n    model: fraud\n    variants:\n      - {name: control, version: v1.0.0, weight: 50}\n      - {name: challenger, version: v2.0.0, weight: 50}\n'),
    );
    const configured = await startTestServer(reg.registry.dir, { configPath: config });
    try {
      const seen = new Set<string>();
      for (const user of users.slice(0, 40)) {
        const response = await postJson(`${configured.url}/predict`, { features: rows[0], user_id: user });
        expect(response.body.experiment).toBe('fraud-rollout');
        const bucket = createHash('sha256').update(`fraud-rollout:${user}`).digest().readBigUInt64BE(0) % 10000n;
        expect(response.body.variant).toBe(bucket < 5000n ? 'control' : 'challenger');
        expect(response.body.version).toBe(bucket < 5000n ? 'v1.0.0' : 'v2.0.0');
        seen.add(response.body.variant);
      }
      expect(seen.size).toBe(2);
    } finally {
      await configured.close();
    }
  });
});

describe('shadow traffic', () => {
  test('a shadow that fails on every request never changes or delays an answer', async () => {
    const plain = await startTestServer(reg.registry.dir, { models: ['fraud'] });
    const expected = await postJson(`${plain.url}/predict`, { instances: rows.slice(0, 30) });
    await plain.close();

    const logPath = join(reg.dir, 'shadow-fail.jsonl');
    const server = await startTestServer(reg.registry.dir, { models: ['fraud'], shadow: ['fraud@v3.0.0'], log: logPath });
    try {
      const answers = await Promise.all(rows.slice(0, 30).map((row) => postJson(`${server.url}/predict`, { features: row })));
      answers.forEach((answer, i) => {
        expect(answer.status).toBe(200);
        expect(answer.body.version).toBe('v1.0.0');
        expect(answer.body.probability[1]).toBeCloseTo(expected.body.probability[i][1], 6);
      });
      await sleep(100);
      const text = await (await fetch(`${server.url}/metrics`)).text();
      expect(text).toMatch(/^mlops_shadow_errors_total\{model="fraud",version="v3.0.0"\} 30$/m);
      expect(text).toMatch(/^mlops_shadow_predictions_total\{model="fraud",version="v3.0.0"\} 0$/m);
      const events = server.events.filter((e) => e.type === 'shadow_error');
      expect(events.length).toBe(1); // rate-limited: one line, not thirty
      expect(events[0]!.message).toMatch(/expects 12 features per row, the request had 10/);
    } finally {
      await server.close();
    }
    const lines = await readLog(logPath);
    expect(lines.filter((l) => l.shadow)).toEqual([]);
    expect(lines).toHaveLength(30);
  });

  test('a working shadow is logged with "shadow": true and the same request id, never returned', async () => {
    const logPath = join(reg.dir, 'shadow-ok.jsonl');
    const server = await startTestServer(reg.registry.dir, { models: ['fraud'], shadow: ['fraud@v2.0.0'], log: logPath });
    let requestId: string;
    try {
      const answer = await postJson(`${server.url}/predict`, { features: rows[5] });
      expect(answer.body.version).toBe('v1.0.0');
      requestId = answer.body.request_id;
      await postJson(`${server.url}/predict`, { instances: rows.slice(0, 3) });
      await sleep(100);
      expect(await (await fetch(`${server.url}/metrics`)).text()).toMatch(/^mlops_shadow_predictions_total\{model="fraud",version="v2.0.0"\} 4$/m);
    } finally {
      await server.close();
    }
    const lines = await readLog(logPath);
    const shadowRows = lines.filter((l) => l.shadow === true);
    expect(shadowRows).toHaveLength(4);
    const first = shadowRows.find((l) => l.request_id === requestId);
    expect(first).toMatchObject({ model: 'fraud', version: 'v2.0.0', variant: 'shadow', shadow: true, features: rows[5] });
    const primary = lines.find((l) => l.request_id === requestId && !l.shadow);
    expect(primary).toMatchObject({ version: 'v1.0.0', variant: 'default' });
  });
});

describe('feedback', () => {
  let server: TestServer;
  const logPath = () => join(reg.dir, 'feedback.jsonl');
  beforeAll(async () => {
    server = await startTestServer(reg.registry.dir, { models: ['fraud'], log: logPath(), logSample: 0 });
  });
  afterAll(() => server?.close());

  test('a label joins its prediction; accuracy per variant follows', async () => {
    const accuracy = async () => Number(/^mlops_accuracy\{model="fraud",version="v1.0.0",variant="default"\} ([\d.]+)/m.exec(await (await fetch(`${server.url}/metrics`)).text())?.[1]);
    const first = await postJson(`${server.url}/predict`, { features: rows[0] });
    const right = await postJson(`${server.url}/feedback`, { request_id: first.body.request_id, label: first.body.prediction });
    expect(right.status).toBe(200);
    expect(right.body).toMatchObject({ request_id: first.body.request_id, version: 'v1.0.0', variant: 'default', correct: true });
    expect(await accuracy()).toBe(1);

    const second = await postJson(`${server.url}/predict`, { features: rows[1] });
    const wrong = await postJson(`${server.url}/feedback`, { request_id: second.body.request_id, label: 1 - second.body.prediction });
    expect(wrong.body.correct).toBe(false);
    expect(await accuracy()).toBe(0.5);
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(/^mlops_feedback_total\{model="fraud",version="v1.0.0",variant="default"\} 2$/m);
    expect(text).toMatch(/^mlops_feedback_correct_total\{model="fraud",version="v1.0.0",variant="default"\} 1$/m);
  });

  test('a second label for the same request is refused (409); numeric outcomes are accepted', async () => {
    const answer = await postJson(`${server.url}/predict`, { features: rows[2] });
    expect((await postJson(`${server.url}/feedback`, { request_id: answer.body.request_id, label: '1' })).status).toBe(200);
    expect((await postJson(`${server.url}/feedback`, { request_id: answer.body.request_id, label: '1' })).status).toBe(409);
    const other = await postJson(`${server.url}/predict`, { features: rows[3] });
    const outcome = await postJson(`${server.url}/feedback`, { request_id: other.body.request_id, outcome: 12.5 });
    expect(outcome.status).toBe(200);
    expect(outcome.body.outcome).toBe(12.5);
  });

  test('a batch request takes feedback per row', async () => {
    const batch = await postJson(`${server.url}/predict`, { instances: rows.slice(0, 3) });
    const response = await postJson(`${server.url}/feedback`, { request_id: batch.body.request_id, row: 2, label: batch.body.predictions[2] });
    expect(response.body).toMatchObject({ correct: true, prediction: batch.body.predictions[2] });
    expect((await postJson(`${server.url}/feedback`, { request_id: batch.body.request_id, row: 3, label: 0 })).status).toBe(400);
  });

  test('the feedback memory is bounded in predicted rows, oldest out first, reused ids counted once', async () => {
    const small = await startTestServer(reg.registry.dir, { models: ['fraud'], feedbackCapacity: 10 });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) ids.push(String((await postJson(`${small.url}/predict`, { features: rows[i] })).body.request_id));
      // A 5-row batch needs room for 5 rows: the oldest single rows go, newest first kept.
      const batch = await postJson(`${small.url}/predict`, { instances: rows.slice(0, 5) });
      const status = async (id: string, row?: number) => (await postJson(`${small.url}/feedback`, { request_id: id, label: 0, ...(row === undefined ? {} : { row }) })).status;
      expect(await status(ids[0]!)).toBe(404);
      expect(await status(ids[1]!)).toBe(200);
      expect(await status(String(batch.body.request_id), 4)).toBe(200);
      expect(await status(ids[5]!)).toBe(200);
      // A client's X-Request-Id is kept beside the server's id, never the key feedback joins on.
      const reused = await postJson(`${small.url}/predict`, { features: rows[0] }, { 'x-request-id': 'reused' });
      expect(reused.body).toMatchObject({ client_request_id: 'reused' });
      expect(reused.body.request_id).not.toBe('reused');
      expect(await status('reused')).toBe(404);
      expect(await status(String(reused.body.request_id))).toBe(200);
    } finally {
      await small.close();
    }
  });

  test('--log-sample keeps about that share of requests, all rows of a request together', async () => {
    const path = join(reg.dir, 'sampled.jsonl');
    const sampled = await startTestServer(reg.registry.dir, { models: ['fraud'], log: path, logSample: 0.5 });
    try {
      await inBatches(400, 20, () => postJson(`${sampled.url}/predict`, { instances: rows.slice(0, 2) }));
    } finally {
      await sampled.close();
    }
    const lines = await readLog(path);
    const requests = new Map<string, number>();
    for (const line of lines) requests.set(line.request_id, (requests.get(line.request_id) ?? 0) + 1);
    expect(requests.size).toBeGreaterThan(140); // 400 * 0.5 = 200, sd 10
    expect(requests.size).toBeLessThan(260);
    expect([...requests.values()].every((count) => count === 2)).toBe(true);
  });

  test('feedback lines are logged even when predictions are sampled out (sample 0)', async () => {
    await server.close();
    const lines = await readLog(logPath());
    expect(lines.filter((l) => l.features)).toEqual([]);
    const feedback = lines.filter((l) => l.type === 'feedback');
    expect(feedback.length).toBe(5);
    expect(feedback[0]).toMatchObject({ type: 'feedback', model: 'fraud', version: 'v1.0.0', variant: 'default', correct: true });
    expect(feedback.find((l) => l.outcome === 12.5)).toBeDefined();
    server = await startTestServer(reg.registry.dir, { models: ['fraud'] });
  });
});

describe('mlops ab report on what serve wrote', () => {
  test('analyzeExperiment reads the log: requests and labels per variant match the traffic', async () => {
    const { analyzeExperiment } = await import('../../src/experiment/analyze.js');
    const logPath = join(reg.dir, 'report.jsonl');
    const server = await startTestServer(reg.registry.dir, { ab: 'fraud@v1.0.0=50,fraud@v2.0.0=50', log: logPath, shadow: ['fraud@v2.0.0'] });
    const perVariant = new Map<string, { requests: number; correct: number }>();
    try {
      await inBatches(200, 20, async (i) => {
        const answer = await postJson(`${server.url}/predict`, { features: rows[i % rows.length], user_id: `report-user-${i}` });
        const label = i % 4 === 0 ? 1 - answer.body.prediction : answer.body.prediction;
        await postJson(`${server.url}/feedback`, { request_id: answer.body.request_id, label });
        const entry = perVariant.get(answer.body.variant) ?? { requests: 0, correct: 0 };
        entry.requests++;
        if (label === answer.body.prediction) entry.correct++;
        perVariant.set(answer.body.variant, entry);
      });
    } finally {
      await server.close();
    }
    const report = await analyzeExperiment(logPath);
    expect(report.experiment).toBe('fraud');
    expect(report.variants.map((v) => [v.variant, v.requests, v.labelled, v.correct])).toEqual(
      [...perVariant.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([variant, e]) => [variant, e.requests, e.requests, e.correct]),
    );
    expect(report.skippedLines).toBe(0);
    expect(report.comparisons).toHaveLength(1);
  });
});
