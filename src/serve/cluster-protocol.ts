// The messages between the cluster primary and its workers (node:cluster IPC), in one place.
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import { MlopsError, isMlopsError, messageOf, type ExitCode } from '../errors.js';
import type { FeedbackAnswer } from './feedback.js';
import type { ServeEvent } from './events.js';
import type { ServePlan } from './options.js';
import type { ServedVersion } from './models.js';

export interface SerializedError {
  code: string;
  message: string;
  exitCode: number;
  hint?: string;
}

export type ToWorker =
  | { type: 'mlops:start'; plan: ServePlan }
  | { type: 'mlops:drain'; delayMs: number }
  | { type: 'mlops:metrics-collect'; id: number }
  | { type: 'mlops:feedback-apply'; id: number; body: Record<string, unknown> }
  | { type: 'mlops:metrics-text'; id: number; text: string }
  | { type: 'mlops:feedback-answer'; id: number; answer: FeedbackAnswer };

export type ToPrimary =
  | { type: 'mlops:hello' }
  | { type: 'mlops:listening'; port: number; grpcPort?: number }
  | { type: 'mlops:ready'; models: ServedVersion[] }
  | { type: 'mlops:fatal'; error: SerializedError }
  | { type: 'mlops:event'; event: ServeEvent }
  | { type: 'mlops:log'; lines: string }
  | { type: 'mlops:drained' }
  | { type: 'mlops:metrics-json'; id: number; metrics: MetricObjectWithValues<MetricValue<string>>[] }
  | { type: 'mlops:feedback-result'; id: number; answer: FeedbackAnswer }
  | { type: 'mlops:metrics-request'; id: number }
  | { type: 'mlops:feedback-request'; id: number; body: Record<string, unknown> };

export function serializeError(error: unknown): SerializedError {
  if (isMlopsError(error)) return { code: error.code, message: error.message, exitCode: error.exitCode, ...(error.hint ? { hint: error.hint } : {}) };
  return { code: 'internal', message: error instanceof Error ? (error.stack ?? error.message) : messageOf(error), exitCode: 1 };
}

export function deserializeError(error: SerializedError): Error {
  if (error.code === 'internal') return new Error(error.message);
  return new MlopsError(error.code, error.message, error.exitCode as ExitCode, error.hint);
}

export function isMessage(value: unknown): value is { type: string } {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string' && (value as { type: string }).type.startsWith('mlops:');
}
