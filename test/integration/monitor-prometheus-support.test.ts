// The Prometheus test harness itself: a real server scraping a target the test controls.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROMETHEUS_BIN, skipReason, startMetricsEndpoint, startPrometheus, type PrometheusHandle } from '../support/prometheus.js';

const skip = skipReason([PROMETHEUS_BIN]);

describe.skipIf(skip)(`startPrometheus ${skip ?? ''}`, () => {
  let endpoint: Awaited<ReturnType<typeof startMetricsEndpoint>>;
  let prometheus: PrometheusHandle;

  beforeAll(async () => {
    endpoint = await startMetricsEndpoint('# TYPE mlops_requests_total counter\nmlops_requests_total{route="/predict"} 7\n');
    prometheus = await startPrometheus({ targets: [endpoint.target] });
  });
  afterAll(async () => {
    await prometheus?.stop();
    await endpoint?.stop();
  });

  it('scrapes the target and answers instant queries', async () => {
    const result = await prometheus.waitFor('mlops_requests_total', (r) => r.length === 1);
    expect(result[0].metric.route).toBe('/predict');
    expect(Number(result[0].value[1])).toBe(7);
    expect(endpoint.scrapes()).toBeGreaterThan(0);
  });

  it('sees a changed value on the next scrape', async () => {
    endpoint.set('# TYPE mlops_requests_total counter\nmlops_requests_total{route="/predict"} 9\n');
    const result = await prometheus.waitFor('mlops_requests_total', (r) => Number(r[0]?.value[1]) === 9);
    expect(result).toHaveLength(1);
  });

  it('rejects a bad query with the API error', async () => {
    await expect(prometheus.query('sum(')).rejects.toThrow(/parse error/);
  });
});
