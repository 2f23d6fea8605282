// Reads and validates the `alerts:` section of mlops.yaml into AlertChannel values.
// The file is validated whole: every mistake is listed at once, each naming the file,
// the line, the channel and the field.
import { UsageError } from '../errors.js';
import { configProblemsError, type ConfigProblem, type Env, type YamlSource } from '../config.js';
import type { AlertChannel, AlertmanagerChannel, EmailChannel, WebhookChannel } from './types.js';
import { parseDuration } from '../durations.js';
import { isPlainObject } from '../plain-object.js';

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_TRIES = 3;
const CHANNEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const COMMON_FIELDS = ['type', 'timeout', 'max_tries'];
const FIELDS: Record<AlertChannel['type'], string[]> = {
  webhook: [...COMMON_FIELDS, 'url', 'url_env', 'headers', 'headers_env'],
  email: [...COMMON_FIELDS, 'host', 'port', 'secure', 'require_tls', 'username', 'password_env', 'from', 'to', 'cc', 'tls_ca_file', 'subject_prefix'],
  alertmanager: [...COMMON_FIELDS, 'url', 'labels', 'headers', 'headers_env', 'ends_after'],
};

/** One field's problem; the reader stops at it, and the caller reads on without that field. */
class FieldProblem extends Error {
  constructor(
    readonly field: string,
    readonly problem: ConfigProblem,
  ) {
    super(problem.message);
  }
}

class ChannelReader {
  constructor(
    readonly name: string,
    readonly raw: Record<string, unknown>,
    readonly file = 'mlops.yaml',
  ) {}

  fail(field: string, problem: string, hint?: string): never {
    const top = field.split('.')[0]!;
    throw new FieldProblem(top, {
      keys: ['alerts', 'channels', this.name, ...field.split('.')],
      message: `alerts.channels.${this.name}.${field} ${problem}`,
      hint: hint ?? `fix the channel in ${this.file} (see README "Alerts")`,
    });
  }

  has(field: string): boolean {
    return this.raw[field] !== undefined && this.raw[field] !== null;
  }

  string(field: string, required: true): string;
  string(field: string, required?: false): string | undefined;
  string(field: string, required = false): string | undefined {
    const value = this.raw[field];
    if (value === undefined || value === null) {
      if (required) this.fail(field, 'is required');
      return undefined;
    }
    if (typeof value !== 'string' || value.trim() === '') this.fail(field, `must be a non-empty string, got ${JSON.stringify(value)}`);
    return value;
  }

