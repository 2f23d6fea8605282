// The two-sample KS test against scipy 1.10's ks_2samp (method='auto', two-sided).
// The expected values are scipy's own output, stored in test/fixtures/drift/*.json. To regenerate
// them (seeded, so the files come out the same):
//
//   /usr/bin/python3 test/fixtures/drift/make_fixtures.py
//
// (Debian's python3 has scipy and numpy; the pyenv python3 on PATH does not.)
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { kolmogorovSf, smirnovSf } from '../../src/drift/kolmogorov.ts';
import { KS_EXACT_MAX_N, ksPValue, ksProbability, ksTwoSample, roundHalfEven } from '../../src/drift/ks.ts';
import { sortFloat64 } from '../../src/drift/sort.ts';
import { seededRandom } from '../../src/random.js';

const FIXTURES = new URL('../fixtures/drift/', import.meta.url);
const TOLERANCE = 1e-6;

function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as T;
}

type Sample = number[] | { values: number[]; counts: number[] };

interface SampleCase {
  name: string;
  n1: number;
  n2: number;
  statistic: number;
  pValue: number;
  a: Sample;
  b: Sample;
}

/** A stored sample as an ascending Float64Array (compact samples are distinct values with counts). */
function expand(sample: Sample): Float64Array {
  if (Array.isArray(sample)) return Float64Array.from(sample).sort();
  const total = sample.counts.reduce((s, c) => s + c, 0);
  const out = new Float64Array(total);
  let at = 0;
  sample.values.forEach((value, i) => {
    out.fill(value, at, at + sample.counts[i]!);
    at += sample.counts[i]!;
  });
  return out;
}

describe('ksTwoSample against scipy.stats.ks_2samp on stored samples', () => {
  const cases = fixture<{ cases: SampleCase[] }>('ks-samples.json').cases;

  it('covers sizes from 3 to 1,000,000, ties, equal and unequal sizes', () => {
    expect(Math.min(...cases.map((c) => Math.min(c.n1, c.n2)))).toBe(3);
    expect(Math.max(...cases.map((c) => Math.max(c.n1, c.n2)))).toBe(1_000_000);
    expect(cases.some((c) => c.n1 === c.n2)).toBe(true);
    expect(cases.some((c) => c.name.startsWith('ties'))).toBe(true);
  });

  for (const c of cases) {
    it(`${c.name}: same statistic, p-value within 1e-6`, () => {
      const a = expand(c.a);
      const b = expand(c.b);
      expect(a.length).toBe(c.n1);
      expect(b.length).toBe(c.n2);
      const result = ksTwoSample(a, b);
      expect(result.statistic).toBeCloseTo(c.statistic, 12);
      expect(Math.abs(result.pValue - c.pValue)).toBeLessThanOrEqual(TOLERANCE);
      expect(result.method).toBe(Math.max(c.n1, c.n2) <= KS_EXACT_MAX_N ? 'exact' : 'asymptotic');
      // The statistic is symmetric in the two samples, and so is the p-value.
      expect(Math.abs(ksTwoSample(b, a).pValue - c.pValue)).toBeLessThanOrEqual(TOLERANCE);
    });
  }
});

describe('ksPValue against scipy on (D, n1, n2) across the whole range', () => {
  const cases = fixture<{ cases: Array<{ n1: number; n2: number; d: number; pValue: number; method: string }> }>(
    'ks-pvalues.json',
  ).cases;

  it('has cases on both sides of the exact/asymptotic switch and p-values from ~1 to tiny', () => {
    expect(cases.some((c) => c.method === 'exact')).toBe(true);
    expect(cases.some((c) => c.method === 'asymp')).toBe(true);
    expect(cases.some((c) => c.pValue > 0.9)).toBe(true);
    expect(cases.some((c) => c.pValue < 1e-10)).toBe(true);
  });

  const bySize = new Map<string, typeof cases>();
  for (const c of cases) {
    const key = `${c.n1}x${c.n2}`;
    bySize.set(key, [...(bySize.get(key) ?? []), c]);
  }
  for (const [size, group] of bySize) {
    it(`${size}: p-values within 1e-6 of scipy, same method`, () => {
      for (const c of group) {
        const result = ksProbability(c.d, c.n1, c.n2);
        const error = Math.abs(result.pValue - c.pValue);
        if (error > TOLERANCE) throw new Error(`d=${c.d}: got ${result.pValue}, scipy ${c.pValue}`);
        expect(result.method).toBe(c.method === 'exact' ? 'exact' : 'asymptotic');
      }
    });
  }
});

