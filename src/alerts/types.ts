// The values the alerts capability trades in: an alert, a configured channel, the outcome
// of one send, and the progress events a caller may render.

export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface Alert {
  /** Becomes the Alertmanager `alertname` label: keep it stable across sends. */
  name: string;
  severity: Severity;
  summary: string;
  description?: string;
  model?: string;
  version?: string;
  labels?: Record<string, string>;
  details?: Record<string, unknown>;
  /** Link back to what produced the alert (a Prometheus graph, a report). */
  generatorURL?: string;
  /** ISO times; startsAt defaults to now, endsAt to the channel's ends_after (or the receiver's default). */
  startsAt?: string;
  endsAt?: string;
}

interface ChannelCommon {
  name: string;
  /** Per attempt. */
  timeoutMs: number;
  /** Attempts in all, the first included. */
  maxTries: number;
}

export interface WebhookChannel extends ChannelCommon {
  type: 'webhook';
  /** Exactly one of url / urlEnv is set; a Slack webhook URL is a secret, hence urlEnv. */
  url?: string;
  urlEnv?: string;
  headers: Record<string, string>;
  /** Header name -> environment variable holding its value. */
  headersEnv: Record<string, string>;
}

export interface EmailChannel extends ChannelCommon {
  type: 'email';
  host: string;
  port: number;
  /** Implicit TLS from the first byte (port 465). */
  secure: boolean;
  /** Refuse to send unless the server upgrades with STARTTLS. */
  requireTls: boolean;
  username?: string;
  passwordEnv?: string;
  from: string;
  to: string[];
  cc: string[];
  /** PEM file of a CA to trust besides the system ones (a private or self-signed relay). */
  tlsCaFile?: string;
  subjectPrefix: string;
}

export interface AlertmanagerChannel extends ChannelCommon {
  type: 'alertmanager';
  /** Alertmanager root, e.g. http://alertmanager:9093. */
  url: string;
  /** Labels added to every alert (team, env); the alert's own labels win. */
  labels: Record<string, string>;
  headers: Record<string, string>;
  headersEnv: Record<string, string>;
  /** Sets endsAt = startsAt + this when the alert has none; otherwise Alertmanager's resolve_timeout applies. */
  endsAfterMs?: number;
}

export type AlertChannel = WebhookChannel | EmailChannel | AlertmanagerChannel;
export type ChannelType = AlertChannel['type'];

export interface ChannelResult {
  channel: string;
  type: ChannelType;
  ok: boolean;
  /** Attempts made (0 when the channel could not even be prepared, e.g. a missing env var). */
  tries: number;
  /** HTTP status of the last answer, for webhook and alertmanager. */
  status?: number;
  /** One line, prefixed with "<type> <channel>:", secrets scrubbed. */
  message: string;
}

export type AlertEvent =
  | { type: 'alert.attempt'; channel: string; channelType: ChannelType; attempt: number; target: string }
  | { type: 'alert.retry'; channel: string; channelType: ChannelType; attempt: number; delayMs: number; reason: string }
  | { type: 'alert.sent'; channel: string; channelType: ChannelType; tries: number; message: string }
  | { type: 'alert.failed'; channel: string; channelType: ChannelType; tries: number; message: string };

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;
