// The monitoring loop with real peers: a real Prometheus scrapes `mlops serve`,
// `mlops monitor check` evaluates rules against it and alerts a webhook; drift-check
// reads the prediction log that serve wrote and alerts on drift.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE, mlops, tempDir } from '../support/cli.js';
import { PROMETHEUS_BIN, skipReason, startPrometheus, type PrometheusHandle } from '../support/prometheus.js';
import { startServeProcess, type ServeProcess } from '../support/serve-helpers.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const reason = skipReason([PROMETHEUS_BIN]);

async function rows(file: string): Promise<number[][]> {
  return (await readFile(join(EXAMPLE, file), 'utf8')).trim().split('\n').slice(1).map((line) => line.split(',').map(Number));
}

describe.skipIf(reason)(`monitoring a running server${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let registry: string;
  let serve: ServeProcess;
  let prometheus: PrometheusHandle;
  let hook: WebhookReceiver;
  const log = () => join(dir, 'predictions.jsonl');

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    registry = join(dir, 'registry');
    hook = await startWebhookReceiver();
    for (const args of [['register', 'fraud', join(EXAMPLE, 'fraud-v1.onnx'), '--reference-data', join(EXAMPLE, 'reference.csv')], ['promote', 'fraud', 'v1.0.0']]) {
      const result = await mlops(['--registry', registry, ...args]);
      if (result.exitCode !== 0) throw new Error(result.stderr);
    }
    await writeFile(
      join(registry, 'mlops.yaml'),
      `alerts:\n  channels:\n    hook:\n      type: webhook\n      url: ${hook.url}/alerts\n    dead:\n      type: webhook\n      url: http://127.0.0.1:9/gone\n      max_tries: 1\n`,
    );
    serve = await startServeProcess(registry, ['--workers', '1', '--log', log()]);
    // Traffic from the drifted sample: what production sends after the world changed.
    for (const features of (await rows('drifted.csv')).slice(0, 400)) {
      const response = await fetch(`${serve.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ features }) });
      expect(response.status).toBe(200);
    }
    prometheus = await startPrometheus({ targets: [new URL(serve.url).host] });
    await prometheus.waitFor('mlops_predictions_total', (result) => result.length > 0 && Number(result[0].value[1]) >= 400, 30_000);
  }, 120_000);

  afterAll(async () => {
    serve?.kill('SIGTERM');
    await serve?.exited;
    await prometheus?.stop();
    await hook?.stop();
    await cleanup?.();
  });

  it('monitor check evaluates rules against Prometheus scraping serve, and alerts on the ones that fire', async () => {
    const rules = join(dir, 'rules.yaml');
    await writeFile(
      rules,
      [
        'rules:',
        '  - name: FraudTraffic',
        '    metric: mlops_predictions_total',
        '    labels: { model: fraud }',
        "    op: '>='",
        '    threshold: 400',
        '    severity: warning',
        '    channels: [hook]',
        '  - name: FraudErrors',
        '    query: sum(mlops_errors_total{model="fraud"}) or vector(0)',
        "    op: '>'",
        '    threshold: 0',
        '  - name: NoSuchSeries',
        '    metric: mlops_does_not_exist',
        "    op: '>'",
        '    threshold: 1',
      ].join('\n'),
    );
    const result = await mlops(['--registry', registry, 'monitor', 'check', '--prometheus', prometheus.url, '--rules', rules, '--json']);
    expect(result.exitCode, result.stderr).toBe(1);
    const report = JSON.parse(result.stdout);
    const status = Object.fromEntries(report.rules.map((r: { name: string; status: string }) => [r.name, r.status]));
    expect(status).toEqual({ FraudTraffic: 'firing', FraudErrors: 'ok', NoSuchSeries: 'no_data' });
    expect(hook.requests.map((r) => r.json.alertname)).toContain('FraudTraffic');
    const table = await mlops(['--registry', registry, 'monitor', 'check', '--prometheus', prometheus.url, '--rules', rules, '--dry-run']);
    expect(table.stdout).toMatch(/FraudTraffic\s+firing/);
  });

  it('the built-in rules query the metrics serve really exposes', async () => {
    // rate() needs two scrapes in its window.
    await prometheus.waitFor('sum(rate(mlops_requests_total[5m]))', (result) => result.length > 0, 30_000);
    const result = await mlops(['--registry', registry, 'monitor', 'check', '--prometheus', prometheus.url, '--dry-run', '--json']);
    const report = JSON.parse(result.stdout);
    const status = Object.fromEntries(report.rules.map((r: { name: string; status: string }) => [r.name, r.status]));
    // No rule may fail to evaluate against real serve metrics; errors and latency are healthy here.
    expect(Object.values(status)).not.toContain('error');
    expect(status).toMatchObject({ MlopsHighErrorRate: 'ok', MlopsHighLatencyP99: 'ok' });
    // The drifted traffic sends values outside the reference range: the OOD rule sees them.
    expect(['ok', 'firing']).toContain(status.MlopsHighOodRate);
  });

  it('drift-check reads the prediction log serve wrote, exits 1 and alerts; a failing channel does not change the exit code', async () => {
    const before = hook.requests.length;
    const result = await mlops(['--registry', registry, 'drift-check', 'fraud', '--current', log(), '--alert', 'hook,dead', '--json']);
    expect(result.exitCode, result.stderr).toBe(1);
    const report = JSON.parse(result.stdout);
    expect(report.current).toMatchObject({ format: 'prediction-log', rows: 400 });
    expect(report.summary.driftedFeatures).toContain('velocity');
    expect(result.stderr).toMatch(/alert to dead failed/);
    const alerts = hook.requests.slice(before).map((r) => r.json);
    expect(alerts).toEqual([expect.objectContaining({ alertname: 'MlopsDataDrift', model: 'fraud' })]);
    expect(alerts[0].text).toMatch(/velocity/);
  });
});
