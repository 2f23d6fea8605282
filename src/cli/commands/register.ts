// mlops register NAME MODEL.onnx: validate, store, record as staging.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { NotFoundError, UsageError } from '../../errors.js';
import { Registry } from '../../registry/registry.js';
import { sourceOf } from '../../tools/git.js';
import { keyValues, numberFlag, numericKeyValues, type CommandDef } from '../command.js';
import type { Ctx } from '../context.js';

async function metricsFromFile(ctx: Ctx, path: string): Promise<Record<string, number>> {
  let text: string;
  try {
    text = await readFile(resolve(ctx.cwd, path), 'utf8');
  } catch {
    throw new NotFoundError(`metrics file ${path} cannot be read`, 'check the --metrics-file path');
  }
  let value: unknown;
  try {
    value = path.endsWith('.json') ? JSON.parse(text) : parse(text);
  } catch (error) {
    throw new UsageError(`metrics file ${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message.split('\n')[0]}`, 'write a flat mapping of metric name to number');
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new UsageError(`metrics file ${path} must hold a mapping of metric name to number`, 'e.g. {"accuracy": 0.93, "f1_score": 0.81}');
  const out: Record<string, number> = {};
  for (const [key, raw] of Object.entries(value as Record<string, unknown>)) {
    // The design document's model_versioning.yaml nests metrics under `metrics:`.
    if (key === 'metrics' && raw && typeof raw === 'object') {
      Object.assign(out, flatNumbers(raw as Record<string, unknown>, path));
      continue;
    }
    if (typeof raw !== 'number' || !Number.isFinite(raw)) throw new UsageError(`metrics file ${path}: ${key} is not a number`, 'metrics are numbers, e.g. accuracy: 0.93');
    out[key] = raw;
  }
  return out;
}

function flatNumbers(value: Record<string, unknown>, path: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, raw] of Object.entries(value)) {
    if (typeof raw !== 'number' || !Number.isFinite(raw)) throw new UsageError(`metrics file ${path}: ${key} is not a number`, 'metrics are numbers, e.g. accuracy: 0.93');
    out[key] = raw;
  }
  return out;
}

/** register reads local files; a URL (s3://, https://, gs://) gets how to proceed instead of "file s3:/... does not exist". */
function refuseUrl(value: string, what: string): void {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1];
  if (!scheme) return;
  const copy = scheme.toLowerCase() === 's3' ? `aws s3 cp ${value} .` : scheme.toLowerCase() === 'gs' ? `gcloud storage cp ${value} .` : `curl -fLO ${value}`;
  throw new UsageError(`${what} ${value} is a URL; register reads a local file`, `copy it here first (${copy}), then register the local copy: the registry stores the file by its sha256`);
}

export const registerCommand: CommandDef = {
  name: 'register',
  summary: 'add a model version to the registry (as staging)',
  arguments: [
    { name: 'name', description: 'model name (lower-case letters, digits, . _ -)', required: true },
    { name: 'model', description: 'the .onnx file', required: true },
  ],
  options: [
    { flags: '--version <version>', description: 'version (default: next patch after the highest, v1.0.0 first)' },
    { flags: '--metric <key=value>', description: 'a metric (repeatable)', repeatable: true },
    { flags: '--metrics-file <file>', description: 'metrics from a JSON or YAML mapping' },
    { flags: '--tag <key=value>', description: 'a tag (repeatable)', repeatable: true },
    { flags: '--description <text>', description: 'what this version is' },
    { flags: '--reference-data <file>', description: 'training/reference sample (CSV with header, may be .gz) for drift-check' },
    { flags: '--reference-max-rows <n>', description: 'keep at most this many reference rows (uniform sample)', default: '50000' },
  ],
  examples: [
    'mlops register fraud model.onnx',
    'mlops register fraud model.onnx --version v1.2.0 --metric accuracy=0.93 --metric f1_score=0.81',
    'mlops register fraud model.onnx --metrics-file metrics.json --reference-data train.csv --tag team=risk',
  ],
  async run(ctx, [name, model], options) {
    refuseUrl(model!, 'model');
    if (options.referenceData) refuseUrl(String(options.referenceData), '--reference-data');
    const maxRows = numberFlag(options.referenceMaxRows, '--reference-max-rows', { min: 1, integer: true, example: '50000' });
    const metrics = {
      ...(options.metricsFile ? await metricsFromFile(ctx, String(options.metricsFile)) : {}),
      ...numericKeyValues(options.metric, '--metric'),
    };
    const { registerVersion } = await import('../../registry/register.js');
    const { registry, created } = await Registry.init(ctx.registryDir, ctx.now(), { env: ctx.env });
    if (created) ctx.ui.info(`created registry ${ctx.registryDir}`);
    const modelPath = resolve(ctx.cwd, model!);
    const record = await registerVersion(registry, {
      name: name!,
      modelPath,
      version: options.version as string | undefined,
      metrics,
      tags: keyValues(options.tag, '--tag'),
      description: options.description as string | undefined,
      referenceDataPath: options.referenceData ? resolve(ctx.cwd, String(options.referenceData)) : undefined,
      referenceMaxRows: maxRows,
      user: ctx.user,
      source: await sourceOf(ctx.runner, ctx.cwd, modelPath),
      now: ctx.now,
      onEvent: (event) => (event.type === 'warn' ? ctx.ui.warn(event.message) : ctx.ui.info(event.message)),
    });
    if (ctx.ui.json) return ctx.ui.printJson(record);
    ctx.ui.success(`registered ${record.name} ${record.version} (staging, sha256 ${record.artifact.sha256.slice(0, 12)})`);
  },
};
