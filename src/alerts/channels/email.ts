// Email channel: SMTP through nodemailer, STARTTLS required by default, the password read
// from the environment variable the config names and scrubbed from anything reported.
import { readFile } from 'node:fs/promises';
import nodemailer from 'nodemailer';
import { messageOf } from '../../errors.js';
import { alertBody, alertTitle } from '../format.js';
import type { Alert, EmailChannel } from '../types.js';
import { ChannelSetupError, readSecretEnv, type ChannelContext, type ChannelOutcome } from './context.js';

/** Connection-level failures worth another try; a 5xx reply or a TLS refusal will not change. */
const TRANSIENT_CODES = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ECONNRESET', 'ECONNREFUSED']);

interface SmtpError extends Error {
  code?: string;
  responseCode?: number;
  command?: string;
}

/**
 * What a failure may print. A server's answer to AUTH can echo the credentials in any
 * encoding (a latin1-decoded password, its base64), so only the reply code is kept.
 */
export function smtpFailureText(error: SmtpError): string {
  if (error.code === 'EAUTH' || /^AUTH\b/i.test(error.command ?? '')) {
    const code = error.responseCode !== undefined ? ` (SMTP ${error.responseCode})` : '';
    return `authentication failed${code}: the server refused the username or password (its reply is not shown, it may echo the credentials)`;
  }
  return messageOf(error).replace(/\s+/g, ' ').trim();
}

function isTransient(error: SmtpError): boolean {
  if (error.responseCode !== undefined) return error.responseCode >= 400 && error.responseCode < 500;
  // nodemailer reports a rejected certificate as ESOCKET too; trying again will not change it.
  if (/certificate|self[- ]signed/i.test(error.message)) return false;
  return error.code !== undefined && TRANSIENT_CODES.has(error.code);
}

export function emailSubject(channel: EmailChannel, alert: Alert): string {
  return `${channel.subjectPrefix ? `${channel.subjectPrefix} ` : ''}${alertTitle(alert)}`.replace(/[\r\n]+/g, ' ');
}

export async function sendEmail(channel: EmailChannel, alert: Alert, context: ChannelContext): Promise<ChannelOutcome> {
  let auth: { user: string; pass: string } | undefined;
  if (channel.username && channel.passwordEnv) {
    const pass = readSecretEnv(context.env, channel.passwordEnv, 'password_env');
    context.scrubber.add(pass, channel.username);
    auth = { user: channel.username, pass };
  }
  let ca: string | undefined;
  if (channel.tlsCaFile) {
    try {
      ca = await readFile(channel.tlsCaFile, 'utf8');
    } catch (error) {
      throw new ChannelSetupError(`cannot read tls_ca_file ${channel.tlsCaFile}: ${messageOf(error)}`);
    }
  }
  const timeoutMs = context.timeoutMs ?? channel.timeoutMs;
  const server = `smtp ${channel.host}:${channel.port}`;
  const message = {
    from: channel.from,
    to: channel.to,
    cc: channel.cc.length ? channel.cc : undefined,
    subject: emailSubject(channel, alert),
    text: alertBody(alert, context.now.toISOString()),
    headers: { 'X-Mlops-Alert': alert.name, 'X-Mlops-Severity': alert.severity },
  };
  let last = '';
  for (let attempt = 1; attempt <= channel.maxTries; attempt++) {
    context.emit({ type: 'alert.attempt', channel: channel.name, channelType: 'email', attempt, target: server });
    const transport = nodemailer.createTransport({
      host: channel.host,
      port: channel.port,
      secure: channel.secure,
      requireTLS: channel.requireTls,
      auth,
      tls: ca ? { ca } : undefined,
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: timeoutMs,
      // Alerts never attach files or fetch URLs; refuse both outright.
      disableFileAccess: true,
      disableUrlAccess: true,
      logger: false,
      debug: false,
    });
    try {
      const info = await transport.sendMail(message);
      const accepted = info.accepted.length;
      return { ok: true, tries: attempt, message: `${server} accepted the mail for ${accepted} recipient${accepted === 1 ? '' : 's'} (${attempt === 1 ? '1 try' : `${attempt} tries`})` };
    } catch (error) {
      const smtpError = error as SmtpError;
      last = smtpFailureText(smtpError);
      if (!isTransient(smtpError)) {
        return { ok: false, tries: attempt, message: `${server} failed: ${last} (not retried)` };
      }
    } finally {
      transport.close();
    }
    if (attempt < channel.maxTries) {
      const delayMs = context.retryBaseMs * 2 ** (attempt - 1);
      context.emit({ type: 'alert.retry', channel: channel.name, channelType: 'email', attempt, delayMs, reason: last });
      await context.sleep(delayMs);
    }
  }
  return { ok: false, tries: channel.maxTries, message: `${server} failed after ${channel.maxTries === 1 ? '1 try' : `${channel.maxTries} tries`}: ${last}` };
}
