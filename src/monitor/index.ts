// The monitor capability: threshold rules checked against Prometheus, and the same rules as a Prometheus rules file.
export { checkRules, evaluateRule, ruleAlert, type CheckOptions, type CheckResult, type MonitorEvent, type RuleResult, type RuleStatus, type RuleValue } from './check.js';
export { PrometheusClient, checkPrometheusUrl, sampleValue, type QueryAnswer, type Sample } from './prometheus.js';
export { defaultRules, loadRules, parseRules, renderRulesYaml, selectorQuery, type MonitorRule } from './rules.js';
export { checkRulesWithPromtool, renderPrometheusRules, ruleExpression } from './rules-file.js';
