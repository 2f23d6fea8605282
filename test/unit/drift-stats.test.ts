// Drift statistics besides KS: chi-square, Jensen-Shannon and Wasserstein against scipy
// (fixtures from test/fixtures/drift/make_fixtures.py), PSI and the corrections by hand.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  benjaminiHochberg,
  binCounts,
  bonferroni,
  chiSquare,
  chiSquareSf,
  jensenShannon,
  logGamma,
  meanShift,
  moments,
  psi,
  psiNumeric,
  quantileEdges,
  wasserstein,
  wassersteinNormalized,
} from '../../src/drift/stats.ts';

interface StatsFixture {
  chi2Contingency: Array<{ reference: number[]; current: number[]; statistic: number; pValue: number; dof: number }>;
  chi2Sf: Array<{ dof: number; x: number; sf: number }>;
  jensenShannon: Array<{ p: number[]; q: number[]; distance: number }>;
  wasserstein: Array<{ a: number[]; b: number[]; distance: number }>;
}

const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/drift/stats.json', import.meta.url), 'utf8'),
) as StatsFixture;

const sorted = (values: number[]): Float64Array => Float64Array.from(values).sort();

describe('chi-square', () => {
  it('matches scipy.stats.chi2_contingency(correction=False)', () => {
    for (const c of fixture.chi2Contingency) {
      const result = chiSquare(c.reference, c.current);
      expect(result.dof).toBe(c.dof);
      expect(result.statistic).toBeCloseTo(c.statistic, 8);
      expect(Math.abs(result.pValue - c.pValue)).toBeLessThan(1e-10);
    }
  });

  it('has the survival function of scipy.stats.chi2', () => {
    for (const c of fixture.chi2Sf) {
      const got = chiSquareSf(c.x, c.dof);
      expect(Math.abs(got - c.sf)).toBeLessThan(1e-11);
      if (c.sf > 1e-300) expect(Math.abs(got - c.sf) / c.sf).toBeLessThan(1e-8);
    }
  });

  it('has nothing to test with one category or an empty side', () => {
    expect(chiSquare([10, 0], [5, 0])).toEqual({ statistic: 0, pValue: 1, dof: 0 });
    expect(chiSquare([10, 3], [0, 0]).pValue).toBe(1);
  });

  it('logGamma is right at integers and halves', () => {
    expect(logGamma(1)).toBeCloseTo(0, 13);
    expect(logGamma(5)).toBeCloseTo(Math.log(24), 13);
    expect(logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 13);
    expect(logGamma(171)).toBeCloseTo(706.5730622457874, 9);
  });
});

describe('distances', () => {
  it('Jensen-Shannon matches scipy.spatial.distance.jensenshannon(base=2)', () => {
    for (const c of fixture.jensenShannon) {
      expect(jensenShannon(c.p, c.q)).toBeCloseTo(c.distance, 12);
    }
    expect(jensenShannon([1, 0], [0, 1])).toBeCloseTo(1, 12);
    expect(jensenShannon([3, 3], [5, 5])).toBe(0);
  });

  it('Wasserstein matches scipy.stats.wasserstein_distance', () => {
    for (const c of fixture.wasserstein) {
      expect(wasserstein(sorted(c.a), sorted(c.b))).toBeCloseTo(c.distance, 10);
    }
  });

  it('normalises Wasserstein by the reference SD, so a 1-SD shift scores 1', () => {
    const reference = sorted([1, 2, 3, 4, 5, 6, 7, 8]);
    const std = moments(reference).std;
    const shifted = reference.map((v) => v + std);
    expect(wassersteinNormalized(reference, shifted)).toBeCloseTo(1, 12);
  });

  it('PSI: sum (c - r) ln(c / r) over bins, proportions floored at 1e-4', () => {
    expect(psi([50, 50], [80, 20])).toBeCloseTo(0.3 * Math.log(1.6) + -0.3 * Math.log(0.4), 12);
    expect(psi([100, 0], [50, 50])).toBeCloseTo(-0.5 * Math.log(0.5) + (0.5 - 1e-4) * Math.log(0.5 / 1e-4), 12);
    expect(psi([7, 3], [70, 30])).toBe(0);
  });

  it('bins numeric columns at the reference deciles and puts outliers in the end bins', () => {
    const reference = sorted(Array.from({ length: 100 }, (_, i) => i));
    const edges = quantileEdges(reference);
    expect(edges).toHaveLength(9);
    expect(binCounts(reference, edges)).toEqual([10, 10, 10, 10, 10, 10, 10, 10, 10, 10]);
    expect(binCounts(sorted([-1000, 1000]), edges)).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    expect(psiNumeric(reference, reference)).toBe(0);
    // A tied column gets fewer bins instead of empty ones.
    const tied = quantileEdges(sorted([0, 0, 0, 0, 0, 0, 0, 0, 1, 2]));
    expect(tied).toHaveLength(3);
    [0, 0.2, 1.1].forEach((edge, i) => expect(tied[i]).toBeCloseTo(edge, 12));
  });

  it('mean shift is in reference standard deviations', () => {
    expect(meanShift({ mean: 10, std: 2 }, { mean: 11, std: 5 })).toBe(0.5);
    expect(meanShift({ mean: 1, std: 0 }, { mean: 1, std: 0 })).toBe(0);
  });
});

describe('multiple-testing corrections', () => {
  it('Benjamini-Hochberg step-up, in input order', () => {
    const adjusted = benjaminiHochberg([0.01, 0.04, 0.03, 0.005]);
    expect(adjusted.map((p) => Number(p.toFixed(12)))).toEqual([0.02, 0.04, 0.04, 0.02]);
    expect(benjaminiHochberg([0.9, 0.8])).toEqual([0.9, 0.9]);
    expect(benjaminiHochberg([])).toEqual([]);
  });

  it('Bonferroni multiplies by the number of tests, capped at 1', () => {
    expect(bonferroni([0.01, 0.04, 0.5])).toEqual([0.03, 0.12, 1]);
  });
});
