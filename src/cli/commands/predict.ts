// mlops predict NAME[@VERSION] --input FILE: local batch scoring with serve's validation and
// column mapping, streamed in bounded batches; throughput on stderr and in --json.
import { resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { parseModelRef } from '../../registry/names.js';
import { numberFlag, type CommandDef } from '../command.js';

/** A URL (s3://...) is passed on as is; anything else is a path relative to the working folder. */
const dataLocation = (cwd: string, text: string) => (/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : resolve(cwd, text));

export const predictCommand: CommandDef = {
  name: 'predict',
  summary: 'score a CSV, JSON-lines or Parquet file with a registered model, locally (streamed)',
  arguments: [{ name: 'model', description: 'NAME or NAME@VERSION (default: the production version)', required: true }],
  options: [
    { flags: '--input <file>', description: 'rows to score: CSV (header optional), JSON lines or Parquet, .gz too; a path or s3://BUCKET/KEY' },
    { flags: '--output <file>', description: 'write predictions here (.csv, or .jsonl for JSON lines); default: CSV on stdout' },
    { flags: '--batch-rows <n>', description: 'rows per inference run', default: '4096' },
  ],
  examples: ['mlops predict fraud --input today.csv --output preds.csv', 'mlops predict fraud@v1.0.0 --input today.parquet --output preds.jsonl --json'],
  async run(ctx, [refText], options) {
    if (!options.input) throw new UsageError('--input FILE is required', 'e.g. mlops predict fraud --input today.csv --output preds.csv');
    if (ctx.ui.json && !options.output) throw new UsageError('--json prints the run summary on stdout, so predictions need --output FILE', 'e.g. mlops predict fraud --input today.csv --output preds.csv --json');
    const { name, ref } = parseModelRef(refText!);
    const batchRows = numberFlag(options.batchRows, '--batch-rows', { min: 1, max: 1_000_000, integer: true, example: '4096' });
    const { Registry } = await import('../../registry/registry.js');
    const { predictFile } = await import('../../predict/predict.js');
    const { fileSink, lineSink, outputFormat } = await import('../../predict/output.js');
    const registry = await Registry.open(ctx.registryDir, { env: ctx.env });
    const output = options.output ? resolve(ctx.cwd, String(options.output)) : undefined;
    const abort = new AbortController();
    void ctx.stopRequested.then(() => abort.abort());
    const sink = output ? await fileSink(output) : lineSink((text) => ctx.ui.out(text));
    const result = await predictFile({
      source: registry,
      name,
      ref: ref ?? 'production',
      input: dataLocation(ctx.cwd, String(options.input)),
      format: output ? outputFormat(output) : 'csv',
      sink,
      batchRows,
      env: ctx.env,
      signal: abort.signal,
      onEvent: (event) => ctx.ui.info(event.message),
    });
    ctx.ui.info(`scored ${result.rows} rows with ${result.model} ${result.version} in ${result.seconds.toFixed(2)} s: ${Math.round(result.rowsPerSecond)} rows/s${output ? `; wrote ${output}` : ''}`);
    if (ctx.ui.json) ctx.ui.printJson({ ...result, ...(output ? { output } : {}) });
  },
};
