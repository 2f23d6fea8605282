// Alertmanager channel against a real Debian prometheus-alertmanager: the alert arrives
// with its labels, Alertmanager routes it to a receiver, and its silences apply.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAlertChannels } from '../../src/alerts/config.ts';
import { sendAlert } from '../../src/alerts/send.ts';
import type { Alert } from '../../src/alerts/types.ts';
import { ALERTMANAGER_BIN, startAlertmanager, type AlertmanagerHandle } from '../support/alertmanager.ts';
import { skipReason } from '../support/prometheus.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';

const skip = skipReason([ALERTMANAGER_BIN]);
const fast = { retryBaseMs: 10 };

describe.skipIf(skip)(`alertmanager channel ${skip ?? ''}`, () => {
  let alertmanager: AlertmanagerHandle;
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    alertmanager = await startAlertmanager({ webhookUrl: receiver.url, groupWait: '1s' });
  });
  afterAll(async () => {
    await alertmanager?.stop();
    await receiver?.stop();
  });

  const channels = () => loadAlertChannels({ alerts: { channels: { am: { type: 'alertmanager', url: alertmanager.url, labels: { team: 'ml' } } } } });

  it('posts the alert to /api/v2/alerts with labels and annotations, and Alertmanager routes it', async () => {
    const alert: Alert = {
      name: 'MlopsHighErrorRate',
      severity: 'critical',
      summary: 'error rate 7%',
      description: '5xx from /predict',
      model: 'iris',
      version: '3',
      labels: { env: 'test' },
      generatorURL: 'http://prometheus.example/graph?g0.expr=x',
    };
    const [result] = await sendAlert(channels(), alert, { env: {}, ...fast });
    expect(result).toMatchObject({ channel: 'am', type: 'alertmanager', ok: true, tries: 1, status: 200 });

    const alerts = await alertmanager.alerts();
    const stored = alerts.find((item) => item.labels.alertname === 'MlopsHighErrorRate');
    expect(stored).toBeDefined();
    expect(stored!.labels).toEqual({ alertname: 'MlopsHighErrorRate', severity: 'critical', model: 'iris', version: '3', team: 'ml', env: 'test' });
    expect(stored!.annotations).toEqual({ summary: 'error rate 7%', description: '5xx from /predict' });
    expect(stored!.generatorURL).toBe('http://prometheus.example/graph?g0.expr=x');
    expect(stored!.status.state).toBe('active');

    // Alertmanager's own routing delivers it to the configured receiver after group_wait.
    const [notification] = await receiver.waitForRequests(1, 15_000);
    expect(notification!.json.receiver).toBe('default');
    expect(notification!.json.alerts[0].labels).toMatchObject({ alertname: 'MlopsHighErrorRate', model: 'iris' });
  });

  it('lets Alertmanager silences apply', async () => {
    await alertmanager.silence({ alertname: 'MlopsDataDrift' });
    const [result] = await sendAlert(channels(), { name: 'MlopsDataDrift', severity: 'warning', summary: 'drift', model: 'iris' }, { env: {}, ...fast });
    expect(result!.ok).toBe(true);
    const stored = (await alertmanager.alerts()).find((item) => item.labels.alertname === 'MlopsDataDrift');
    expect(stored!.status.state).toBe('suppressed');
    expect(stored!.status.silencedBy).toHaveLength(1);
  });

  it('reports Alertmanager rejecting an alert (400) without retrying', async () => {
    const now = Date.now();
    const [result] = await sendAlert(
      channels(),
      { name: 'Backwards', severity: 'info', summary: 'ends before it starts', startsAt: new Date(now).toISOString(), endsAt: new Date(now - 3_600_000).toISOString() },
      { env: {}, ...fast },
    );
    expect(result).toMatchObject({ ok: false, tries: 1, status: 400 });
    expect(result!.message).toContain(`alertmanager am: POST ${alertmanager.url}/api/v2/alerts answered 400 Bad Request (client error, not retried)`);
  });
});
