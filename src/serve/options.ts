// What `mlops serve` is asked to do: flags and serve.yaml merged into one plain ServePlan
// (defaults < serve.yaml < flags) that every worker receives unchanged.
import { resolve as resolvePath, dirname } from 'node:path';
import { loadYamlConfig } from '../config.js';
import { UsageError } from '../errors.js';
import { usableCores } from './cpus.js';
import { parseModelRef, validateName } from '../registry/names.js';
import type { ServeEvent } from './events.js';

export interface ServeOptions {
  /** Absolute registry folder. */
  registryDir: string;
  /** NAME or NAME@VERSION / NAME@staging; empty: every model's production version. */
  models?: string[];
  /** serve.yaml; relative paths inside it (log) are relative to its folder. */
  configPath?: string;
  host?: string;
  /** 0 picks a free port (handle.port tells which). */
  port?: number;
  /** Processes that run inference; 1 serves in this process, N > 1 forks a node:cluster. */
  workers?: number;
  /** Follow production promotions of unpinned models (default true). */
  watch?: boolean;
  pollIntervalMs?: number;
  /** Bytes or a size such as "1mb". */
  maxBody?: number | string;
  /** Prediction log (JSON lines); none when unset. */
  log?: string;
  logSample?: number;
  logMaxSize?: number | string;
  logKeep?: number;
  /** "NAME@v1.0.0=90,NAME@v2.0.0=10" */
  ab?: string;
  /** NAME@VERSION, one or more (comma-separated also accepted). */
  shadow?: string[];
  /** Below 0: no coalescing; 0: coalesce requests parsed in the same event-loop turn; N: wait up to N ms. */
  batchWindowMs?: number;
  batchMaxRows?: number;
  /** After a drain starts, keep answering (readiness false) this long so load balancers notice. */
  drainDelayMs?: number;
  /** The longest a drain waits for requests already received before cutting their connections. */
  drainTimeoutMs?: number;
  /** When set, POST /feedback (and any state-changing route) needs Authorization: Bearer <token>. */
  authToken?: string;
  /** Predicted rows (of recent requests) kept for POST /feedback. */
  feedbackCapacity?: number;
  /** Reported by GET /v2. */
  serverVersion?: string;
  onEvent?: (event: ServeEvent) => void;
}

export interface ModelSpec {
  name: string;
  /** Undefined: the production version, followed on promotion. */
  ref?: string;
}

export interface VariantSpec {
  name: string;
  ref: string;
  weight: number;
}

export interface ExperimentSpec {
  name: string;
  model: string;
  variants: VariantSpec[];
}

export interface ShadowSpec {
  model: string;
  ref: string;
}

export interface LogSpec {
  path: string;
  sample: number;
  maxBytes: number;
  keep: number;
}

/** Everything resolved: plain JSON, sent as-is to cluster workers. */
export interface ServePlan {
  registryDir: string;
  host: string;
  port: number;
  workers: number;
  watch: boolean;
  pollIntervalMs: number;
  maxBodyBytes: number;
  batchWindowMs: number;
  batchMaxRows: number;
  drainDelayMs: number;
  drainTimeoutMs: number;
  feedbackCapacity: number;
  authToken?: string;
  serverVersion: string;
  models: ModelSpec[];
  experiments: ExperimentSpec[];
  shadows: ShadowSpec[];
  log?: LogSpec;
}

export const DEFAULTS = {
  // A workstation default, as `mlflow models serve`: the image and manifests pass --host 0.0.0.0.
  host: '127.0.0.1',
  port: 8000,
  pollIntervalMs: 1000,
  maxBodyBytes: 1024 * 1024,
  // 0: coalesce the requests parsed in one event-loop turn, never wait. Measured with
  // test/bench/serve.bench.mjs (2 workers, 16 connections, 2 shared cores, 2 runs each):
  // single rows 18.8-20.0k req/s at 0, 12.0-15.7k with no coalescing (-1), 7.6-9.5k with
  // a 1 ms window (it only adds waiting); 100-row batches 780-810k rows/s at 0, 580-690k at -1.
  batchWindowMs: 0,
  batchMaxRows: 512,
  drainDelayMs: 0,
  drainTimeoutMs: 30_000,
  feedbackCapacity: 100_000,
  logSample: 1,
  logMaxBytes: 100 * 1024 * 1024,
  logKeep: 5,
} as const;

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 };

