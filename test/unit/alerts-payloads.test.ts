// What each channel puts on the wire, the drift alert, and secret scrubbing.
import { describe, expect, it } from 'vitest';
import { loadAlertChannels } from '../../src/alerts/config.ts';
import { alertmanagerPayload, alertsEndpoint } from '../../src/alerts/channels/alertmanager.ts';
import { emailSubject } from '../../src/alerts/channels/email.ts';
import { webhookPayload } from '../../src/alerts/channels/webhook.ts';
import { driftAlert } from '../../src/alerts/drift.ts';
import { Scrubber, displayUrl } from '../../src/alerts/secrets.ts';
import { sendAlert } from '../../src/alerts/send.ts';
import type { Alert, AlertEvent, AlertmanagerChannel, EmailChannel } from '../../src/alerts/types.ts';

const alert: Alert = {
  name: 'HighErrorRate',
  severity: 'critical',
  summary: 'error rate 7%',
  description: 'too many 5xx',
  model: 'iris',
  version: '3',
  labels: { env: 'prod', 'odd-label': 'x' },
  details: { rate: 0.07 },
};

describe('webhookPayload', () => {
  it('carries a Slack text line and the structured fields', () => {
    const body = webhookPayload(alert, '2024-01-01T00:00:00.000Z');
    expect(body.text).toBe('[CRITICAL] HighErrorRate: error rate 7% (iris v3)');
    expect(body).toMatchObject({ alertname: 'HighErrorRate', severity: 'critical', model: 'iris', version: '3', details: { rate: 0.07 }, startsAt: '2024-01-01T00:00:00.000Z' });
  });
});

describe('alertmanagerPayload', () => {
  const [channel] = loadAlertChannels({ alerts: { channels: { am: { type: 'alertmanager', url: 'http://am:9093/', labels: { team: 'ml', severity: 'low' }, ends_after: '1h' } } } }) as AlertmanagerChannel[];

  it('sets alertname, severity, model, version and channel labels; the alert wins over channel labels', () => {
    const [item] = alertmanagerPayload(channel!, alert, new Date('2024-01-01T00:00:00Z'));
    expect(item!.labels).toEqual({ team: 'ml', env: 'prod', odd_label: 'x', model: 'iris', version: '3', severity: 'critical', alertname: 'HighErrorRate' });
    expect(item!.annotations).toEqual({ summary: 'error rate 7%', description: 'too many 5xx', details: '{"rate":0.07}' });
    expect(item!.startsAt).toBe('2024-01-01T00:00:00.000Z');
    expect(item!.endsAt).toBe('2024-01-01T01:00:00.000Z');
  });

  it('posts to /api/v2/alerts under the configured root', () => {
    expect(alertsEndpoint('http://am:9093/')).toBe('http://am:9093/api/v2/alerts');
    expect(alertsEndpoint('http://am:9093/api/v2/alerts')).toBe('http://am:9093/api/v2/alerts');
  });
});

describe('emailSubject', () => {
  it('prefixes the title and keeps it on one line', () => {
    const [channel] = loadAlertChannels({ alerts: { channels: { m: { type: 'email', host: 'h', from: 'a@b.c', to: 'x@y.z' } } } }) as EmailChannel[];
    expect(emailSubject(channel!, { ...alert, summary: 'line one\nline two' })).toBe('[mlops] [CRITICAL] HighErrorRate: line one line two (iris v3)');
  });
});

describe('driftAlert', () => {
  const features = [
    { name: 'a', test: 'ks', statistic: 0.2, pValue: 0.01 },
    { name: 'b', test: 'ks', statistic: 0.5, pValue: 0.000001 },
    { name: 'c', test: 'chi2', statistic: 30, pValue: 0.01 },
    { name: 'd', test: 'psi', statistic: 0.4 },
    { name: 'e', test: 'ks', statistic: 0.3, pValue: 0.02 },
    { name: 'f', test: 'ks', statistic: 0.3, pValue: 0.03 },
  ];

  it('names the most convincing drifted features first', () => {
    const result = driftAlert({ model: 'iris', version: 'v3.0.0', drifted: true, driftedFeatures: features, nFeatures: 10 });
    expect(result).toMatchObject({ name: 'MlopsDataDrift', severity: 'warning', model: 'iris', version: 'v3.0.0' });
    expect(result.summary).toBe('data drift in iris v3.0.0: 6 of 10 features drifted (b, c, a, e, f and 1 more)');
    expect(result.description!.split('\n')[1]).toBe('b: ks statistic 0.5, p-value 1.00e-6');
    expect(result.details).toMatchObject({ drifted: true, nFeatures: 10, nDrifted: 6 });
  });

  it('says so when nothing drifted', () => {
    const result = driftAlert({ drifted: false, driftedFeatures: [], nFeatures: 4 });
    expect(result).toMatchObject({ severity: 'info', summary: 'no data drift in the input data: 4 features checked' });
    expect(result.description).toBeUndefined();
  });
});

describe('Scrubber', () => {
  it('masks the secret and its SMTP AUTH encodings', () => {
    const scrubber = new Scrubber().add('s3cret-pass', 'bot');
    const plain = Buffer.from('\u0000bot\u0000s3cret-pass').toString('base64');
    const login = Buffer.from('s3cret-pass').toString('base64');
    expect(scrubber.scrub(`auth s3cret-pass ${plain} ${login}`)).toBe('auth *** *** ***');
  });

  it('shows a secret URL by origin only', () => {
    expect(displayUrl('https://hooks.slack.com/services/T/B/X', true)).toBe('https://hooks.slack.com/***');
    expect(displayUrl('https://a.example/x', false)).toBe('https://a.example/x');
    expect(displayUrl('https://user:pw@a.example/x?token=abc', false)).toBe('https://a.example/x?***');
  });
});

describe('sendAlert setup failures', () => {
  it('reports an unset environment variable as a failed result, without trying or throwing', async () => {
    const channels = loadAlertChannels({ alerts: { channels: { ops: { type: 'webhook', url: 'http://127.0.0.1:9/x', headers_env: { Authorization: 'MLOPS_TEST_UNSET_TOKEN' } } } } });
    const events: AlertEvent[] = [];
    const [result] = await sendAlert(channels, alert, { env: {}, onEvent: (event) => events.push(event) });
    expect(result).toEqual({
      channel: 'ops',
      type: 'webhook',
      ok: false,
      tries: 0,
      message: 'webhook ops: environment variable MLOPS_TEST_UNSET_TOKEN (headers_env.Authorization) is not set',
    });
    expect(events.map((event) => event.type)).toEqual(['alert.failed']);
  });
});