  boolean(field: string, fallback: boolean): boolean {
    const value = this.raw[field];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'boolean') this.fail(field, `must be true or false, got ${JSON.stringify(value)}`);
    return value;
  }

  integer(field: string, fallback: number, min: number, max: number): number {
    const value = this.raw[field];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.fail(field, `must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
    }
    return value;
  }

  duration(field: string): number | undefined {
    const value = this.raw[field];
    if (value === undefined || value === null) return undefined;
    const ms = typeof value === 'string' ? parseDuration(value) : undefined;
    if (ms === undefined || ms <= 0) this.fail(field, `must be a duration like 500ms, 10s or 5m, got ${JSON.stringify(value)}`);
    return ms;
  }

  url(field: string, required: boolean): string | undefined {
    const value = required ? this.string(field, true) : this.string(field);
    if (value === undefined) return undefined;
    let parsed: URL | undefined;
    try {
      parsed = new URL(value);
    } catch {
      parsed = undefined;
    }
    if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
      this.fail(field, `must be an http(s) URL, got ${JSON.stringify(value)}`);
    }
    return value;
  }

  envName(field: string): string | undefined {
    const value = this.string(field);
    if (value !== undefined && !ENV_NAME.test(value)) this.fail(field, `must name an environment variable (like MLOPS_SMTP_PASSWORD), got ${JSON.stringify(value)}`);
    return value;
  }

  stringMap(field: string, check?: (key: string, value: string) => string | undefined): Record<string, string> {
    const value = this.raw[field];
    if (value === undefined || value === null) return {};
    if (!isPlainObject(value)) this.fail(field, 'must be a mapping of name: value');
    const out: Record<string, string> = {};
    for (const [key, item] of Object.entries(value)) {
      if (typeof item !== 'string' && typeof item !== 'number' && typeof item !== 'boolean') {
        this.fail(`${field}.${key}`, `must be a string, got ${JSON.stringify(item)}`);
      }
      const problem = check?.(key, String(item));
      if (problem) this.fail(`${field}.${key}`, problem);
      out[key] = String(item);
    }
    return out;
  }

  addresses(field: string, required: boolean): string[] {
    const value = this.raw[field];
    if (value === undefined || value === null) {
      if (required) this.fail(field, 'is required (one address or a list)');
      return [];
    }
    const list = Array.isArray(value) ? value : [value];
    if (required && list.length === 0) this.fail(field, 'must list at least one address');
    for (const item of list) {
      if (typeof item !== 'string' || !/^[^\s@]+@[^\s@]+$|<[^\s@]+@[^\s@]+>$/.test(item.trim())) {
        this.fail(field, `must hold e-mail addresses, got ${JSON.stringify(item)}`);
      }
    }
    return list.map((item) => (item as string).trim());
  }
}

const headerName = (key: string) => (HEADER_NAME.test(key) ? undefined : 'is not a valid HTTP header name');
const headerEnv = (key: string, value: string) => headerName(key) ?? (ENV_NAME.test(value) ? undefined : `must name an environment variable, got ${JSON.stringify(value)}`);
const labelName = (key: string) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? undefined : 'is not a valid Alertmanager label name (letters, digits, _)');

function readCommon(reader: ChannelReader) {
  return {
    name: reader.name,
    timeoutMs: reader.duration('timeout') ?? DEFAULT_TIMEOUT_MS,
    maxTries: reader.integer('max_tries', DEFAULT_MAX_TRIES, 1, 10),
  };
}

function readWebhook(reader: ChannelReader): WebhookChannel {
  const url = reader.url('url', false);
  const urlEnv = reader.envName('url_env');
  if ((url === undefined) === (urlEnv === undefined)) {
    reader.fail('url', url ? 'and url_env are both set: keep one' : 'is required (or url_env naming a variable that holds it)');
  }
  return {
    type: 'webhook',
    ...readCommon(reader),
    url,
    urlEnv,
    headers: reader.stringMap('headers', headerName),
    headersEnv: reader.stringMap('headers_env', headerEnv),
  };
}

function readEmail(reader: ChannelReader): EmailChannel {
  const secure = reader.boolean('secure', false);
  const username = reader.string('username');
  const passwordEnv = reader.envName('password_env');
  if (username !== undefined && passwordEnv === undefined) {
    reader.fail('password_env', 'is required with username: name the environment variable holding the SMTP password');
  }
  if (passwordEnv !== undefined && username === undefined) reader.fail('username', 'is required with password_env');
  const caFile = reader.string('tls_ca_file');
  return {
    type: 'email',
    ...readCommon(reader),
    host: reader.string('host', true),
    port: reader.integer('port', secure ? 465 : 587, 1, 65_535),
    secure,
    // Safe default: never send a password over a connection that did not upgrade to TLS.
    requireTls: reader.boolean('require_tls', !secure),
    username,
    passwordEnv,
    from: reader.addresses('from', true)[0]!,
    to: reader.addresses('to', true),
    cc: reader.addresses('cc', false),
    tlsCaFile: caFile,
    subjectPrefix: reader.string('subject_prefix') ?? '[mlops]',
  };
}

function readAlertmanager(reader: ChannelReader): AlertmanagerChannel {
  return {
    type: 'alertmanager',
    ...readCommon(reader),
    url: reader.url('url', true)!,
    labels: reader.stringMap('labels', labelName),
    headers: reader.stringMap('headers', headerName),
    headersEnv: reader.stringMap('headers_env', headerEnv),
    endsAfterMs: reader.duration('ends_after'),
  };
}

function readChannel(reader: ChannelReader): AlertChannel {
  const { raw } = reader;
  if (reader.has('password')) {
    reader.fail('password', `must not be written in ${reader.file}`, 'put the password in an environment variable and name it with password_env: MLOPS_SMTP_PASSWORD');
  }
  const type = raw.type;
  if (type !== 'webhook' && type !== 'email' && type !== 'alertmanager') {
    reader.fail('type', `must be webhook, email or alertmanager, got ${JSON.stringify(type)}`);
  }
  return type === 'webhook' ? readWebhook(reader) : type === 'email' ? readEmail(reader) : readAlertmanager(reader);
}

const CHANNEL_PLACEHOLDERS: Record<string, unknown> = { url: 'http://placeholder.invalid', host: 'placeholder.invalid', from: 'a@placeholder.invalid', to: 'a@placeholder.invalid' };

/**
 * Every problem of one channel: read it, and after each problem read it again without
 * the field at fault, until it reads clean or a field fails twice (a required one).
 */
function channelProblems(name: string, raw: Record<string, unknown>, file: string): { channel?: AlertChannel; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  const type = raw.type;
  if (type === 'webhook' || type === 'email' || type === 'alertmanager') {
    for (const key of Object.keys(raw).filter((key) => !FIELDS[type].includes(key) && key !== 'password')) {
      seen.add(key);
      problems.push({ keys: ['alerts', 'channels', name, key], message: `alerts.channels.${name}.${key} is not a field of ${type} channels`, hint: `known fields: ${FIELDS[type].join(', ')}` });
    }
  }
  const current = Object.fromEntries(Object.entries(raw).filter(([key]) => !seen.has(key)));
  for (let round = 0; round <= Object.keys(raw).length + 1; round++) {
    try {
      const channel = readChannel(new ChannelReader(name, current, file));
      return { channel: problems.length ? undefined : channel, problems };
    } catch (error) {
      if (!(error instanceof FieldProblem)) throw error;
      if (seen.has(error.field)) break;
      seen.add(error.field);
      problems.push(error.problem);
      // A required field is replaced by a harmless value so the fields after it are judged too.
      if (error.field in CHANNEL_PLACEHOLDERS && !(error.field === 'url' && current.url_env !== undefined)) current[error.field] = CHANNEL_PLACEHOLDERS[error.field];
      else delete current[error.field];
      // Without a valid type nothing else can be judged.
      if (error.field === 'type') break;
    }
  }
  return { problems };
}

/**
 * The channels declared under `alerts.channels` in a parsed mlops.yaml ([] when none).
 * Environment variables are only named here; they are read when an alert is sent, so a
 * channel nobody uses this run cannot break the run. `source` (the file read) lets each
 * problem name its file and line; all problems are reported in one UsageError.
 */
export function loadAlertChannels(config: Record<string, unknown>, _env?: Env, source?: Pick<YamlSource, 'path' | 'lineOf'>): AlertChannel[] {
  const file = source?.path ?? 'mlops.yaml';
  const fail = (problems: ConfigProblem[]) => configProblemsError(problems, source, `fix the channels in ${file} (see README "Alerts")`);
  const section = config.alerts;
  if (section === undefined || section === null) return [];
  if (!isPlainObject(section)) throw fail([{ keys: ['alerts'], message: `alerts in ${file} must be a mapping with a channels key`, hint: 'write alerts: { channels: { NAME: { type: webhook, url: ... } } }' }]);
  const problems: ConfigProblem[] = [];
  for (const key of Object.keys(section).filter((key) => key !== 'channels')) {
    problems.push({ keys: ['alerts', key], message: `alerts.${key} is not a known field of alerts in ${file}`, hint: 'alerts holds only channels' });
  }
  const channels = section.channels;
  if (channels !== undefined && channels !== null && !isPlainObject(channels)) {
    problems.push({ keys: ['alerts', 'channels'], message: `alerts.channels in ${file} must be a mapping of channel name to settings`, hint: 'write channels: { ops: { type: webhook, url: ... } }' });
  }
  const out: AlertChannel[] = [];
  if (isPlainObject(channels)) {
    for (const [name, raw] of Object.entries(channels)) {
      if (!CHANNEL_NAME.test(name)) {
        problems.push({ keys: ['alerts', 'channels', name], message: `alerts.channels.${name}: channel names use letters, digits, _ . -`, hint: 'rename the channel' });
        continue;
      }
      if (!isPlainObject(raw)) {
        problems.push({ keys: ['alerts', 'channels', name], message: `alerts.channels.${name} must be a mapping with a type`, hint: 'add type: webhook, email or alertmanager' });
        continue;
      }
      const result = channelProblems(name, raw, file);
      problems.push(...result.problems);
      if (result.channel) out.push(result.channel);
    }
  }
  if (problems.length) throw fail(problems);
  for (const channel of out) CHANNEL_FILES.set(channel, file);
  return out;
}

/** Which file each loaded channel came from, for messages about channels by name. */
const CHANNEL_FILES = new WeakMap<AlertChannel, string>();

/**
 * The channels named by `--alert a,b` (or a rule's channels), in the order given.
 * An unknown name is a UsageError listing the defined ones.
 */
export function selectChannels(channels: readonly AlertChannel[], names: string | readonly string[], where = '--alert'): AlertChannel[] {
  const wanted = (typeof names === 'string' ? names.split(',') : [...names]).map((name) => name.trim()).filter(Boolean);
  if (wanted.length === 0) throw new UsageError(`${where} needs at least one channel name`, 'name channels defined under alerts.channels in mlops.yaml');
  const selected: AlertChannel[] = [];
  for (const name of wanted) {
    const channel = channels.find((candidate) => candidate.name === name);
    if (!channel) {
      const defined = channels.map((candidate) => candidate.name);
      const file = channels.map((candidate) => CHANNEL_FILES.get(candidate)).find(Boolean) ?? 'mlops.yaml';
      throw new UsageError(
        `${where}: alert channel '${name}' is not defined in ${file}`,
        defined.length ? `defined channels: ${defined.join(', ')}` : `define it under alerts.channels in ${file} (or pass --alert-config FILE)`,
      );
    }
    if (!selected.includes(channel)) selected.push(channel);
  }
  return selected;
}
