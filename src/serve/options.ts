// What `mlops serve` is asked to do: flags and serve.yaml merged into one plain ServePlan
// (defaults < serve.yaml < flags) that every worker receives unchanged.
import { resolve as resolvePath, dirname } from 'node:path';
import { configProblemsError, loadYamlSource, type ConfigProblem, type Env } from '../config.js';
import { UsageError } from '../errors.js';
import { isPlainObject } from '../plain-object.js';
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
  /** Also serve the Open Inference Protocol over gRPC on this port (0: a free one); none when unset. */
  grpcPort?: number;
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
  /** Where serve.yaml's auth_token_env is looked up (the Ctx's env); a flag's authToken wins. */
  env?: Env;
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
  grpcPort?: number;
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
  'drain_timeout',
  'auth_token_env',
  'feedback_capacity',
  'log',
  'experiments',
  'shadows',
  'grpc_port',
];
const LOG_KEYS = ['path', 'sample', 'max_size', 'keep'];
const EXPERIMENT_KEYS = ['name', 'model', 'variants'];
const VARIANT_KEYS = ['name', 'version', 'weight'];
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The serve.yaml format (README "serve.yaml"). */
export interface ServeConfigFile {
  models?: string[];
  host?: string;
  port?: number;
  grpc_port?: number;
  workers?: number;
  watch?: boolean;
  poll_interval_ms?: number;
  max_body?: string | number;
  batch_window_ms?: number;
  batch_max_rows?: number;
  drain_delay_ms?: number;
  /** Seconds, as --drain-timeout. */
  drain_timeout?: number;
  /** The environment variable holding the bearer token, as --auth-token-env. */
  auth_token_env?: string;
  feedback_capacity?: number;
  log?: string | { path: string; sample?: number; max_size?: string | number; keep?: number };
  experiments?: Array<{ name?: string; model: string; variants: Array<{ name?: string; version: string; weight: number }> }>;
  shadows?: string[];
}

/** Numeric keys: what each must be, in the words of its flag. */
const NUMBER_KEYS: Record<string, { min: number; max?: number; integer?: boolean; example: string }> = {
  port: { min: 0, max: 65535, integer: true, example: '8000 (0 picks a free port)' },
  grpc_port: { min: 0, max: 65535, integer: true, example: '8001 (0 picks a free port)' },
  workers: { min: 1, integer: true, example: '2' },
  poll_interval_ms: { min: 50, example: '1000' },
  batch_window_ms: { min: -1, integer: true, example: '0' },
  batch_max_rows: { min: 1, integer: true, example: '512' },
  drain_delay_ms: { min: 0, integer: true, example: '5000' },
  drain_timeout: { min: 0, max: 3600, example: '30 (seconds)' },
  feedback_capacity: { min: 1, integer: true, example: '100000' },
};

