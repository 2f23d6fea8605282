// Webhook channel against a real HTTP receiver on loopback: body, headers from env,
// retries on 5xx and network errors, no retry on 4xx, per-attempt timeout, secret URLs.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadAlertChannels } from '../../src/alerts/config.ts';
import { sendAlert, sendTestAlert } from '../../src/alerts/send.ts';
import type { Alert, AlertEvent } from '../../src/alerts/types.ts';
import { freePort } from '../support/prometheus.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';

const alert: Alert = { name: 'HighErrorRate', severity: 'critical', summary: 'error rate 7%', model: 'iris', version: '3', details: { rate: 0.07 } };
const TOKEN = 'Bearer tok-9f8e7d6c5b';

let receiver: WebhookReceiver;
beforeAll(async () => {
  receiver = await startWebhookReceiver();
});
afterAll(async () => {
  await receiver.stop();
});
afterEach(() => {
  receiver.requests.length = 0;
  receiver.configure({});
});

function channel(settings: Record<string, unknown>) {
  return loadAlertChannels({ alerts: { channels: { ops: { type: 'webhook', url: receiver.url, ...settings } } } });
}

const fast = { retryBaseMs: 10 };

describe('webhook channel', () => {
  it('POSTs the Slack text and structured fields with static and env headers', async () => {
    const events: AlertEvent[] = [];
    const [result] = await sendAlert(channel({ headers: { 'X-Team': 'ml' }, headers_env: { Authorization: 'MLOPS_HOOK_TOKEN' } }), alert, {
      env: { MLOPS_HOOK_TOKEN: TOKEN },
      onEvent: (event) => events.push(event),
      ...fast,
    });
    expect(result).toMatchObject({ channel: 'ops', type: 'webhook', ok: true, tries: 1, status: 200 });
    expect(receiver.requests).toHaveLength(1);
    const [request] = receiver.requests;
    expect(request!.method).toBe('POST');
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.headers['x-team']).toBe('ml');
    expect(request!.headers.authorization).toBe(TOKEN);
    expect(request!.json).toMatchObject({ text: '[CRITICAL] HighErrorRate: error rate 7% (iris v3)', alertname: 'HighErrorRate', severity: 'critical', model: 'iris', version: '3', details: { rate: 0.07 } });
    expect(JSON.stringify(events) + result!.message).not.toContain('tok-9f8e7d6c5b');
  });

  it('retries 5xx with backoff and succeeds on the third try', async () => {
    receiver.configure({ failTimes: 2, failStatus: 503 });
    const events: AlertEvent[] = [];
    const [result] = await sendAlert(channel({}), alert, { env: {}, onEvent: (event) => events.push(event), ...fast });
    expect(result).toMatchObject({ ok: true, tries: 3, status: 200 });
    expect(receiver.requests).toHaveLength(3);
    expect(events.filter((event) => event.type === 'alert.retry').map((event) => (event as { delayMs: number }).delayMs)).toEqual([10, 20]);
  });

  it('gives up after max_tries with the exact failure', async () => {
    receiver.configure({ failTimes: 100 });
    const [result] = await sendAlert(channel({}), alert, { env: {}, ...fast });
    expect(result!.ok).toBe(false);
    expect(result!.tries).toBe(3);
    expect(result!.message).toBe(`webhook ops: POST ${receiver.url} answered 500 Internal Server Error after 3 tries; response body: {"ok":false}`);
    expect(receiver.requests).toHaveLength(3);
  });

  it('does not retry a 4xx', async () => {
    receiver.configure({ status: 400 });
    const [result] = await sendAlert(channel({ max_tries: 5 }), alert, { env: {}, ...fast });
    expect(result).toMatchObject({ ok: false, tries: 1, status: 400 });
    expect(result!.message).toContain('answered 400 Bad Request (client error, not retried)');
    expect(receiver.requests).toHaveLength(1);
  });

  it('times out a slow receiver on each attempt', async () => {
    receiver.configure({ delayMs: 2_000 });
    const [result] = await sendAlert(channel({ timeout: '200ms', max_tries: 2 }), alert, { env: {}, ...fast });
    expect(result).toMatchObject({ ok: false, tries: 2 });
    expect(result!.message).toBe(`webhook ops: POST ${receiver.url} timed out (200 ms per try) after 2 tries`);
    expect(receiver.requests).toHaveLength(2);
  });

  it('retries a refused connection and reports the network error', async () => {
    const url = `http://127.0.0.1:${await freePort()}/hook`;
    const channels = loadAlertChannels({ alerts: { channels: { down: { type: 'webhook', url, max_tries: 2 } } } });
    const [result] = await sendAlert(channels, alert, { env: {}, ...fast });
    expect(result).toMatchObject({ ok: false, tries: 2 });
    expect(result!.message).toMatch(/^webhook down: POST http:\/\/127\.0\.0\.1:\d+\/hook failed: .*ECONNREFUSED.* after 2 tries$/);
  });

  it('keeps a secret URL from url_env out of results and events', async () => {
    const channels = loadAlertChannels({ alerts: { channels: { slack: { type: 'webhook', url_env: 'MLOPS_SLACK_URL' } } } });
    receiver.configure({ status: 404 });
    const events: AlertEvent[] = [];
    const [result] = await sendAlert(channels, alert, { env: { MLOPS_SLACK_URL: receiver.url }, onEvent: (event) => events.push(event), ...fast });
    expect(result!.ok).toBe(false);
    expect(receiver.requests).toHaveLength(1);
    const origin = new URL(receiver.url).origin;
    expect(result!.message).toBe(`webhook slack: POST ${origin}/*** answered 404 Not Found (client error, not retried); response body: {"ok":false}`);
    expect(JSON.stringify(events)).not.toContain(receiver.url);
  });

  it('sends a recognisable test alert', async () => {
    const [ops] = channel({});
    const result = await sendTestAlert(ops!, { env: {}, ...fast });
    expect(result.ok).toBe(true);
    expect(receiver.requests[0]!.json).toMatchObject({ alertname: 'MlopsTestAlert', severity: 'info', labels: { test: 'true' } });
  });
});