/** "1mb" -> 1048576 (binary units: kb = 1024 bytes). */
export function parseByteSize(value: number | string, what: string): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value > 0) return Math.floor(value);
  } else {
    const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
    const unit = match ? UNITS[match[2]!.toLowerCase()] : undefined;
    if (match && unit !== undefined && Number(match[1]) > 0) return Math.floor(Number(match[1]) * unit);
  }
  throw new UsageError(`${what} '${value}' is not a size`, `write a number of bytes or a size such as 512kb, 1mb, 100mb`);
}

/** "fraud@v1.0.0=90,fraud@v2.0.0=10" -> one experiment named after the model. */
export function parseAbFlag(text: string): ExperimentSpec {
  const hint = 'write --ab NAME@VERSION=WEIGHT,NAME@VERSION=WEIGHT, e.g. --ab fraud@v1.0.0=90,fraud@v2.0.0=10';
  const parts = text.split(',').map((part) => part.trim()).filter(Boolean);
  if (parts.length < 2) throw new UsageError(`--ab needs at least two variants, got '${text}'`, hint);
  const variants: VariantSpec[] = [];
  let model: string | undefined;
  for (const part of parts) {
    const eq = part.lastIndexOf('=');
    if (eq < 0) throw new UsageError(`--ab variant '${part}' has no weight`, hint);
    const ref = parseModelRef(part.slice(0, eq).trim());
    if (!ref.ref) throw new UsageError(`--ab variant '${part}' names no version`, hint);
    if (model !== undefined && ref.name !== model) throw new UsageError(`--ab mixes models ${model} and ${ref.name}`, 'an experiment splits the traffic of one model between its versions');
    model = ref.name;
    variants.push({ name: ref.ref, ref: ref.ref, weight: parseWeight(part.slice(eq + 1), part, hint) });
  }
  return checkExperiment({ name: model!, model: model!, variants }, '--ab');
}

function parseWeight(raw: unknown, where: string, hint: string): number {
  const weight = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
  if (!Number.isFinite(weight) || weight < 0) throw new UsageError(`weight in '${where}' must be a number >= 0`, hint);
  return weight;
}

function checkExperiment(experiment: ExperimentSpec, where: string): ExperimentSpec {
  const names = new Set<string>();
  for (const variant of experiment.variants) {
    if (names.has(variant.name)) throw new UsageError(`${where}: variant ${variant.name} appears twice in experiment ${experiment.name}`, 'give each variant its own version or name');
    names.add(variant.name);
  }
  if (experiment.variants.reduce((sum, v) => sum + v.weight, 0) <= 0) {
    throw new UsageError(`${where}: the weights of experiment ${experiment.name} add up to 0`, 'give at least one variant a positive weight');
  }
  return experiment;
}

export function parseShadowFlag(text: string): ShadowSpec {
  const ref = parseModelRef(text.trim());
  if (!ref.ref) throw new UsageError(`--shadow ${text} names no version`, 'write --shadow NAME@VERSION, e.g. --shadow fraud@v3.0.0');
  return { model: ref.name, ref: ref.ref };
}

const CONFIG_KEYS = [
  'models',
  'host',
  'port',
  'workers',
  'watch',
  'poll_interval_ms',
  'max_body',
  'batch_window_ms',
  'batch_max_rows',
  'drain_delay_ms',
  'feedback_capacity',
  'log',
  'experiments',
  'shadows',
];

