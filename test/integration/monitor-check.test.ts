// `monitor check` against a real Prometheus scraping a metrics endpoint this test controls:
// rules that fire, rules that do not, a bad query, a metric with no data, alerts to a real
// webhook receiver, and Prometheus itself evaluating the generated rules file the same way.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAlertChannels } from '../../src/alerts/config.ts';
import { ToolFailedError, UsageError } from '../../src/errors.ts';
import { checkRules, type CheckResult, type MonitorEvent } from '../../src/monitor/check.ts';
import { renderPrometheusRules } from '../../src/monitor/rules-file.ts';
import { parseRules } from '../../src/monitor/rules.ts';
import { freePort, PROMETHEUS_BIN, skipReason, startMetricsEndpoint, startPrometheus, type PrometheusHandle } from '../support/prometheus.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';

const METRICS = `# TYPE mlops_requests_total counter
mlops_requests_total{route="/predict",method="POST",status="200"} 950
mlops_requests_total{route="/predict",method="POST",status="500"} 50
# TYPE mlops_errors_total counter
mlops_errors_total{model="iris",version="3",variant="default",type="inference"} 50
# TYPE mlops_accuracy gauge
mlops_accuracy{model="iris",version="2",variant="default"} 0.95
mlops_accuracy{model="iris",version="3",variant="default"} 0.62
# TYPE mlops_models_loaded gauge
mlops_models_loaded{model="iris",version="3"} 1
`;

const rules = parseRules(
  {
    rules: [
      { name: 'TooManyErrors', query: 'sum(mlops_errors_total)', op: '>', threshold: 10, severity: 'critical', channels: ['ops'], description: 'inference errors' },
      { name: 'ErrorShare', query: 'sum(mlops_requests_total{status=~"5.."}) / sum(mlops_requests_total)', op: '>', threshold: 0.01 },
      { name: 'LowAccuracy', metric: 'mlops_accuracy', labels: { model: 'iris' }, op: '<', threshold: 0.8, severity: 'critical', channels: ['ops'], summary: 'accuracy below 80%' },
      { name: 'ModelLoaded', metric: 'mlops_models_loaded', op: '<', threshold: 1, channels: ['ops'] },
      { name: 'ScalarOk', query: 'scalar(sum(mlops_models_loaded))', op: '!=', threshold: 1 },
      { name: 'NoShadowData', metric: 'mlops_shadow_errors_total', op: '>', threshold: 0, channels: ['ops'] },
      { name: 'BadQuery', query: 'sum(rate(mlops_requests_total[5m])', op: '>', threshold: 0, channels: ['ops'] },
      { name: 'RangeVector', query: 'mlops_requests_total[1m]', op: '>', threshold: 0 },
    ],
  },
  'rules.yaml',
);
// Prometheus refuses a rules file with a broken expression or a scalar one (alerting rules
// compare vectors), so those stay out of it; `monitor check` handles scalars itself.
const loadableRules = rules.filter((rule) => !['BadQuery', 'RangeVector', 'ScalarOk'].includes(rule.name));

const skip = skipReason([PROMETHEUS_BIN]);

