// rules.yaml validation, rule evaluation against query answers, and the Prometheus rules file.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { evaluateRule, ruleAlert } from '../../src/monitor/check.ts';
import { sampleValue } from '../../src/monitor/prometheus.ts';
import { renderPrometheusRules, ruleExpression } from '../../src/monitor/rules-file.ts';
import { defaultRules, parseRules, renderRulesYaml, selectorQuery, type MonitorRule } from '../../src/monitor/rules.ts';
import { compare } from '../../src/thresholds.ts';
import { UsageError } from '../../src/errors.ts';

function usageMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).not.toContain('\n');
    return (error as Error).message;
  }
  throw new Error('expected a UsageError');
}

const rule = (overrides: Partial<MonitorRule> = {}): MonitorRule => ({ name: 'R', query: 'x', op: '>', threshold: 1, severity: 'warning', channels: [], ...overrides });

describe('parseRules', () => {
  it('accepts word operators', () => {
    const rules = parseRules({ rules: ['gt', 'lt', 'ge', 'le', 'eq', 'ne'].map((op, index) => ({ name: `R${index}`, query: 'x', op, threshold: 1 })) });
    expect(rules.map((rule) => rule.op)).toEqual(['>', '<', '>=', '<=', '==', '!=']);
  });

  it('reads query rules and metric+labels rules with defaults', () => {
    const rules = parseRules({
      rules: [
        { name: 'HighErrors', query: 'sum(rate(mlops_errors_total[5m]))', op: '>', threshold: 0.5, severity: 'critical', channels: ['ops'], for: '5m', description: 'd' },
        { name: 'LowAccuracy', metric: 'mlops_accuracy', labels: { model: 'iris', version: 3 }, op: '<', threshold: 0.8, channels: 'ops, mail' },
      ],
    });
    expect(rules[0]).toEqual({ name: 'HighErrors', query: 'sum(rate(mlops_errors_total[5m]))', op: '>', threshold: 0.5, severity: 'critical', channels: ['ops'], for: '5m', description: 'd' });
    expect(rules[1]).toEqual({ name: 'LowAccuracy', query: 'mlops_accuracy{model="iris",version="3"}', op: '<', threshold: 0.8, severity: 'warning', channels: ['ops', 'mail'] });
  });

  it.each([
    [{}, 'rules.yaml must hold a rules: list'],
    [{ rules: [] }, 'rules.yaml: rules is empty'],
    [{ rules: [{ name: 'bad name', query: 'x', op: '>', threshold: 1 }] }, 'rules.yaml: rules[0].name must be letters, digits and _ starting with a letter, got "bad name"'],
    [{ rules: [{ name: 'R', op: '>', threshold: 1 }] }, 'rules.yaml: rules[0] (R).query is required (a PromQL expression), or give metric and labels'],
    [{ rules: [{ name: 'R', query: 'x', metric: 'y', op: '>', threshold: 1 }] }, 'rules.yaml: rules[0] (R).query and metric/labels are both set: use one way to say what to measure'],
    [{ rules: [{ name: 'R', query: 'x', op: '=>', threshold: 1 }] }, 'rules.yaml: rules[0] (R).op must be one of > < >= <= == != or gt lt ge le eq ne, got "=>"'],
    [{ rules: [{ name: 'R', query: 'x', op: '', threshold: 1 }] }, 'rules.yaml: rules[0] (R).op is empty: an unquoted > in YAML starts a block'],
    [{ rules: [{ name: 'R', query: 'x', op: '>', threshold: '5%' }] }, 'rules.yaml: rules[0] (R).threshold must be a number, got "5%"'],
    [{ rules: [{ name: 'R', query: 'x', op: '>', threshold: 1, severity: 'page' }] }, 'rules.yaml: rules[0] (R).severity must be one of info, warning, critical, got "page"'],
    [{ rules: [{ name: 'R', query: 'x', op: '>', threshold: 1, for: '5 minutes' }] }, 'rules.yaml: rules[0] (R).for must be a Prometheus duration like 5m, got "5 minutes"'],
    [{ rules: [{ name: 'R', query: 'x', op: '>', threshold: 1, chanels: ['a'] }] }, 'rules.yaml: rules[0] (R).chanels is not a rule field'],
    [{ rules: [{ name: 'R', metric: 'm', labels: { 'a-b': 'x' }, op: '>', threshold: 1 }] }, 'rules.yaml: rules[0] (R).labels.a-b is not a valid label name'],
    [{ rules: [{ name: 'R', query: 'x', op: '>', threshold: 1 }, { name: 'R', query: 'y', op: '<', threshold: 2 }] }, 'rules.yaml: rule name R is used twice'],
  ])('rejects %j', (document, message) => {
    expect(usageMessage(() => parseRules(document, 'rules.yaml'))).toBe(message);
  });
});

describe('selectorQuery', () => {
  it('escapes label values as PromQL strings', () => {
    expect(selectorQuery('m', { a: 'say "hi"\\' })).toBe('m{a="say \\"hi\\"\\\\"}');
    expect(selectorQuery('m')).toBe('m');
  });
});

