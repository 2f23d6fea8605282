// Pure parts of the registry: names, versions, gates, promotion and rollback plans.
import { describe, expect, it } from 'vitest';
import { compareVersions, nextPatch, normalizeVersion, parseModelRef, validateName } from '../../src/registry/names.js';
import { lowerIsBetter, parseRequirement, planPromotion, planRollback } from '../../src/registry/promote.js';
import type { HistoryEntry, Status, VersionRecord } from '../../src/registry/types.js';
import { MlopsError } from '../../src/errors.js';

function record(version: string, status: Status, metrics: Record<string, number> = {}, history: HistoryEntry[] = []): VersionRecord {
  return {
    name: 'fraud',
    version,
    created_at: '2026-01-01T00:00:00.000Z',
    status,
    artifact: { file: 'm.onnx', size: 1, sha256: 'x' },
    signature: { inputs: [], outputs: [] },
    metrics,
    tags: {},
    description: '',
    registered_by: 't',
    source: { path: '/m.onnx' },
    history: history.length ? history : [{ at: '2026-01-01T00:00:00.000Z', by: 't', event: 'registered', status: 'staging' }],
  };
}

const at = (minute: number) => `2026-01-01T00:${String(minute).padStart(2, '0')}:00.000Z`;

describe('names and versions', () => {
  it('accepts good names and refuses path tricks with exit 2', () => {
    expect(validateName('fraud-detector_2.v')).toBe('fraud-detector_2.v');
    for (const bad of ['../etc', 'a/b', 'Fraud', '', '-x', 'a..b', 'x'.repeat(64), 'a b', 'a\\b']) {
      expect(() => validateName(bad), bad).toThrowError(MlopsError);
      try {
        validateName(bad);
      } catch (error) {
        expect((error as MlopsError).exitCode).toBe(2);
      }
    }
  });

  it('normalizes versions and orders them semantically', () => {
    expect(normalizeVersion('1.2.3')).toBe('v1.2.3');
    expect(normalizeVersion('v2.0.0-rc.1')).toBe('v2.0.0-rc.1');
    for (const bad of ['latest', 'v1', '1.2', 'v1.2.3/..', '../v1.0.0', 'v01.2.3']) expect(() => normalizeVersion(bad), bad).toThrow();
    const sorted = ['v1.10.0', 'v1.2.0', 'v1.2.0-rc.2', 'v1.2.0-rc.10', 'v0.9.9', 'v1.2.0-alpha'].sort(compareVersions);
    expect(sorted).toEqual(['v0.9.9', 'v1.2.0-alpha', 'v1.2.0-rc.2', 'v1.2.0-rc.10', 'v1.2.0', 'v1.10.0']);
  });

  it('picks the next patch after the highest version', () => {
    expect(nextPatch([])).toBe('v1.0.0');
    expect(nextPatch(['v1.0.0', 'v1.10.2', 'v1.9.0'])).toBe('v1.10.3');
    expect(nextPatch(['v1.0.0', 'v2.0.0-rc.1'])).toBe('v2.0.0');
  });

  it('parses references', () => {
    expect(parseModelRef('fraud')).toEqual({ name: 'fraud' });
    expect(parseModelRef('fraud@production')).toEqual({ name: 'fraud', ref: 'production' });
    expect(parseModelRef('fraud@1.0.0')).toEqual({ name: 'fraud', ref: 'v1.0.0' });
    expect(() => parseModelRef('fraud@')).toThrow(/nothing after/);
  });
});

describe('promotion gates', () => {
  it('parses requirements and refuses garbage', () => {
    expect(parseRequirement('accuracy>=0.9')).toEqual({ metric: 'accuracy', op: '>=', value: 0.9 });
    expect(parseRequirement('loss < 0.2')).toEqual({ metric: 'loss', op: '<', value: 0.2 });
    for (const bad of ['accuracy', '>=0.9', 'accuracy>=high', 'accuracy=>0.9']) expect(() => parseRequirement(bad), bad).toThrow(/requirement/);
  });

  it('knows which metrics are better lower', () => {
    expect(lowerIsBetter('val_loss')).toBe(true);
    expect(lowerIsBetter('p99_latency_ms')).toBe(true);
    expect(lowerIsBetter('accuracy')).toBe(false);
  });

  it('archives the old production version and names each failing gate with both values', () => {
    const versions = [record('v1.0.0', 'production', { accuracy: 0.9, f1_score: 0.8, loss: 0.3 }), record('v1.0.1', 'staging', { accuracy: 0.85, f1_score: 0.82, loss: 0.35 })];
    const plan = planPromotion(versions, {
      name: 'fraud',
      version: 'v1.0.1',
      to: 'production',
      require: [parseRequirement('accuracy>=0.88'), parseRequirement('auc_roc>=0.5')],
      noRegress: ['f1_score', 'loss'],
    });
    expect(plan.changes).toEqual([
      { version: 'v1.0.0', from: 'production', to: 'archived' },
      { version: 'v1.0.1', from: 'staging', to: 'production' },
    ]);
    expect(plan.passed).toBe(false);
    const failed = plan.gates.filter((g) => !g.passed).map((g) => g.message);
    expect(failed).toHaveLength(3);
    expect(failed[0]).toContain('0.85');
    expect(failed[0]).toContain('0.88');
    expect(failed[1]).toMatch(/auc_roc is not recorded/);
    expect(failed[2]).toMatch(/loss 0.35 .* worse than 0.3/);
    expect(plan.gates.find((g) => g.gate === 'no-regress f1_score')?.passed).toBe(true);
  });

  it('plans nothing when the version already has the status', () => {
    const plan = planPromotion([record('v1.0.0', 'production')], { name: 'fraud', version: 'v1.0.0', to: 'production' });
    expect(plan.changes).toEqual([]);
    expect(plan.passed).toBe(true);
  });
});

describe('rollback plan', () => {
  it('returns to the previous production version, skipping versions rolled back from', () => {
    const prod = (minute: number): HistoryEntry => ({ at: at(minute), by: 't', event: 'promoted', status: 'production', from: 'staging' });
    const archived = (minute: number, event: HistoryEntry['event'] = 'promoted'): HistoryEntry => ({ at: at(minute), by: 't', event, status: 'archived', from: 'production' });
    const versions = [
      record('v1.0.0', 'archived', {}, [prod(1), archived(2)]),
      record('v1.0.1', 'archived', {}, [prod(2), archived(3, 'rolled_back')]),
      record('v1.0.2', 'production', {}, [prod(4)]),
      record('v1.0.3', 'staging'),
    ];
    // v1.0.1 was rolled back from earlier; the one before it that is eligible is v1.0.0.
    expect(planRollback('fraud', versions)).toMatchObject({ from: 'v1.0.2', to: 'v1.0.0' });
    expect(() => planRollback('fraud', [record('v1.0.0', 'production', {}, [prod(1)])])).toThrow(/no earlier production version/);
    expect(() => planRollback('fraud', [record('v1.0.0', 'staging')])).toThrow(/no production version/);
  });
});