/** Every problem of a parsed serve.yaml, each at its keys (an empty list: the file is good). */
function serveConfigProblems(raw: Record<string, unknown>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const add = (keys: Array<string | number>, message: string, hint: string) => problems.push({ keys, message, hint });
  // The flag parsers' own checks, so a value means the same in the file as on the command line.
  const check = (keys: Array<string | number>, run: () => unknown) => {
    try {
      run();
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      add(keys, `${keys.join('.')}: ${error.message}`, error.hint ?? 'see README "serve.yaml"');
    }
  };
  const unknownKeys = (keys: Array<string | number>, value: Record<string, unknown>, known: string[]) => {
    for (const key of Object.keys(value)) if (!known.includes(key)) add([...keys, key], `unknown key '${[...keys, key].join('.')}'`, `known keys${keys.length ? ` of ${keys.join('.')}` : ''}: ${known.join(', ')}`);
  };
  unknownKeys([], raw, CONFIG_KEYS);

  const { models, host, watch, max_body: maxBody, auth_token_env: tokenEnv, log, experiments, shadows } = raw;
  if (models !== undefined) {
    if (!Array.isArray(models) || !models.every((m) => typeof m === 'string')) add(['models'], 'models must be a list of NAME or NAME@VERSION', 'e.g. models: [fraud, churn@v1.2.0]');
    else models.forEach((model: string, index) => check(['models', index], () => parseModelRef(model)));
  }
  if (host !== undefined && typeof host !== 'string') add(['host'], 'host must be a string', 'e.g. host: 0.0.0.0');
  for (const [key, rule] of Object.entries(NUMBER_KEYS)) {
    const value = raw[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value)) add([key], `${key} must be a number, got ${JSON.stringify(value)}`, `e.g. ${key}: ${rule.example}`);
    else if (value < rule.min || (rule.max !== undefined && value > rule.max) || (rule.integer && !Number.isInteger(value))) {
      const range = rule.max !== undefined ? `${rule.min}-${rule.max}` : `>= ${rule.min}`;
      add([key], `${key} ${value} must be ${rule.integer ? 'a whole number ' : ''}${range}`, `e.g. ${key}: ${rule.example}`);
    }
  }
  if (watch !== undefined && typeof watch !== 'boolean') add(['watch'], 'watch must be true or false', 'e.g. watch: false');
  if (maxBody !== undefined) {
    if (typeof maxBody !== 'number' && typeof maxBody !== 'string') add(['max_body'], 'max_body must be a size', 'e.g. max_body: 1mb');
    else check(['max_body'], () => parseByteSize(maxBody, 'max_body'));
  }
  if (tokenEnv !== undefined && (typeof tokenEnv !== 'string' || !ENV_NAME.test(tokenEnv))) {
    add(['auth_token_env'], `auth_token_env must name an environment variable, got ${JSON.stringify(tokenEnv)}`, 'e.g. auth_token_env: MLOPS_FEEDBACK_TOKEN (the token itself stays out of the file)');
  }
  if (log !== undefined && typeof log !== 'string') {
    if (!isPlainObject(log) || typeof log.path !== 'string') add(['log'], 'log must be a path or {path, sample, max_size, keep}', 'e.g. log: {path: predictions.jsonl, sample: 0.1}');
    else {
      unknownKeys(['log'], log, LOG_KEYS);
      if (log.sample !== undefined && !(typeof log.sample === 'number' && log.sample >= 0 && log.sample <= 1)) add(['log', 'sample'], `log.sample ${JSON.stringify(log.sample)} is not between 0 and 1`, 'e.g. sample: 0.1 logs one request in ten');
      if (log.keep !== undefined && !(typeof log.keep === 'number' && Number.isInteger(log.keep) && log.keep >= 1)) add(['log', 'keep'], `log.keep ${JSON.stringify(log.keep)} must be a whole number >= 1`, 'it is how many rotated files are kept');
      const maxSize = log.max_size;
      if (maxSize !== undefined) {
        if (typeof maxSize !== 'number' && typeof maxSize !== 'string') add(['log', 'max_size'], 'log.max_size must be a size', 'e.g. max_size: 100mb');
        else check(['log', 'max_size'], () => parseByteSize(maxSize, 'max_size'));
      }
    }
  }
  if (experiments !== undefined) {
    if (!Array.isArray(experiments)) add(['experiments'], 'experiments must be a list', 'see README "serve.yaml"');
    else experiments.forEach((experiment: unknown, index) => experimentProblems(experiment, index, add, check, unknownKeys));
  }
  if (shadows !== undefined) {
    if (!Array.isArray(shadows) || !shadows.every((s) => typeof s === 'string')) add(['shadows'], 'shadows must be a list of NAME@VERSION', 'e.g. shadows: [fraud@v3.0.0]');
    else shadows.forEach((shadow: string, index) => check(['shadows', index], () => parseShadowFlag(shadow)));
  }
  return problems;
}

function experimentProblems(
  experiment: unknown,
  index: number,
  add: (keys: Array<string | number>, message: string, hint: string) => void,
  check: (keys: Array<string | number>, run: () => unknown) => void,
  unknownKeys: (keys: Array<string | number>, value: Record<string, unknown>, known: string[]) => void,
): void {
  const where = `experiments[${index}]`;
  const keys = ['experiments', index];
  if (!isPlainObject(experiment)) {
    add(keys, `${where} must be a mapping {name, model, variants}`, 'see README "serve.yaml"');
    return;
  }
  unknownKeys(keys, experiment, EXPERIMENT_KEYS);
  const { model, variants } = experiment;
  let modelOk = false;
  if (typeof model !== 'string') add([...keys, 'model'], `${where}.model is missing`, 'name the model whose traffic is split');
  else {
    try {
      validateName(model);
      modelOk = true;
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      add([...keys, 'model'], `${where}.model: ${error.message}`, error.hint ?? 'name a model in the registry');
    }
  }
  if (!Array.isArray(variants) || variants.length < 2) {
    add([...keys, 'variants'], `${where}.variants needs at least two entries`, 'list {version, weight} pairs');
    return;
  }
  const parsed: VariantSpec[] = [];
  variants.forEach((variant: unknown, slot) => {
    const at = [...keys, 'variants', slot];
    if (!isPlainObject(variant) || typeof variant.version !== 'string') {
      add(at, `${where}: every variant needs a version`, 'e.g. {version: v2.0.0, weight: 10}');
      return;
    }
    unknownKeys(at, variant, VARIANT_KEYS);
    const version = variant.version;
    try {
      const ref = parseModelRef(`${typeof model === 'string' ? model : 'model'}@${version}`).ref!;
      const weight = parseWeight(variant.weight, `${where} ${version}`, 'write variants as {version: v1.0.0, weight: 90}');
      parsed.push({ name: typeof variant.name === 'string' ? variant.name : ref, ref, weight });
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      add(at, error.message, error.hint ?? 'write variants as {version: v1.0.0, weight: 90}');
    }
  });
  if (modelOk && parsed.length === variants.length) check(keys, () => checkExperiment({ name: String(experiment.name ?? model), model: String(model), variants: parsed }, where));
}

