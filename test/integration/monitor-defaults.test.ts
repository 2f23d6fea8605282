// The default rules against a real Prometheus scraping serve-shaped metrics (the metrics
// contract) that grow every scrape: an unhealthy model trips every rule, a healthy one
// none, and Prometheus loading the generated rules file agrees.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRules, type CheckResult } from '../../src/monitor/check.ts';
import { renderPrometheusRules } from '../../src/monitor/rules-file.ts';
import { defaultRules } from '../../src/monitor/rules.ts';
import { PROMETHEUS_BIN, skipReason, startMetricsEndpoint, startPrometheus, type PrometheusHandle } from '../support/prometheus.ts';

/** Counters after the n-th scrape: model "bad" is slow, often out of range and often wrong. */
function serveMetrics(n: number): string {
  const m = (model: string, version: string) => `model="${model}",version="${version}",variant="default"`;
  const good = m('good', '1');
  const bad = m('bad', '2');
  const clean = m('clean', '1');
  return `# TYPE mlops_requests_total counter
mlops_requests_total{route="/predict",method="POST",status="200"} ${10 * n}
mlops_requests_total{route="/predict",method="POST",status="500"} ${5 * n}
# TYPE mlops_predictions_total counter
mlops_predictions_total{${good}} ${100 * n}
mlops_predictions_total{${bad}} ${100 * n}
mlops_predictions_total{${clean}} ${100 * n}
# TYPE mlops_ood_inputs_total counter
mlops_ood_inputs_total{${good},feature="x"} ${1 * n}
mlops_ood_inputs_total{${bad},feature="x"} ${30 * n}
mlops_ood_inputs_total{${bad},feature="y"} ${20 * n}
# TYPE mlops_prediction_latency_seconds histogram
mlops_prediction_latency_seconds_bucket{${good},le="0.01"} ${100 * n}
mlops_prediction_latency_seconds_bucket{${good},le="0.1"} ${100 * n}
mlops_prediction_latency_seconds_bucket{${good},le="1"} ${100 * n}
mlops_prediction_latency_seconds_bucket{${good},le="+Inf"} ${100 * n}
mlops_prediction_latency_seconds_sum{${good}} ${0.5 * n}
mlops_prediction_latency_seconds_count{${good}} ${100 * n}
mlops_prediction_latency_seconds_bucket{${bad},le="0.01"} 0
mlops_prediction_latency_seconds_bucket{${bad},le="0.1"} 0
mlops_prediction_latency_seconds_bucket{${bad},le="1"} ${100 * n}
mlops_prediction_latency_seconds_bucket{${bad},le="+Inf"} ${100 * n}
mlops_prediction_latency_seconds_sum{${bad}} ${80 * n}
mlops_prediction_latency_seconds_count{${bad}} ${100 * n}
# TYPE mlops_feedback_total counter
mlops_feedback_total{${good}} ${10 * n}
mlops_feedback_total{${bad}} ${10 * n}
# TYPE mlops_feedback_correct_total counter
mlops_feedback_correct_total{${good}} ${10 * n}
mlops_feedback_correct_total{${bad}} ${5 * n}
`;
}

const skip = skipReason([PROMETHEUS_BIN]);

describe.skipIf(skip)(`default rules against serve metrics ${skip ?? ''}`, () => {
  let endpoint: Awaited<ReturnType<typeof startMetricsEndpoint>>;
  let prometheus: PrometheusHandle;
  let result: CheckResult;

  beforeAll(async () => {
    endpoint = await startMetricsEndpoint(serveMetrics);
    prometheus = await startPrometheus({ targets: [endpoint.target], ruleFiles: [renderPrometheusRules(defaultRules())] });
    // rate() needs two samples of every counter in its window.
    await prometheus.waitFor('sum(rate(mlops_feedback_total[5m]))', (series) => Number(series[0]?.value[1]) > 0);
    result = await checkRules({ prometheusUrl: prometheus.url, rules: defaultRules(), channels: [], env: {} });
  });
  afterAll(async () => {
    await prometheus?.stop();
    await endpoint?.stop();
  });

  const rule = (name: string) => result.rules.find((item) => item.name === name)!;
  const crossedModels = (name: string) => rule(name).values.filter((value) => value.crossed).map((value) => value.labels.model).sort();
  const models = (name: string) => rule(name).values.map((value) => value.labels.model).sort();

  it('fires every default rule, only for the unhealthy model', () => {
    expect(result.rules.map((item) => [item.name, item.status])).toEqual([
      ['MlopsHighErrorRate', 'firing'],
      ['MlopsHighLatencyP99', 'firing'],
      ['MlopsHighOodRate', 'firing'],
      ['MlopsAccuracyDrop', 'firing'],
    ]);
    expect(rule('MlopsHighErrorRate').values[0]!.value).toBeCloseTo(1 / 3, 2);
    expect(crossedModels('MlopsHighLatencyP99')).toEqual(['bad']);
    expect(models('MlopsHighLatencyP99')).toEqual(['bad', 'good']);
    expect(crossedModels('MlopsHighOodRate')).toEqual(['bad']);
    // A model with predictions and no out-of-range inputs reads 0, not "no data".
    expect(models('MlopsHighOodRate')).toEqual(['bad', 'clean', 'good']);
    expect(rule('MlopsHighOodRate').values.find((value) => value.labels.model === 'clean')!.value).toBe(0);
    expect(crossedModels('MlopsAccuracyDrop')).toEqual(['bad']);
    expect(rule('MlopsAccuracyDrop').values.find((value) => value.labels.model === 'bad')!.value).toBeCloseTo(0.5, 2);
  });

  it('matches what Prometheus makes of the generated rules file (pending: their for: has not elapsed)', async () => {
    const deadline = Date.now() + 15_000;
    let names: string[] = [];
    while (Date.now() < deadline) {
      const response = await fetch(`${prometheus.url}/api/v1/alerts`);
      const body = (await response.json()) as { data: { alerts: { labels: { alertname: string }; state: string }[] } };
      names = [...new Set(body.data.alerts.filter((alert) => alert.state === 'pending').map((alert) => alert.labels.alertname))].sort();
      if (names.length >= 4) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(names).toEqual(defaultRules().map((item) => item.name).sort());
  });
});
