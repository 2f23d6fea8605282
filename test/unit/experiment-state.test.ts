// The live experiment in a model's state: the state parser keeps fields it does not own
// (another feature's, and the experiment), variant flags, a hand-edited experiment, the
// winner rule of `experiment conclude`, the shadow sample and the shadow comparison.
import { describe, expect, it } from 'vitest';
import type { AbReport, Comparison } from '../../src/experiment/analyze.js';
import { pickWinner } from '../../src/experiment/conclude.js';
import { experimentOf, parseVariantFlag, withExperiment } from '../../src/registry/experiment-state.js';
import { emptyState, formatState, parseState } from '../../src/registry/records.js';
import { compareAnswers } from '../../src/serve/predictor.js';
import { shadowSampled } from '../../src/serve/routing.js';

const experiment = {
  name: 'fraud',
  variants: [
    { name: 'v1.0.0', ref: 'production', version: 'v1.0.0', weight: 90 },
    { name: 'v1.1.0', ref: '@challenger', version: 'v1.1.0', weight: 10 },
  ],
  shadow: { ref: 'v1.2.0', version: 'v1.2.0', fraction: 0.1 },
  sticky: 'user_id',
  started_at: '2026-12-04T00:00:00.000Z',
  started_by: 'ann',
  updated_at: '2026-12-04T00:00:00.000Z',
};

describe('model state with an experiment', () => {
  it('round-trips the experiment and keeps fields it does not know (tags from another feature)', async () => {
    const text = `format: 2\nname: fraud\nproduction: v1.0.0\narchived: []\naliases: {challenger: v1.1.0}\nchanges: []\ntags: {team: risk}\n`;
    const state = await parseState(text, 'state.yaml', 'fraud');
    expect(state.extra).toEqual({ tags: { team: 'risk' } });
    const next = withExperiment(state, experiment);
    const again = await parseState(await formatState(next), 'state.yaml', 'fraud');
    expect(again.extra).toEqual({ tags: { team: 'risk' }, experiment });
    expect(experimentOf(again)).toEqual(experiment);
    expect(again.aliases).toEqual({ challenger: 'v1.1.0' });
    const stopped = await parseState(await formatState(withExperiment(again, undefined)), 'state.yaml', 'fraud');
    expect(stopped.extra).toEqual({ tags: { team: 'risk' } });
    expect(experimentOf(stopped)).toBeUndefined();
  });

  it('a hand-edited experiment is a clean usage error, not a crash', () => {
    for (const bad of [
      { name: 'x' },
      { name: 'x', variants: [{ version: '../x', weight: 1 }] },
      { name: 'x', variants: [{ version: 'v1.0.0', weight: 0 }] },
      { ...experiment, shadow: { version: 'v1.2.0', fraction: 2 } },
      'text',
    ]) {
      expect(() => experimentOf({ ...emptyState('fraud'), extra: { experiment: bad } })).toThrow(expect.objectContaining({ exitCode: 2 }));
    }
  });

  it('parses --variant flags', () => {
    expect(parseVariantFlag('v1.0.0=90')).toEqual({ ref: 'v1.0.0', weight: 90 });
    expect(parseVariantFlag('@challenger=2.5')).toEqual({ ref: '@challenger', weight: 2.5 });
    for (const bad of ['v1.0.0', '=5', 'v1=-1', 'v1=x', 'v1=']) expect(() => parseVariantFlag(bad)).toThrow(expect.objectContaining({ exitCode: 2 }));
  });
});

const comparison = (over: Partial<Comparison>): Comparison => ({
  metric: 'accuracy',
  test: 'two-proportion z-test',
  control: 'v1',
  treatment: 'v2',
  controlValue: 0.8,
  treatmentValue: 0.9,
  difference: 0.1,
  ci: [0.05, 0.15],
  pValue: 0.001,
  alpha: 0.05,
  significant: true,
  verdict: '',
  ...over,
});
const report = (comparisons: Comparison[], variants = 2) =>
  ({ comparisons, variants: Array.from({ length: variants }, (_, i) => ({ variant: `v${i + 1}` })) }) as unknown as AbReport;

describe('the winner of conclude', () => {
  it('a treatment significantly better wins; the control wins only when better than every treatment', () => {
    expect(pickWinner(report([comparison({})]), 'accuracy')).toBe('v2');
    expect(pickWinner(report([comparison({ difference: -0.1, treatmentValue: 0.7 })]), 'accuracy')).toBe('v1');
    expect(pickWinner(report([comparison({ significant: false, pValue: 0.4 })]), 'accuracy')).toBeUndefined();
    expect(pickWinner(report([comparison({})]), 'mean_outcome')).toBeUndefined();
    // one comparison still waiting for data: no winner
    expect(pickWinner(report([comparison({})], 3), 'accuracy')).toBeUndefined();
    expect(pickWinner(report([comparison({ difference: -0.1 }), comparison({ treatment: 'v3', significant: false })], 3), 'accuracy')).toBeUndefined();
    expect(pickWinner(report([comparison({}), comparison({ treatment: 'v3', treatmentValue: 0.95, difference: 0.15 })], 3), 'accuracy')).toBe('v3');
  });
});

describe('shadow sample and comparison', () => {
  it('samples a request id the same way every time, close to the fraction', () => {
    const ids = Array.from({ length: 20_000 }, (_, i) => `req-${i}`);
    const share = ids.filter((id) => shadowSampled(id, 0.1)).length / ids.length;
    expect(Math.abs(share - 0.1)).toBeLessThan(0.01);
    expect(ids.map((id) => shadowSampled(id, 0.1))).toEqual(ids.map((id) => shadowSampled(id, 0.1)));
    expect(ids.every((id) => shadowSampled(id, 1))).toBe(true);
  });

  it('counts agreeing classes and sums the score difference', () => {
    expect(compareAnswers({ predictions: [1, 0, 1], probabilities: [0.9, 0.2, 0.6] }, { predictions: [1, 1, 1], probabilities: [0.8, 0.7, 0.6] })).toEqual({
      agreed: 2,
      scoreDiff: expect.closeTo(0.6, 9),
    });
    expect(compareAnswers({ predictions: [2.5] }, { predictions: [3] })).toEqual({ agreed: 0, scoreDiff: 0.5 });
    expect(compareAnswers({ predictions: ['a'], probabilities: [[0.5, 0.5]] }, { predictions: ['a'], probabilities: [[0.7, 0.3]] })).toEqual({
      agreed: 1,
      scoreDiff: expect.closeTo(0.2, 9),
    });
  });
});
