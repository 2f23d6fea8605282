// Email channel against a real SMTP server (smtp-server) on loopback with AUTH and
// STARTTLS (self-signed certificate made by openssl at test time, trusted via tls_ca_file).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAlertChannels } from '../../src/alerts/config.ts';
import { sendAlert } from '../../src/alerts/send.ts';
import type { Alert, AlertEvent } from '../../src/alerts/types.ts';
import { binaryExists, integrationRequired } from '../support/prometheus.ts';
import { mailHeaders, startSmtpReceiver, type SmtpReceiver } from '../support/smtp-receiver.ts';

const USER = 'mlops-bot';
const PASSWORD = 'pw-Zq81-horse-battery';
const alert: Alert = { name: 'MlopsDataDrift', severity: 'warning', summary: 'data drift in iris v3: 2 of 4 features drifted', model: 'iris', version: '3', details: { nDrifted: 2 } };
const fast = { retryBaseMs: 10 };
const hasOpenssl = binaryExists('/usr/bin/openssl');

function secretForms(): string[] {
  return [PASSWORD, Buffer.from(PASSWORD).toString('base64'), Buffer.from(`\u0000${USER}\u0000${PASSWORD}`).toString('base64')];
}

describe.skipIf(!hasOpenssl && !integrationRequired)('email channel over STARTTLS', () => {
  let smtp: SmtpReceiver;
  beforeAll(async () => {
    smtp = await startSmtpReceiver({ user: USER, password: PASSWORD, starttls: true });
  });
  afterAll(async () => {
    await smtp?.stop();
  });

  function channels(extra: Record<string, unknown> = {}) {
    return loadAlertChannels({
      alerts: {
        channels: {
          oncall: {
            type: 'email',
            host: smtp.host,
            port: smtp.port,
            username: USER,
            password_env: 'MLOPS_SMTP_PASSWORD',
            from: 'mlops@example.com',
            to: ['oncall@example.com', 'ml@example.com'],
            tls_ca_file: smtp.certificatePath,
            timeout: '5s',
            ...extra,
          },
        },
      },
    });
  }

  it('delivers the alert after STARTTLS and AUTH, with the password nowhere', async () => {
    const events: AlertEvent[] = [];
    const [result] = await sendAlert(channels(), alert, { env: { MLOPS_SMTP_PASSWORD: PASSWORD }, onEvent: (event) => events.push(event), ...fast });
    expect(result).toMatchObject({ channel: 'oncall', type: 'email', ok: true, tries: 1 });
    expect(result!.message).toBe(`email oncall: smtp ${smtp.host}:${smtp.port} accepted the mail for 2 recipients (1 try)`);
    const [mail] = await smtp.waitForMessages(1);
    expect(mail!.secure).toBe(true);
    expect(mail!.user).toBe(USER);
    expect(mail!.from).toBe('mlops@example.com');
    expect(mail!.to).toEqual(['oncall@example.com', 'ml@example.com']);
    expect(mail!.subject).toBe('[mlops] [WARNING] MlopsDataDrift: data drift in iris v3: 2 of 4 features drifted');
    expect(mailHeaders(mail!.raw)['x-mlops-alert']).toBe('MlopsDataDrift');
    expect(mail!.raw).toContain('"nDrifted": 2');
    const everything = mail!.raw + JSON.stringify(events) + JSON.stringify(result);
    for (const form of secretForms()) expect(everything).not.toContain(form);
  });

  it('reports a wrong password as a failed result without retrying and without the password', async () => {
    const wrong = 'wrong-pw-Kd93-staple';
    const events: AlertEvent[] = [];
    const before = smtp.messages.length;
    const [result] = await sendAlert(channels(), alert, { env: { MLOPS_SMTP_PASSWORD: wrong }, onEvent: (event) => events.push(event), ...fast });
    expect(result).toMatchObject({ ok: false, tries: 1 });
    expect(result!.message).toMatch(/^email oncall: smtp 127\.0\.0\.1:\d+ failed: authentication failed \(SMTP 535\): .*\(not retried\)$/);
    expect(smtp.authAttempts.at(-1)).toEqual({ user: USER, ok: false });
    expect(smtp.messages.length).toBe(before);
    const everything = JSON.stringify(events) + JSON.stringify(result);
    for (const secret of [wrong, Buffer.from(wrong).toString('base64'), Buffer.from(`\u0000${USER}\u0000${wrong}`).toString('base64')]) {
      expect(everything).not.toContain(secret);
    }
  });

  it('fails without the CA: the self-signed certificate is not trusted', async () => {
    const [result] = await sendAlert(channels({ tls_ca_file: null }), alert, { env: { MLOPS_SMTP_PASSWORD: PASSWORD }, ...fast });
    expect(result).toMatchObject({ ok: false, tries: 1 });
    expect(result!.message).toMatch(/self[- ]signed certificate/i);
    expect(result!.message).not.toContain(PASSWORD);
  });

  it('reports an unset password variable without connecting', async () => {
    const attempts = smtp.authAttempts.length;
    const [result] = await sendAlert(channels(), alert, { env: {}, ...fast });
    expect(result).toEqual({ channel: 'oncall', type: 'email', ok: false, tries: 0, message: 'email oncall: environment variable MLOPS_SMTP_PASSWORD (password_env) is not set' });
    expect(smtp.authAttempts.length).toBe(attempts);
  });
});

describe('email channel without STARTTLS', () => {
  let smtp: SmtpReceiver;
  beforeAll(async () => {
    smtp = await startSmtpReceiver({ user: USER, password: PASSWORD, starttls: false });
  });
  afterAll(async () => {
    await smtp?.stop();
  });

  const channels = (requireTls: boolean) =>
    loadAlertChannels({
      alerts: {
        channels: {
          relay: { type: 'email', host: smtp.host, port: smtp.port, username: USER, password_env: 'PW', from: 'a@example.com', to: 'b@example.com', require_tls: requireTls, max_tries: 1 },
        },
      },
    });

  it('refuses to send the password in clear by default', async () => {
    const [result] = await sendAlert(channels(true), alert, { env: { PW: PASSWORD }, ...fast });
    expect(result!.ok).toBe(false);
    expect(result!.message).toMatch(/STARTTLS/i);
    expect(smtp.authAttempts).toHaveLength(0);
    expect(smtp.messages).toHaveLength(0);
  });

  it('sends over plain SMTP when require_tls is false', async () => {
    const [result] = await sendAlert(channels(false), alert, { env: { PW: PASSWORD }, ...fast });
    expect(result!.ok).toBe(true);
    const [mail] = await smtp.waitForMessages(1);
    expect(mail!.secure).toBe(false);
    expect(mail!.raw).not.toContain(PASSWORD);
  });
});
