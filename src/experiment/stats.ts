// The tests behind `mlops ab report`: two-proportion z-test for rates, Welch's t-test for
// means, their confidence intervals, and the sample size a difference needs (power).
import { errorFunction, gammaln, mean, sampleVariance } from 'simple-statistics';

/** Standard normal CDF. */
export function normalCdf(z: number): number {
  return z >= 0 ? 0.5 * (1 + errorFunction(z / Math.SQRT2)) : 0.5 * (1 - errorFunction(-z / Math.SQRT2));
}

/**
 * Standard normal quantile, by Acklam's rational approximation (relative error < 1.2e-9).
 * Not simple-statistics' probit: its inverse error function is off by 3e-3 at 0.975
 * (1.9572 instead of 1.9600), which moves sample sizes by a few percent.
 */
export function normalQuantile(p: number): number {
  if (p <= 0) return -Infinity;
  if (p >= 1) return Infinity;
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q: number) => (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

/**
 * Regularized incomplete beta I_x(a, b) by its continued fraction (modified Lentz),
 * using the symmetry I_x(a, b) = 1 - I_{1-x}(b, a) where the fraction converges slowly.
 */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(gammaln(a + b) - gammaln(a) - gammaln(b) + a * Math.log(x) + b * Math.log(1 - x));
  if (x > (a + 1) / (a + b + 2)) return 1 - (front * continuedFraction(1 - x, b, a)) / b;
  return (front * continuedFraction(x, a, b)) / a;
}

function continuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let result = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let step = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + step * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + step / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    result *= d * c;
    step = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + step * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + step / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    result *= delta;
    if (Math.abs(delta - 1) < 1e-12) break;
  }
  return result;
}

/** Two-sided p-value of Student's t with `df` degrees of freedom. */
export function studentTTwoSided(t: number, df: number): number {
  if (!Number.isFinite(t)) return 0;
  return incompleteBeta(df / (df + t * t), df / 2, 0.5);
}

/** Student's t quantile by bisection on the CDF (only for confidence intervals). */
export function studentTQuantile(p: number, df: number): number {
  if (df > 1e6) return normalQuantile(p);
  const target = 2 * (1 - p); // two-sided tail mass beyond the quantile
  let low = 0;
  let high = 1e3;
  for (let i = 0; i < 200; i++) {
    const mid = (low + high) / 2;
    if (studentTTwoSided(mid, df) > target) low = mid;
    else high = mid;
  }
  return (low + high) / 2;
}

export interface TestResult {
  /** treatment - control */
  difference: number;
  ci: [number, number];
  pValue: number;
  statistic: number;
}

/**
 * Two-proportion z-test (pooled standard error for the test, unpooled for the interval),
 * the same as a 2x2 chi-square test without continuity correction.
 */
export function twoProportionTest(successA: number, totalA: number, successB: number, totalB: number, alpha: number): TestResult {
  const pA = successA / totalA;
  const pB = successB / totalB;
  const pooled = (successA + successB) / (totalA + totalB);
  const seTest = Math.sqrt(pooled * (1 - pooled) * (1 / totalA + 1 / totalB));
  const difference = pB - pA;
  const z = seTest > 0 ? difference / seTest : 0;
  const pValue = seTest > 0 ? 2 * (1 - normalCdf(Math.abs(z))) : 1;
  const seInterval = Math.sqrt((pA * (1 - pA)) / totalA + (pB * (1 - pB)) / totalB);
  const margin = normalQuantile(1 - alpha / 2) * seInterval;
  return { difference, ci: [difference - margin, difference + margin], pValue, statistic: z };
}

/** Welch's t-test (unequal variances) with the Welch–Satterthwaite degrees of freedom. */
export function welchTTest(control: readonly number[], treatment: readonly number[], alpha: number): TestResult & { df: number } {
  const meanA = mean(control as number[]);
  const meanB = mean(treatment as number[]);
  const varA = sampleVariance(control as number[]) / control.length;
  const varB = sampleVariance(treatment as number[]) / treatment.length;
  const se = Math.sqrt(varA + varB);
  const difference = meanB - meanA;
  if (se === 0) return { difference, ci: [difference, difference], pValue: difference === 0 ? 1 : 0, statistic: difference === 0 ? 0 : Infinity, df: control.length + treatment.length - 2 };
  const df = (varA + varB) ** 2 / (varA ** 2 / (control.length - 1) + varB ** 2 / (treatment.length - 1));
  const t = difference / se;
  const margin = studentTQuantile(1 - alpha / 2, df) * se;
  return { difference, ci: [difference - margin, difference + margin], pValue: studentTTwoSided(t, df), statistic: t, df };
}

/** Samples per group for a two-sided two-proportion test to detect p1 vs p2 with `power`. */
export function samplesForProportions(p1: number, p2: number, alpha: number, power = 0.8): number {
  const delta = Math.abs(p1 - p2);
  if (delta === 0) return Infinity;
  const zAlpha = normalQuantile(1 - alpha / 2);
  const zBeta = normalQuantile(power);
  const pBar = (p1 + p2) / 2;
  const n = (zAlpha * Math.sqrt(2 * pBar * (1 - pBar)) + zBeta * Math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) ** 2 / delta ** 2;
  return Math.ceil(n);
}

/** Samples per group for a two-sided test of means with common standard deviation `sd`. */
export function samplesForMeans(delta: number, sd: number, alpha: number, power = 0.8): number {
  if (delta === 0) return Infinity;
  const zAlpha = normalQuantile(1 - alpha / 2);
  const zBeta = normalQuantile(power);
  return Math.ceil((2 * (zAlpha + zBeta) ** 2 * sd ** 2) / delta ** 2);
}