/** The serve.yaml format (README "serve.yaml"). */
export interface ServeConfigFile {
  models?: string[];
  host?: string;
  port?: number;
  workers?: number;
  watch?: boolean;
  poll_interval_ms?: number;
  max_body?: string | number;
  batch_window_ms?: number;
  batch_max_rows?: number;
  drain_delay_ms?: number;
  feedback_capacity?: number;
  log?: string | { path: string; sample?: number; max_size?: string | number; keep?: number };
  experiments?: Array<{ name?: string; model: string; variants: Array<{ name?: string; version: string; weight: number }> }>;
  shadows?: string[];
}

function expect(condition: boolean, path: string, message: string, hint: string): asserts condition {
  if (!condition) throw new UsageError(`${path}: ${message}`, hint);
}

/** Read and check serve.yaml; errors name the file, the key and the fix. */
export async function loadServeConfig(path: string): Promise<ServeConfigFile> {
  const raw = await loadYamlConfig(path);
  for (const key of Object.keys(raw)) {
    expect(CONFIG_KEYS.includes(key), path, `unknown key '${key}'`, `known keys: ${CONFIG_KEYS.join(', ')}`);
  }
  const config = raw as ServeConfigFile;
  const isNumber = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  if (config.models !== undefined) expect(Array.isArray(config.models) && config.models.every((m) => typeof m === 'string'), path, 'models must be a list of NAME or NAME@VERSION', 'e.g. models: [fraud, churn@v1.2.0]');
  if (config.host !== undefined) expect(typeof config.host === 'string', path, 'host must be a string', 'e.g. host: 0.0.0.0');
  for (const key of ['port', 'workers', 'poll_interval_ms', 'batch_window_ms', 'batch_max_rows', 'drain_delay_ms', 'feedback_capacity'] as const) {
    if (config[key] !== undefined) expect(isNumber(config[key]), path, `${key} must be a number`, `e.g. ${key}: 1`);
  }
  if (config.watch !== undefined) expect(typeof config.watch === 'boolean', path, 'watch must be true or false', 'e.g. watch: false');
  if (config.log !== undefined && typeof config.log !== 'string') {
    expect(typeof config.log === 'object' && config.log !== null && typeof config.log.path === 'string', path, 'log must be a path or {path, sample, max_size, keep}', 'e.g. log: {path: predictions.jsonl, sample: 0.1}');
  }
  if (config.experiments !== undefined) {
    expect(Array.isArray(config.experiments), path, 'experiments must be a list', 'see README "serve.yaml"');
    for (const [index, experiment] of config.experiments.entries()) {
      const where = `experiments[${index}]`;
      expect(typeof experiment?.model === 'string', path, `${where}.model is missing`, 'name the model whose traffic is split');
      expect(Array.isArray(experiment.variants) && experiment.variants.length >= 2, path, `${where}.variants needs at least two entries`, 'list {version, weight} pairs');
      for (const variant of experiment.variants) {
        expect(typeof variant?.version === 'string', path, `${where}: every variant needs a version`, 'e.g. {version: v2.0.0, weight: 10}');
      }
    }
  }
  if (config.shadows !== undefined) expect(Array.isArray(config.shadows) && config.shadows.every((s) => typeof s === 'string'), path, 'shadows must be a list of NAME@VERSION', 'e.g. shadows: [fraud@v3.0.0]');
  return config;
}

