// The pure parts of the registry lifecycle: alias names in references, tag edits,
// durations, and list's filters and order.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { parseDuration } from '../../src/registry/gc.js';
import { parseTagEdit } from '../../src/registry/lifecycle.js';
import { isAliasRef, parseModelRef, validateAlias } from '../../src/registry/names.js';
import { applyQuery, parseRequirement } from '../../src/registry/query.js';
import type { VersionRecord } from '../../src/registry/types.js';

describe('references with aliases', () => {
  it('reads NAME@ALIAS beside versions and stages', () => {
    expect(parseModelRef('fraud@champion')).toEqual({ name: 'fraud', ref: 'champion' });
    expect(parseModelRef('fraud@1.2.0')).toEqual({ name: 'fraud', ref: 'v1.2.0' });
    expect(parseModelRef('fraud@production')).toEqual({ name: 'fraud', ref: 'production' });
    expect(isAliasRef('champion')).toBe(true);
    expect(isAliasRef('v1.0.0')).toBe(false);
    expect(isAliasRef('latest')).toBe(false);
  });

  it('a reference that is neither a version nor an alias is exit 2', () => {
    for (const text of ['fraud@v1', 'fraud@1.x', 'fraud@Champion', 'fraud@a/b', 'fraud@archived', 'fraud@']) expect(() => parseModelRef(text), text).toThrow(UsageError);
  });

  it('alias names: reserved stages and version-like names are refused with a hint', () => {
    expect(validateAlias('champion')).toBe('champion');
    expect(validateAlias('challenger-2')).toBe('challenger-2');
    for (const name of ['production', 'staging', 'latest', 'archived']) expect(() => validateAlias(name)).toThrow(/reserved/);
    for (const name of ['v2', '1a', 'Champ', '-x', 'a'.repeat(64), '']) expect(() => validateAlias(name), name).toThrow(/invalid alias/);
  });
});

describe('tag edits and durations', () => {
  it('parses KEY=VALUE pairs (values may hold =) and --rm keys', () => {
    expect(parseTagEdit(['team=risk', 'query=a=b', 'empty='], ['old'])).toEqual({ set: { team: 'risk', query: 'a=b', empty: '' }, remove: ['old'] });
    for (const [pairs, rm] of [[['novalue'], []], [['=x'], []], [[], []], [[], ['a b']]] as Array<[string[], string[]]>) expect(() => parseTagEdit(pairs, rm)).toThrow(UsageError);
  });

  it('durations with units', () => {
    expect(parseDuration('90s', '--since')).toBe(90_000);
    expect(parseDuration('1h', '--grace')).toBe(3_600_000);
    expect(parseDuration('7d', '--since')).toBe(7 * 86_400_000);
    expect(parseDuration('0s', '--grace')).toBe(0);
    for (const bad of ['', 'soon', '-1h', '1y', '1 h x']) expect(() => parseDuration(bad, '--since'), bad).toThrow(UsageError);
  });
});

describe('list filters and order', () => {
  const record = (version: string, created: string, metrics: Record<string, number>, extra: Partial<VersionRecord> = {}) =>
    ({ name: 'm', version, created_at: created, metrics, tags: {}, aliases: [], status: 'staging', ...extra }) as unknown as VersionRecord;
  const records = [
    record('v1.0.0', '2026-01-01', { accuracy: 0.9 }, { tags: { team: 'a' } }),
    record('v1.0.1', '2026-01-03', { accuracy: 0.95 }, { aliases: ['champion'] }),
    record('v1.0.2', '2026-01-02', {}),
    record('v1.1.0', '2026-01-04', { accuracy: 0.8 }, { tags: { team: 'a' } }),
  ];
  const versions = (out: VersionRecord[]) => out.map((r) => r.version);

  it('sorts by a metric either way with versions lacking it last, by created, and limits', () => {
    expect(versions(applyQuery(records, { sort: '-accuracy' }))).toEqual(['v1.0.1', 'v1.0.0', 'v1.1.0', 'v1.0.2']);
    expect(versions(applyQuery(records, { sort: 'accuracy' }))).toEqual(['v1.1.0', 'v1.0.0', 'v1.0.1', 'v1.0.2']);
    expect(versions(applyQuery(records, { sort: '-created', limit: 2 }))).toEqual(['v1.1.0', 'v1.0.1']);
  });

  it('filters by tag, alias and --where (a version without the metric never matches)', () => {
    expect(versions(applyQuery(records, { tags: [['team', 'a']] }))).toEqual(['v1.0.0', 'v1.1.0']);
    expect(versions(applyQuery(records, { alias: true }))).toEqual(['v1.0.1']);
    expect(versions(applyQuery(records, { alias: 'other' }))).toEqual([]);
    expect(versions(applyQuery(records, { where: [parseRequirement('accuracy>=0.9')] }))).toEqual(['v1.0.0', 'v1.0.1']);
    expect(versions(applyQuery(records, { where: [parseRequirement('accuracy<0.9')] }))).toEqual(['v1.1.0']);
  });
});
