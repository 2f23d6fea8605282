// A real SMTP server on loopback (smtp-server) with AUTH and, optionally, STARTTLS using a
// self-signed certificate made with openssl at test time; records each message raw.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
  subject: string;
  /** True when the message came over a connection upgraded with STARTTLS. */
  secure: boolean;
  user?: string;
}

export interface SmtpReceiver {
  host: string;
  port: number;
  /** PEM of the self-signed certificate (the CA a client must trust), when STARTTLS is on. */
  certificatePath?: string;
  messages: ReceivedMail[];
  /** Every AUTH attempt: user and whether it was accepted (never the password). */
  authAttempts: { user: string; ok: boolean }[];
  waitForMessages(count: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  stop(): Promise<void>;
}

/** Headers of a raw RFC 5322 message, folded lines joined, names lower-cased. */
export function mailHeaders(raw: string): Record<string, string> {
  const head = raw.split(/\r?\n\r?\n/)[0] ?? '';
  const headers: Record<string, string> = {};
  let last = '';
  for (const line of head.split(/\r?\n/)) {
    if (/^\s/.test(line) && last) {
      headers[last] += ' ' + line.trim();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    last = line.slice(0, colon).toLowerCase();
    headers[last] = line.slice(colon + 1).trim();
  }
  return headers;
}

export async function startSmtpReceiver(options: { user: string; password: string; starttls?: boolean }): Promise<SmtpReceiver> {
  let dir: string | undefined;
  let key: Buffer | undefined;
  let cert: Buffer | undefined;
  if (options.starttls) {
    dir = await mkdtemp(join(tmpdir(), 'mlops-smtp-'));
    // A self-signed cert is its own CA; the SAN lets the client verify 127.0.0.1 and localhost.
    await promisify(execFile)('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ]);
    key = await readFile(join(dir, 'key.pem'));
    cert = await readFile(join(dir, 'cert.pem'));
  }
  const messages: ReceivedMail[] = [];
  const authAttempts: { user: string; ok: boolean }[] = [];
  const server = new SMTPServer({
    secure: false,
    key,
    cert,
    disabledCommands: options.starttls ? [] : ['STARTTLS'],
    authMethods: ['PLAIN', 'LOGIN'],
    // Without STARTTLS the test still exercises AUTH over plain loopback.
    allowInsecureAuth: !options.starttls,
    logger: false,
    onAuth(auth, _session, callback) {
      const ok = auth.username === options.user && auth.password === options.password;
      authAttempts.push({ user: auth.username ?? '', ok });
      if (!ok) {
        callback(new Error('Invalid username or password'));
        return;
      }
      callback(null, { user: auth.username });
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          raw,
          subject: mailHeaders(raw).subject ?? '',
          secure: session.secure,
          user: typeof session.user === 'string' ? session.user : undefined,
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    host: '127.0.0.1',
    port,
    certificatePath: dir ? join(dir, 'cert.pem') : undefined,
    messages,
    authAttempts,
    async waitForMessages(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (messages.length < count) {
        if (Date.now() > deadline) throw new Error(`smtp receiver got ${messages.length} of ${count} messages within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return messages;
    },
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
}
