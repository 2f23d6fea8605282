// `monitor rules` output checked by the real promtool: the default rules and a custom set
// pass `promtool check rules`; a broken expression fails it (so the check is not a no-op).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ToolFailedError, ToolMissingError } from '../../src/errors.ts';
import { checkRulesWithPromtool, renderPrometheusRules } from '../../src/monitor/rules-file.ts';
import { defaultRules, parseRules } from '../../src/monitor/rules.ts';
import { ExecaRunner } from '../../src/tools/runner.ts';
import { PROMTOOL_BIN, skipReason } from '../support/prometheus.ts';

const skip = skipReason([PROMTOOL_BIN]);

describe.skipIf(skip)(`promtool check rules ${skip ?? ''}`, () => {
  let dir: string;
  const runner = new ExecaRunner();
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mlops-rules-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('accepts the default rules', async () => {
    const path = join(dir, 'default.rules.yml');
    await writeFile(path, renderPrometheusRules(defaultRules()));
    const output = await checkRulesWithPromtool(path, runner, PROMTOOL_BIN);
    expect(output).toContain(`SUCCESS: ${defaultRules().length} rules found`);
  });

  it('accepts custom rules with metric selectors, every operator and templated descriptions', async () => {
    const rules = parseRules({
      rules: [
        { name: 'LowAccuracy', metric: 'mlops_accuracy', labels: { model: 'iris', variant: 'say "hi"' }, op: '<', threshold: 0.8, for: '15m', description: 'model {{ $labels.model }} at {{ $value }}' },
        { name: 'NotLoaded', metric: 'mlops_models_loaded', op: '!=', threshold: 1 },
        { name: 'Eq', query: 'sum(mlops_shadow_errors_total)', op: '==', threshold: 0 },
        { name: 'Ge', query: 'sum by (model) (rate(mlops_errors_total[5m]))', op: '>=', threshold: 1e-9, severity: 'info' },
        { name: 'Le', query: 'min(mlops_accuracy)', op: '<=', threshold: -1 },
      ],
    });
    const path = join(dir, 'custom.rules.yml');
    await writeFile(path, renderPrometheusRules(rules, { source: 'rules.yaml' }));
    expect(await checkRulesWithPromtool(path, runner, PROMTOOL_BIN)).toContain('SUCCESS: 5 rules found');
  });

  it('fails on a broken expression with promtool’s reason', async () => {
    const path = join(dir, 'broken.rules.yml');
    await writeFile(path, renderPrometheusRules(parseRules({ rules: [{ name: 'Broken', query: 'sum(rate(x[5m])', op: '>', threshold: 1 }] })));
    const error = await checkRulesWithPromtool(path, runner, PROMTOOL_BIN).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ToolFailedError);
    expect((error as ToolFailedError).stderr).toMatch(/parse error/);
  });
});

describe('promtool missing', () => {
  it('is a ToolMissingError', async () => {
    const error = await checkRulesWithPromtool('/nonexistent.yml', new ExecaRunner(), '/nonexistent/promtool').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ToolMissingError);
  });
});
