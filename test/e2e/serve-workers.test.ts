// --workers 2 (node:cluster) as a real process: /metrics reports the whole server, feedback
// reaches the worker that served the prediction, stickiness does not depend on the worker,
// and SIGTERM drains every worker, flushes the one log file and exits 0.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PROMTOOL_BIN, skipReason } from '../support/prometheus.js';
import { makeFraudRegistry, rawRequest, referenceRows, startServeProcess, type ServeProcess, type TestRegistry } from '../support/serve-helpers.js';

let reg: TestRegistry;
let proc: ServeProcess;
let rows: number[][];
const N = 120;

beforeAll(async () => {
  reg = await makeFraudRegistry();
  rows = await referenceRows(N);
  proc = await startServeProcess(reg.registry.dir, ['--workers', '2', '--log', join(reg.dir, 'workers.jsonl'), '--ab', 'fraud@v1.0.0=50,fraud@v2.0.0=50']);
});

afterAll(async () => {
  proc?.kill('SIGKILL');
  await reg?.cleanup();
});

/** A new connection per request, so that the cluster spreads them over the workers. */
async function post(path: string, body: unknown): Promise<{ status: number; body: any }> {
  const response = await rawRequest(proc.url, { path, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: JSON.parse(response.body) };
}

async function metricsText(): Promise<string> {
  return (await rawRequest(proc.url, { method: 'GET', path: '/metrics' })).body;
}

function counter(text: string, pattern: RegExp): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const match = pattern.exec(line);
    if (match) total += Number(match[1]);
  }
  return total;
}

describe('mlops serve --workers 2', () => {
  const answers: any[] = [];

  test('predictions spread over the workers are sticky by user whatever the worker', async () => {
    for (let i = 0; i < N; i++) {
      const response = await post('/predict', { features: rows[i], user_id: `u${i % 10}` });
      expect(response.status).toBe(200);
      answers.push(response.body);
      const bucket = createHash('sha256').update(`fraud:u${i % 10}`).digest().readBigUInt64BE(0) % 10000n;
      expect(response.body.variant).toBe(bucket < 5000n ? 'v1.0.0' : 'v2.0.0');
    }
    // Round robin over new connections puts about half on each worker: a /metrics from
    // one worker alone would count about N/2.
    const text = await metricsText();
    expect(counter(text, /^mlops_predictions_total\{[^}]*\} (\d+)$/)).toBe(N);
  });

  test('/metrics is the sum over the workers, whichever worker answers it', async () => {
    for (let k = 0; k < 4; k++) {
      const text = await metricsText();
      expect(counter(text, /^mlops_predictions_total\{[^}]*\} (\d+)$/)).toBe(N);
      expect(counter(text, /^mlops_requests_total\{route="\/predict",method="POST",status="200"\} (\d+)$/)).toBe(N);
      expect(text).toMatch(/^mlops_models_loaded\{model="fraud",version="v1.0.0"\} 1$/m);
      expect(text).toMatch(/^mlops_prediction_latency_seconds_count\{model="fraud",version="v1.0.0",variant="v1.0.0"\} \d+$/m);
    }
    if (!skipReason([PROMTOOL_BIN])) {
      const check = spawnSync(PROMTOOL_BIN, ['check', 'metrics'], { input: await metricsText(), encoding: 'utf8' });
      expect(`${check.stdout}${check.stderr}`.trim()).toBe('');
      expect(check.status).toBe(0);
    }
  });

  test('feedback reaches the worker that served the prediction; accuracy is computed over all workers', async () => {
    let correct = 0;
    for (const [i, answer] of answers.entries()) {
      const label = i % 3 === 0 ? 1 - answer.prediction : answer.prediction;
      if (label === answer.prediction) correct++;
      const response = await post('/feedback', { request_id: answer.request_id, label });
      expect(response.status).toBe(200);
      expect(response.body.correct).toBe(label === answer.prediction);
    }
    // Another replica's request: recorded unjoined in the log, for ab report to join.
    expect(await post('/feedback', { request_id: 'nobody-served-this', label: 1 })).toMatchObject({ status: 202, body: { joined: false } });
    const text = await metricsText();
    expect(counter(text, /^mlops_feedback_total\{[^}]*\} (\d+)$/)).toBe(N);
    expect(counter(text, /^mlops_feedback_correct_total\{[^}]*\} (\d+)$/)).toBe(correct);
    const v1 = answers.map((a, i) => ({ a, i })).filter(({ a }) => a.variant === 'v1.0.0');
    const v1Correct = v1.filter(({ i }) => i % 3 !== 0).length;
    const accuracy = Number(/^mlops_accuracy\{model="fraud",version="v1.0.0",variant="v1.0.0"\} ([\d.e-]+)$/m.exec(text)?.[1]);
    expect(accuracy).toBeCloseTo(v1Correct / v1.length, 9);
  });

  test('SIGTERM drains every worker, the primary flushes the log, exit code 0', async () => {
    proc.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    const lines = (await readFile(join(reg.dir, 'workers.jsonl'), 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.features)).toHaveLength(N);
    expect(lines.filter((l) => l.type === 'feedback' && l.joined !== false)).toHaveLength(N);
    expect(new Set(lines.filter((l) => l.features).map((l) => l.request_id)).size).toBe(N);
  });
});