describe('compare', () => {
  it('applies each operator, and NaN never crosses', () => {
    expect([compare(2, '>', 1), compare(1, '>', 1), compare(1, '>=', 1), compare(0, '<', 1), compare(1, '<=', 1), compare(1, '==', 1), compare(2, '!=', 1)]).toEqual([true, false, true, true, true, true, true]);
    expect(['>', '<', '>=', '<=', '=='].map((op) => compare(Number.NaN, op as never, 1))).toEqual([false, false, false, false, false]);
  });
});

describe('evaluateRule', () => {
  const samples = (...values: [Record<string, string>, string][]) => ({
    ok: true as const,
    resultType: 'vector' as const,
    samples: values.map(([labels, text]) => ({ labels, text, value: sampleValue(text) })),
  });

  it('fires when any series crosses, and lists the crossing ones', () => {
    const result = evaluateRule(rule({ threshold: 0.05 }), samples([{ model: 'a' }, '0.01'], [{ model: 'b' }, '0.2'], [{ model: 'c' }, '+Inf']));
    expect(result.status).toBe('firing');
    expect(result.values.map((value) => value.crossed)).toEqual([false, true, true]);
    expect(result.message).toBe('2 of 3 series > 0.05: 0.2 {model="b"}, +Inf {model="c"}');
  });

  it('is ok when no series crosses, including NaN ratios', () => {
    expect(evaluateRule(rule(), samples([{}, '0.5'])).message).toBe('0.5, not > 1');
    const nan = evaluateRule(rule(), samples([{}, 'NaN']));
    expect(nan.status).toBe('ok');
    expect(nan.message).toContain('NaN');
  });

  it('reports empty results as no_data and failed queries as error', () => {
    expect(evaluateRule(rule(), samples()).status).toBe('no_data');
    expect(evaluateRule(rule(), { ok: false, error: 'parse error' })).toMatchObject({ status: 'error', message: 'parse error' });
  });

  it('builds one alert per rule from the worst series', () => {
    const r = rule({ op: '<', threshold: 0.8, summary: 'accuracy low', description: 'd' });
    const result = evaluateRule(r, samples([{ model: 'iris', version: '1' }, '0.7'], [{ model: 'iris', version: '2' }, '0.5']));
    const alert = ruleAlert(r, result, 'http://prom:9090');
    expect(alert).toMatchObject({ name: 'R', severity: 'warning', model: 'iris', version: '2', summary: 'accuracy low (2 series, worst 0.5)', description: 'd' });
    expect(alert.generatorURL).toBe('http://prom:9090/graph?g0.expr=x&g0.tab=1');
  });
});

describe('renderPrometheusRules', () => {
  it('writes alert, expr, for, severity and annotations', () => {
    const text = renderPrometheusRules([rule({ name: 'A', query: 'mlops_accuracy{model="iris"}', op: '<', threshold: 0.8, for: '5m', description: 'd' }), rule({ name: 'B', query: 'sum(x) / sum(y)' })]);
    const document = parse(text);
    expect(document.groups[0].name).toBe('mlops');
    expect(document.groups[0].rules[0]).toMatchObject({ alert: 'A', expr: 'mlops_accuracy{model="iris"} < 0.8', for: '5m', labels: { severity: 'warning' }, annotations: { description: 'd' } });
    expect(document.groups[0].rules[1].expr).toBe('(sum(x) / sum(y)) > 1');
    expect(document.groups[0].rules[1].for).toBeUndefined();
  });

  it('covers every default rule', () => {
    expect(defaultRules().map(ruleExpression)).toHaveLength(4);
    expect(parseRules(parse(renderRulesYaml(defaultRules())))).toEqual(defaultRules());
  });
});

describe('loadRules', () => {
  it('calls a missing file "rules file" with its flag (exit 3), and lists every problem with its line', async () => {
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { loadRules } = await import('../../src/monitor/rules.ts');
    const dir = await mkdtemp(join(tmpdir(), 'mlops-rules-'));
    try {
      await expect(loadRules(join(dir, 'nope.yaml'))).rejects.toMatchObject({ exitCode: 3, message: `rules file ${join(dir, 'nope.yaml')} (--rules) does not exist` });
      const file = join(dir, 'rules.yaml');
      await writeFile(file, 'rules:\n  - name: A\n    query: up\n    op: "=>"\n    threshold: x\n  - name: bad name\n    query: up\n  - name: C\n    query: up\n    op: gt\n    threshold: 1\n    chanels: [a]\n');
      const error = await loadRules(file).then(() => undefined, (e: Error) => e);
      expect(error?.message.split('\n')).toEqual([
        `${file} has 4 problems:`,
        `  ${file}:4: rules[0] (A).op must be one of > < >= <= == != or gt lt ge le eq ne, got "=>"`,
        `  ${file}:5: rules[0] (A).threshold must be a number, got "x"`,
        `  ${file}:6: rules[1].name must be letters, digits and _ starting with a letter, got "bad name"`,
        `  ${file}:12: rules[2] (C).chanels is not a rule field`,
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