describe.skipIf(skip)(`monitor check against Prometheus ${skip ?? ''}`, () => {
  let endpoint: Awaited<ReturnType<typeof startMetricsEndpoint>>;
  let prometheus: PrometheusHandle;
  let receiver: WebhookReceiver;
  let result: CheckResult;
  const events: MonitorEvent[] = [];

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    endpoint = await startMetricsEndpoint(METRICS);
    prometheus = await startPrometheus({ targets: [endpoint.target], ruleFiles: [renderPrometheusRules(loadableRules, { source: 'rules.yaml' })] });
    await prometheus.waitFor('mlops_accuracy', (series) => series.length === 2);
    await prometheus.waitFor('mlops_models_loaded', (series) => series.length === 1);
    const channels = loadAlertChannels({ alerts: { channels: { ops: { type: 'webhook', url: receiver.url }, unused: { type: 'webhook', url: receiver.url } } } });
    result = await checkRules({ prometheusUrl: prometheus.url, rules, channels, defaultChannels: ['ops'], env: {}, onEvent: (event) => events.push(event), retryBaseMs: 10 });
  });
  afterAll(async () => {
    await prometheus?.stop();
    await endpoint?.stop();
    await receiver?.stop();
  });

  const status = (name: string) => result.rules.find((rule) => rule.name === name)!;

  it('gives each rule its status', () => {
    expect(Object.fromEntries(result.rules.map((rule) => [rule.name, rule.status]))).toEqual({
      TooManyErrors: 'firing',
      ErrorShare: 'firing',
      LowAccuracy: 'firing',
      ModelLoaded: 'ok',
      ScalarOk: 'ok',
      NoShadowData: 'no_data',
      BadQuery: 'error',
      RangeVector: 'error',
    });
    expect(result).toMatchObject({ fired: 3, errors: 2, noData: 1, alertFailures: 0, prometheus: prometheus.url });
    expect(result.prometheusVersion).toMatch(/^2\./);
  });

  it('evaluates each series of a vector on its own', () => {
    const accuracy = status('LowAccuracy');
    expect(accuracy.query).toBe('mlops_accuracy{model="iris"}');
    const byVersion = Object.fromEntries(accuracy.values.map((value) => [value.labels.version, [value.value, value.crossed]]));
    expect(byVersion).toEqual({ '2': [0.95, false], '3': [0.62, true] });
    expect(accuracy.message).toBe(`1 of 2 series < 0.8: 0.62 {instance="${endpoint.target}",job="mlops",model="iris",variant="default",version="3"}`);
    expect(status('ErrorShare').values[0]!.value).toBeCloseTo(0.05, 10);
  });

  it('explains errors and missing data', () => {
    expect(status('BadQuery').message).toMatch(/^Prometheus rejected the query \(bad_data\): .*parse error/);
    expect(status('RangeVector').message).toContain('returns a matrix result');
    expect(status('NoShadowData').message).toContain('no series');
  });

  it('alerts through the rule channels, or the default ones, only for firing rules', () => {
    const names = receiver.requests.map((request) => request.json.alertname).sort();
    expect(names).toEqual(['ErrorShare', 'LowAccuracy', 'TooManyErrors']);
    const accuracy = receiver.requests.find((request) => request.json.alertname === 'LowAccuracy')!.json;
    expect(accuracy).toMatchObject({ severity: 'critical', model: 'iris', version: '3', summary: 'accuracy below 80% (value 0.62)' });
    expect(accuracy.generatorURL).toBe(`${prometheus.url}/graph?g0.expr=${encodeURIComponent('mlops_accuracy{model="iris"}')}&g0.tab=1`);
    expect(status('TooManyErrors').alerts).toEqual([{ channel: 'ops', type: 'webhook', ok: true, tries: 1, status: 200, message: expect.stringContaining('answered 200') }]);
    expect(status('ModelLoaded').alerts).toBeUndefined();
    expect(events.filter((event) => event.type === 'monitor.rule')).toHaveLength(rules.length);
  });

  it('agrees with Prometheus evaluating the generated rules file', async () => {
    const firing = async () => {
      const response = await fetch(`${prometheus.url}/api/v1/alerts`);
      const body = (await response.json()) as { data: { alerts: { labels: { alertname: string }; state: string }[] } };
      return [...new Set(body.data.alerts.filter((alert) => alert.state === 'firing').map((alert) => alert.labels.alertname))].sort();
    };
    const deadline = Date.now() + 15_000;
    let names: string[] = [];
    while (Date.now() < deadline) {
      names = await firing();
      if (names.length >= 3) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const checked = result.rules.filter((rule) => rule.status === 'firing').map((rule) => rule.name).sort();
    expect(names).toEqual(checked);
  });

  it('sees a recovered metric as ok on the next check', async () => {
    endpoint.set(METRICS.replace('version="3",variant="default"} 0.62', 'version="3",variant="default"} 0.91'));
    await prometheus.waitFor('mlops_accuracy{version="3"}', (series) => Number(series[0]?.value[1]) === 0.91);
    const again = await checkRules({ prometheusUrl: prometheus.url, rules: rules.filter((rule) => rule.name === 'LowAccuracy').map((rule) => ({ ...rule, channels: [] })), channels: [], env: {} });
    expect(again.rules[0]).toMatchObject({ status: 'ok', message: '2 series, none < 0.8' });
    expect(again.fired).toBe(0);
  });

  it('fails with ToolFailedError when the URL is not Prometheus', async () => {
    const error = await checkRules({ prometheusUrl: receiver.url.replace('/hook', ''), rules: loadableRules.map((rule) => ({ ...rule, channels: [] })), channels: [], env: {} }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ToolFailedError);
    expect((error as ToolFailedError).message).toContain('does not answer like Prometheus');
  });
});

describe('monitor check preflight', () => {
  const rules = parseRules({ rules: [{ name: 'R', query: 'up', op: '<', threshold: 1, channels: ['nope'] }] });

  it('fails with ToolFailedError (exit 4) and a hint when Prometheus is unreachable', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const error = await checkRules({ prometheusUrl: url, rules: parseRules({ rules: [{ name: 'R', query: 'up', op: '<', threshold: 1 }] }), channels: [], env: {} }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ToolFailedError);
    expect((error as ToolFailedError).exitCode).toBe(4);
    expect((error as ToolFailedError).message).toMatch(new RegExp(`^cannot reach Prometheus at ${url.replace(/\./g, '\\.')}: .*ECONNREFUSED`));
    expect((error as ToolFailedError).hint).toContain(`${url}/-/ready`);
  });

  it('rejects a rule naming an undefined channel before asking Prometheus', async () => {
    const error = await checkRules({ prometheusUrl: 'http://127.0.0.1:9', rules, channels: [], env: {} }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toBe("rule R: alert channel 'nope' is not defined in mlops.yaml");
  });

  it('rejects a URL that is not http(s)', async () => {
    const error = await checkRules({ prometheusUrl: 'localhost:9090', rules: [], channels: [], env: {} }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UsageError);
  });
});