describe('kolmogorovSf against scipy.stats.kstwo.sf', () => {
  const cases = fixture<{ cases: Array<{ n: number; x: number; sf: number }> }>('kstwo-sf.json').cases;

  it('agrees within 1e-9 on every branch (Ruben-Gambino, Durbin, Pomeranz, Smirnov, Pelz-Good)', () => {
    let worst = 0;
    for (const c of cases) {
      const error = Math.abs(kolmogorovSf(c.n, c.x) - c.sf);
      if (error > 1e-9) throw new Error(`n=${c.n} x=${c.x}: got ${kolmogorovSf(c.n, c.x)}, scipy ${c.sf}`);
      worst = Math.max(worst, error);
    }
    expect(worst).toBeLessThan(1e-9);
  });

  it('has the support and limits of a survival function', () => {
    expect(kolmogorovSf(10, 0)).toBe(1);
    expect(kolmogorovSf(10, 0.05)).toBe(1); // below 1/(2n)
    expect(kolmogorovSf(10, 1)).toBe(0);
    expect(Number.isNaN(kolmogorovSf(0, 0.5))).toBe(true);
    expect(smirnovSf(1, 0.3)).toBeCloseTo(0.7, 15);
  });
});

describe('the exact / asymptotic switch sits where scipy puts it', () => {
  it('is exact up to max(n1, n2) = 10,000 and asymptotic from 10,001', () => {
    expect(ksProbability(0.02, 10_000, 10_000).method).toBe('exact');
    expect(ksProbability(0.02, 10_000, 9_999).method).toBe('exact');
    expect(ksProbability(0.02, 10_001, 10_000).method).toBe('asymptotic');
    expect(ksProbability(0.5, 10_001, 3).method).toBe('asymptotic');
  });

  it('reports p = 1 for a zero statistic and is symmetric in the sizes', () => {
    expect(ksPValue(0, 40, 50)).toBe(1);
    expect(ksPValue(0.3, 40, 50)).toBe(ksPValue(0.3, 50, 40));
  });

  it('rounds halves to even, like numpy', () => {
    expect([0.5, 1.5, 2.5, 3.5, -1.5, 2.4, 2.6].map(roundHalfEven)).toEqual([0, 2, 2, 4, -2, 2, 3]);
  });

  it('rejects empty samples', () => {
    expect(() => ksTwoSample(new Float64Array(0), new Float64Array([1]))).toThrow(RangeError);
  });
});

describe('sortFloat64 (radix sort on the IEEE bits)', () => {
    it('orders like Float64Array.prototype.sort, with negatives, zeros, ties, tiny and huge values', () => {
    const random = seededRandom(7);
    const n = 50_000;
    const values = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const r = random();
      if (r < 0.05) values[i] = 0;
      else if (r < 0.07) values[i] = -0;
      else if (r < 0.08) values[i] = random() < 0.5 ? Infinity : -Infinity;
      else if (r < 0.2) values[i] = Math.round((random() - 0.5) * 10);
      else values[i] = (random() - 0.5) * 10 ** (random() * 40 - 20);
    }
    const expected = Float64Array.from(values).sort();
    const got = sortFloat64(Float64Array.from(values));
    for (let i = 0; i < n; i++) {
      if (!Object.is(got[i], expected[i])) throw new Error(`index ${i}: ${got[i]} vs ${expected[i]}`);
    }
  });

  it('sorts short arrays and subarray views in place', () => {
    const buffer = Float64Array.from([9, 3, 2, 1, 8, 7]);
    sortFloat64(buffer.subarray(1, 5));
    expect([...buffer]).toEqual([9, 1, 2, 3, 8, 7]);
    const big = new Float64Array(2000).map((_, i) => (i * 7919) % 2000);
    const view = big.subarray(500, 1500);
    sortFloat64(view);
    for (let i = 1; i < view.length; i++) expect(view[i]!).toBeGreaterThanOrEqual(view[i - 1]!);
    expect(big[0]).toBe(0);
  });
});
