// /metrics against the real tools: `promtool check metrics` on the live output, and a real
// Prometheus server scraping the server and answering a query on the prediction counter.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PROMTOOL_BIN, skipReason, startPrometheus } from '../support/prometheus.js';
import { makeFraudRegistry, postJson, referenceRows, startTestServer, type TestRegistry, type TestServer } from '../support/serve-helpers.js';

let reg: TestRegistry;
let server: TestServer;

beforeAll(async () => {
  reg = await makeFraudRegistry();
  // Every series present: an experiment, a shadow, feedback, errors, out-of-distribution.
  server = await startTestServer(reg.registry.dir, { ab: 'fraud@v1.0.0=50,fraud@v2.0.0=50', shadow: ['fraud@v2.0.0'] });
  const rows = await referenceRows(20);
  for (const [i, row] of rows.entries()) {
    const answer = await postJson(`${server.url}/predict`, { features: i === 0 ? row.map((v) => v * 1000) : row, user_id: `u${i}` });
    await postJson(`${server.url}/feedback`, { request_id: answer.body.request_id, label: 1 });
  }
  await postJson(`${server.url}/predict`, '{bad');
  await postJson(`${server.url}/predict`, { model: 'nope', features: rows[0] });
});

afterAll(async () => {
  await server?.close();
  await reg?.cleanup();
});

describe('/metrics', () => {
  test.skipIf(skipReason([PROMTOOL_BIN]) !== undefined)('passes promtool check metrics', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    for (const name of [
      'mlops_predictions_total',
      'mlops_prediction_latency_seconds_bucket',
      'mlops_requests_total',
      'mlops_request_duration_seconds_bucket',
      'mlops_errors_total',
      'mlops_ood_inputs_total',
      'mlops_feedback_total',
      'mlops_feedback_correct_total',
      'mlops_accuracy',
      'mlops_shadow_predictions_total',
      'mlops_shadow_errors_total',
      'mlops_models_loaded',
      'process_cpu_user_seconds_total',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(text, name).toMatch(new RegExp(`^${name}\\{?`, 'm'));
    }
    const check = spawnSync(PROMTOOL_BIN, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(`${check.stdout}${check.stderr}`.trim()).toBe('');
    expect(check.status).toBe(0);
  });

  test.skipIf(skipReason(['/usr/bin/prometheus']) !== undefined)('a real Prometheus scrapes it and answers a query on the prediction counter', async () => {
    const target = new URL(server.url).host;
    const prometheus = await startPrometheus({ targets: [target], scrapeInterval: '1s' });
    try {
      const result = await prometheus.waitFor(
        'sum by (variant) (mlops_predictions_total{model="fraud"})',
        (r: any[]) => r.length === 2 && r.reduce((sum, s) => sum + Number(s.value[1]), 0) >= 20,
        20_000,
      );
      expect(result.map((s: any) => s.metric.variant).sort()).toEqual(['v1.0.0', 'v2.0.0']);
      // More traffic shows up in the next scrapes.
      const before = result.reduce((sum: number, s: any) => sum + Number(s.value[1]), 0);
      await postJson(`${server.url}/predict`, { instances: (await referenceRows(30)) });
      await prometheus.waitFor('sum(mlops_predictions_total{model="fraud"})', (r: any[]) => Number(r[0]?.value[1]) >= before + 30, 20_000);
      const up = await prometheus.query('up{job="mlops"}');
      expect(up[0].value[1]).toBe('1');
    } finally {
      await prometheus.stop();
    }
  });
});
