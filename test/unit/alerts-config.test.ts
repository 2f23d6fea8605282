// mlops.yaml alerts section: parsing, defaults and the one-line errors for each mistake.
import { describe, expect, it } from 'vitest';
import { loadAlertChannels, selectChannels } from '../../src/alerts/config.ts';
import { parseDuration } from '../../src/durations.ts';
import { UsageError } from '../../src/errors.ts';

function channels(map: Record<string, unknown>) {
  return loadAlertChannels({ alerts: { channels: map } }, {});
}

function usageError(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    // One line, or a header line and one indented line per problem.
    const [first, ...rest] = (error as Error).message.split('\n');
    if (rest.length) expect(first).toMatch(/has \d+ problems:$/);
    for (const line of rest) expect(line).toMatch(/^ {2}\S/);
    return error as UsageError;
  }
  throw new Error('expected a UsageError');
}

describe('loadAlertChannels', () => {
  it('returns no channels when mlops.yaml has no alerts section', () => {
    expect(loadAlertChannels({}, {})).toEqual([]);
    expect(loadAlertChannels({ alerts: { channels: null } }, {})).toEqual([]);
  });

  it('reads the three channel types with their defaults', () => {
    const [hook, mail, am] = channels({
      ops: { type: 'webhook', url: 'https://hooks.example.com/x', headers: { 'X-Team': 'ml' }, headers_env: { Authorization: 'MLOPS_HOOK_TOKEN' } },
      oncall: { type: 'email', host: 'smtp.example.com', username: 'bot', password_env: 'MLOPS_SMTP_PASSWORD', from: 'mlops@example.com', to: 'a@example.com' },
      am: { type: 'alertmanager', url: 'http://am:9093', labels: { team: 'ml' }, ends_after: '30m', timeout: '2s', max_tries: 5 },
    });
    expect(hook).toMatchObject({ type: 'webhook', name: 'ops', url: 'https://hooks.example.com/x', headers: { 'X-Team': 'ml' }, headersEnv: { Authorization: 'MLOPS_HOOK_TOKEN' }, timeoutMs: 10_000, maxTries: 3 });
    expect(mail).toMatchObject({ type: 'email', port: 587, secure: false, requireTls: true, to: ['a@example.com'], cc: [], subjectPrefix: '[mlops]' });
    expect(am).toMatchObject({ type: 'alertmanager', labels: { team: 'ml' }, endsAfterMs: 1_800_000, timeoutMs: 2_000, maxTries: 5 });
  });

  it('defaults implicit-TLS email to port 465 without STARTTLS', () => {
    const [mail] = channels({ m: { type: 'email', host: 'h', secure: true, from: 'a@b.c', to: ['x@y.z'] } });
    expect(mail).toMatchObject({ port: 465, secure: true, requireTls: false });
  });

  it('refuses a password written in the file and points at password_env', () => {
    const error = usageError(() => channels({ mail: { type: 'email', host: 'h', from: 'a@b.c', to: 'x@y.z', username: 'u', password: 'hunter22' } }));
    expect(error.message).toContain('alerts.channels.mail.password must not be written in mlops.yaml');
    // Read whole: the missing password_env is listed in the same error.
    expect(error.message).toContain('alerts.channels.mail.password_env is required with username');
    expect(error.hint).toContain('password_env');
    expect(error.message + error.hint).not.toContain('hunter22');
  });

  it.each([
    [{ x: { type: 'pager' } }, 'alerts.channels.x.type must be webhook, email or alertmanager, got "pager"'],
    [{ x: { type: 'webhook' } }, 'alerts.channels.x.url is required (or url_env naming a variable that holds it)'],
    [{ x: { type: 'webhook', url: 'ftp://a' } }, 'alerts.channels.x.url must be an http(s) URL, got "ftp://a"'],
    [{ x: { type: 'webhook', url: 'http://a', url_env: 'HOOK' } }, 'alerts.channels.x.url and url_env are both set: keep one'],
    [{ x: { type: 'webhook', url: 'http://a', headres: {} } }, 'alerts.channels.x.headres is not a field of webhook channels'],
    [{ x: { type: 'webhook', url: 'http://a', headers_env: { Authorization: 'not a var' } } }, 'alerts.channels.x.headers_env.Authorization must name an environment variable, got "not a var"'],
    [{ x: { type: 'webhook', url: 'http://a', timeout: 5 } }, 'alerts.channels.x.timeout must be a duration like 500ms, 10s or 5m, got 5'],
    [{ x: { type: 'webhook', url: 'http://a', max_tries: 0 } }, 'alerts.channels.x.max_tries must be a whole number from 1 to 10, got 0'],
    [{ x: { type: 'email', from: 'a@b.c', to: 'x@y.z' } }, 'alerts.channels.x.host is required'],
    [{ x: { type: 'email', host: 'h', from: 'a@b.c', to: 'x@y.z', username: 'u' } }, 'alerts.channels.x.password_env is required with username: name the environment variable holding the SMTP password'],
    [{ x: { type: 'email', host: 'h', from: 'a@b.c', to: 'nobody' } }, 'alerts.channels.x.to must hold e-mail addresses, got "nobody"'],
    [{ x: { type: 'alertmanager', url: 'http://am', labels: { 'bad-name': 'v' } } }, 'alerts.channels.x.labels.bad-name is not a valid Alertmanager label name (letters, digits, _)'],
    [{ x: 'webhook' }, 'alerts.channels.x must be a mapping with a type'],
  ])('rejects %j', (map, message) => {
    expect(usageError(() => channels(map as Record<string, unknown>)).message).toBe(message);
  });

  it('rejects a malformed alerts section', () => {
    expect(usageError(() => loadAlertChannels({ alerts: ['x'] }, {})).message).toContain('alerts in mlops.yaml must be a mapping');
    expect(usageError(() => loadAlertChannels({ alerts: { chanels: {} } }, {})).message).toBe('alerts.chanels is not a known field of alerts in mlops.yaml');
  });

  it('does not read environment variables at load time', () => {
    // A channel whose variable is unset must not break a run that does not use it.
    expect(() => channels({ m: { type: 'email', host: 'h', from: 'a@b.c', to: 'x@y.z', username: 'u', password_env: 'UNSET_VAR' } })).not.toThrow();
  });
});