/** Read serve.yaml and check it whole: every problem listed at once as FILE:LINE, each with its fix. */
export async function loadServeConfig(path: string): Promise<ServeConfigFile> {
  const source = (await loadYamlSource(path, { kind: 'serve config', flag: '--config' }))!;
  const problems = serveConfigProblems(source.value);
  if (problems.length) throw configProblemsError(problems, source, 'see README "serve.yaml"');
  return source.value as ServeConfigFile;
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

  let authToken = options.authToken;
  if (authToken === undefined && file.auth_token_env !== undefined) {
    const name = file.auth_token_env;
    authToken = options.env?.[name];
    // Fail closed: a file asking for a token never serves without one.
    if (!authToken) {
      throw new UsageError(
        `${options.configPath}: auth_token_env ${name}: the environment variable ${name} is empty or unset`,
        `export ${name}=<a long random token> before mlops serve, or remove auth_token_env from the file`,
      );
    }
  }

  const workers = options.workers ?? file.workers ?? usableCores();
  if (!Number.isInteger(workers) || workers < 1) throw new UsageError(`--workers ${workers} must be a whole number >= 1`, 'e.g. --workers 4, or leave it out to use every core');
  const port = options.port ?? file.port ?? DEFAULTS.port;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port ${port} is not a port`, 'use 0-65535 (0 picks a free one)');
  const grpcPort = options.grpcPort ?? file.grpc_port;
  if (grpcPort !== undefined && (!Number.isInteger(grpcPort) || grpcPort < 0 || grpcPort > 65535)) throw new UsageError(`--grpc-port ${grpcPort} is not a port`, 'use 0-65535 (0 picks a free one)');
  if (grpcPort !== undefined && grpcPort !== 0 && grpcPort === port) throw new UsageError(`--grpc-port ${grpcPort} is the HTTP port too`, 'give gRPC its own port, e.g. --port 8000 --grpc-port 8001');
  const batchMaxRows = options.batchMaxRows ?? file.batch_max_rows ?? DEFAULTS.batchMaxRows;
  if (!Number.isInteger(batchMaxRows) || batchMaxRows < 1) throw new UsageError(`batch max rows ${batchMaxRows} must be a whole number >= 1`, 'e.g. 512');
  const pollIntervalMs = options.pollIntervalMs ?? file.poll_interval_ms ?? DEFAULTS.pollIntervalMs;
  if (!(pollIntervalMs >= 50)) throw new UsageError(`poll interval ${pollIntervalMs} ms is too short`, 'use 50 ms or more (default 1000)');

  return {
    registryDir: options.registryDir,
    host: options.host ?? file.host ?? DEFAULTS.host,
    port,
    ...(grpcPort !== undefined ? { grpcPort } : {}),
    workers,
    watch: options.watch ?? file.watch ?? true,
    pollIntervalMs,
    maxBodyBytes: parseByteSize(options.maxBody ?? file.max_body ?? DEFAULTS.maxBodyBytes, '--max-body'),
    batchWindowMs: options.batchWindowMs ?? file.batch_window_ms ?? DEFAULTS.batchWindowMs,
    batchMaxRows,
    drainDelayMs: Math.max(0, options.drainDelayMs ?? file.drain_delay_ms ?? DEFAULTS.drainDelayMs),
    drainTimeoutMs: Math.max(0, options.drainTimeoutMs ?? (file.drain_timeout !== undefined ? file.drain_timeout * 1000 : DEFAULTS.drainTimeoutMs)),
    ...(authToken !== undefined ? { authToken } : {}),
    feedbackCapacity: Math.max(1, options.feedbackCapacity ?? file.feedback_capacity ?? DEFAULTS.feedbackCapacity),
    serverVersion: options.serverVersion ?? 'unknown',
    models,
    experiments: [...experiments.values()],
    shadows,
    ...(log ? { log } : {}),
  };
}