/** Merge defaults < serve.yaml < options into the plan; pure apart from reading serve.yaml. */
export async function buildPlan(options: ServeOptions): Promise<ServePlan> {
  const file = options.configPath ? await loadServeConfig(options.configPath) : {};
  const configDir = options.configPath ? dirname(resolvePath(options.configPath)) : undefined;

  const models = (options.models?.length ? options.models : (file.models ?? [])).map((text) => {
    const ref = parseModelRef(text);
    return ref.ref === undefined || ref.ref === 'production' ? { name: ref.name } : { name: ref.name, ref: ref.ref };
  });

  const experiments = new Map<string, ExperimentSpec>();
  for (const [index, entry] of (file.experiments ?? []).entries()) {
    const model = validateName(entry.model);
    const hint = 'write variants as {version: v1.0.0, weight: 90}';
    const variants = entry.variants.map((variant) => {
      const ref = parseModelRef(`${model}@${variant.version}`).ref!;
      return { name: variant.name ?? ref, ref, weight: parseWeight(variant.weight, `experiments[${index}] ${variant.version}`, hint) };
    });
    experiments.set(model, checkExperiment({ name: entry.name ?? model, model, variants }, options.configPath ?? 'serve.yaml'));
  }
  if (options.ab) {
    const experiment = parseAbFlag(options.ab);
    experiments.set(experiment.model, experiment);
  }

  const shadowTexts = options.shadow?.length ? options.shadow.flatMap((s) => s.split(',')) : (file.shadows ?? []);
  const shadows = shadowTexts.map((s) => s.trim()).filter(Boolean).map(parseShadowFlag);

  const logPath = options.log ?? (typeof file.log === 'string' ? file.log : file.log?.path);
  const fileLog = typeof file.log === 'object' ? file.log : undefined;
  let log: LogSpec | undefined;
  if (logPath) {
    const sample = options.logSample ?? fileLog?.sample ?? DEFAULTS.logSample;
    if (!(typeof sample === 'number' && sample >= 0 && sample <= 1)) throw new UsageError(`log sample rate ${sample} is not between 0 and 1`, 'e.g. --log-sample 0.1 logs one request in ten');
    const keep = options.logKeep ?? fileLog?.keep ?? DEFAULTS.logKeep;
    if (!Number.isInteger(keep) || keep < 1) throw new UsageError(`log keep ${keep} must be a whole number >= 1`, 'it is how many rotated files are kept');
    log = {
      path: options.log !== undefined || !configDir ? logPath : resolvePath(configDir, logPath),
      sample,
      maxBytes: parseByteSize(options.logMaxSize ?? fileLog?.max_size ?? DEFAULTS.logMaxBytes, 'log max size'),
      keep,
    };
  }

  const workers = options.workers ?? file.workers ?? usableCores();
  if (!Number.isInteger(workers) || workers < 1) throw new UsageError(`--workers ${workers} must be a whole number >= 1`, 'e.g. --workers 4, or leave it out to use every core');
  const port = options.port ?? file.port ?? DEFAULTS.port;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port ${port} is not a port`, 'use 0-65535 (0 picks a free one)');
  const batchMaxRows = options.batchMaxRows ?? file.batch_max_rows ?? DEFAULTS.batchMaxRows;
  if (!Number.isInteger(batchMaxRows) || batchMaxRows < 1) throw new UsageError(`batch max rows ${batchMaxRows} must be a whole number >= 1`, 'e.g. 512');
  const pollIntervalMs = options.pollIntervalMs ?? file.poll_interval_ms ?? DEFAULTS.pollIntervalMs;
  if (!(pollIntervalMs >= 50)) throw new UsageError(`poll interval ${pollIntervalMs} ms is too short`, 'use 50 ms or more (default 1000)');

  return {
    registryDir: options.registryDir,
    host: options.host ?? file.host ?? DEFAULTS.host,
    port,
    workers,
    watch: options.watch ?? file.watch ?? true,
    pollIntervalMs,
    maxBodyBytes: parseByteSize(options.maxBody ?? file.max_body ?? DEFAULTS.maxBodyBytes, '--max-body'),
    batchWindowMs: options.batchWindowMs ?? file.batch_window_ms ?? DEFAULTS.batchWindowMs,
    batchMaxRows,
    drainDelayMs: Math.max(0, options.drainDelayMs ?? file.drain_delay_ms ?? DEFAULTS.drainDelayMs),
    drainTimeoutMs: Math.max(0, options.drainTimeoutMs ?? DEFAULTS.drainTimeoutMs),
    ...(options.authToken !== undefined ? { authToken: options.authToken } : {}),
    feedbackCapacity: Math.max(1, options.feedbackCapacity ?? file.feedback_capacity ?? DEFAULTS.feedbackCapacity),
    serverVersion: options.serverVersion ?? 'unknown',
    models,
    experiments: [...experiments.values()],
    shadows,
    ...(log ? { log } : {}),
  };
}