describe('selectChannels', () => {
  const all = channels({ ops: { type: 'webhook', url: 'http://a' }, am: { type: 'alertmanager', url: 'http://b' } });

  it('picks channels from a comma list, in order, without duplicates', () => {
    expect(selectChannels(all, 'am, ops,am').map((channel) => channel.name)).toEqual(['am', 'ops']);
  });

  it('names the unknown channel and lists the defined ones', () => {
    const error = usageError(() => selectChannels(all, 'ops,pager'));
    expect(error.message).toBe("--alert: alert channel 'pager' is not defined in mlops.yaml");
    expect(error.hint).toBe('defined channels: ops, am');
  });
});

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['10s', 10_000],
    ['1h30m', 5_400_000],
    ['1d', 86_400_000],
    ['10', 10_000],
    ['1.5s', 1_500],
    ['10 s', undefined],
    ['ten', undefined],
    ['-5s', undefined],
  ])('%s -> %s', (text, ms) => expect(parseDuration(text)).toBe(ms));
});

describe('an alert config file read whole', () => {
  it('lists every problem at once, each with its file and line', async () => {
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { loadYamlSource } = await import('../../src/config.ts');
    const dir = await mkdtemp(join(tmpdir(), 'mlops-alerts-'));
    try {
      const file = join(dir, 'alerts.yaml');
      await writeFile(file, 'alerts:\n  channels:\n    ops:\n      type: webhook\n      url: ftp://x\n      timeout: 5\n    mail:\n      type: email\n      host: h\n      to: nobody\n');
      const source = (await loadYamlSource(file, { kind: 'alert config', flag: '--alert-config' }))!;
      const error = usageError(() => loadAlertChannels(source.value, {}, source));
      expect(error.message.split('\n')).toEqual([
        `${file} has 4 problems:`,
        `  ${file}:5: alerts.channels.ops.url must be an http(s) URL, got "ftp://x"`,
        `  ${file}:6: alerts.channels.ops.timeout must be a duration like 500ms, 10s or 5m, got 5`,
        `  ${file}:8: alerts.channels.mail.from is required (one address or a list)`,
        `  ${file}:10: alerts.channels.mail.to must hold e-mail addresses, got "nobody"`,
      ]);
      expect(error.hint).toContain(file);
      await expect(loadYamlSource(join(dir, 'missing.yaml'), { kind: 'alert config', flag: '--alert-config' })).rejects.toMatchObject({ exitCode: 3, message: `alert config ${join(dir, 'missing.yaml')} (--alert-config) does not exist` });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
