// The statistics behind `mlops ab report`, checked against SciPy's values
// (scipy.stats on Debian, computed once and written here).
import { describe, expect, test } from 'vitest';
import { incompleteBeta, normalCdf, normalQuantile, samplesForMeans, samplesForProportions, studentTQuantile, studentTTwoSided, twoProportionTest, welchTTest } from '../../src/experiment/stats.js';

describe('distributions', () => {
  test('normal CDF', () => {
    expect(normalCdf(1.96)).toBeCloseTo(0.9750021048517795, 6);
    expect(normalCdf(-1.96)).toBeCloseTo(1 - 0.9750021048517795, 6);
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
  });

  test('normal quantile', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 8); // scipy.stats.norm.ppf
    expect(normalQuantile(0.8)).toBeCloseTo(0.8416212335729143, 8);
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232306167813, 7);
    expect(normalQuantile(0.5)).toBe(0);
  });

  test('regularized incomplete beta', () => {
    expect(incompleteBeta(0.5, 2, 3)).toBeCloseTo(0.6875, 10); // scipy.stats.beta.cdf(0.5, 2, 3)
    expect(incompleteBeta(0, 2, 3)).toBe(0);
    expect(incompleteBeta(1, 2, 3)).toBe(1);
    expect(incompleteBeta(0.9, 0.5, 0.5)).toBeCloseTo((2 / Math.PI) * Math.asin(Math.sqrt(0.9)), 8); // arcsine law
  });

  test("Student's t: two-sided p-value and quantile", () => {
    expect(studentTTwoSided(2.0, 10)).toBeCloseTo(0.07338803477074039, 8); // 2 * t.sf(2, 10)
    expect(studentTTwoSided(0, 10)).toBeCloseTo(1, 9);
    expect(studentTQuantile(0.975, 6.9723)).toBeCloseTo(2.3665299842855325, 4); // t.ppf(0.975, 6.9723)
    expect(studentTQuantile(0.975, 1e7)).toBeCloseTo(1.959964, 4);
  });
});

describe('tests', () => {
  test('two-proportion z-test equals the 2x2 chi-square without continuity correction', () => {
    // chi2_contingency([[45, 55], [60, 40]], correction=False) -> chi2 4.5113, p 0.033672
    const result = twoProportionTest(45, 100, 60, 100, 0.05);
    expect(result.statistic ** 2).toBeCloseTo(4.511278195488721, 6);
    expect(result.pValue).toBeCloseTo(0.033672068856345896, 5);
    expect(result.difference).toBeCloseTo(0.15, 12);
    expect(result.ci[0]).toBeGreaterThan(0);
    expect(result.ci[1]).toBeLessThan(0.3);
  });

  test("Welch's t-test matches scipy.stats.ttest_ind(equal_var=False)", () => {
    const result = welchTTest([1, 2, 3, 4, 5], [2, 4, 6, 8, 10, 12], 0.05);
    expect(result.statistic).toBeCloseTo(2.3763541031440183, 8);
    expect(result.pValue).toBeCloseTo(0.04928433820673049, 6);
    expect(result.df).toBeCloseTo(6.9723, 3);
    // CI = diff +- t(0.975, df) * se
    expect(result.ci[0]).toBeCloseTo(4 - 2.3665299842855325 * Math.sqrt(0.5 + 14 / 6), 3);
  });

  test('identical samples: no difference, p = 1', () => {
    expect(welchTTest([3, 3, 3], [3, 3, 3], 0.05)).toMatchObject({ difference: 0, pValue: 1 });
    expect(twoProportionTest(0, 50, 0, 50, 0.05).pValue).toBe(1);
  });
});

describe('sample sizes (power)', () => {
  test('proportions: 80% vs 85% at alpha 0.05, power 0.8 needs 906 per group (Fleiss, no correction)', () => {
    expect(samplesForProportions(0.8, 0.85, 0.05, 0.8)).toBe(906);
    expect(samplesForProportions(0.5, 0.5, 0.05)).toBe(Infinity);
  });

  test('means: a one-SD difference needs 16 per group (the classic 2 (z_a + z_b)^2)', () => {
    expect(samplesForMeans(1, 1, 0.05, 0.8)).toBe(16);
    expect(samplesForMeans(0.5, 1, 0.05, 0.8)).toBe(63);
  });
});
