/**
 * The statistics CloudSim's policies use (its MathUtil over commons-math3 3.x), reproduced
 * operation for operation: a threshold that lands a rounding error away changes a decision.
 * simple-statistics serves where its arithmetic is the same; the rest is written out here.
 */
import { meanSimple, medianAbsoluteDeviation, sampleStandardDeviation } from 'simple-statistics';

/** Length of `data[0..n)` once trailing zeros are cut, as MathUtil.countNonZeroBeginning (all zeros → 1). */
export function trimmedLength(data: ArrayLike<number>, n: number): number {
  let i = n - 1;
  while (i >= 0) {
    if (data[i--] !== 0) break;
  }
  return i + 2;
}

/**
 * Median absolute deviation as MathUtil.mad. simple-statistics' median of n values is, operation
 * for operation, commons-math's LEGACY 50th percentile (n odd: the middle value; n even: lower +
 * 0.5·(upper − lower)), and |m − x| = |x − m| exactly, so its MAD is CloudSim's to the bit
 * (stats.test.ts checks this against the LEGACY formula).
 */
export function mad(values: ArrayLike<number>, n: number): number {
  if (n === 0) return 0;
  return medianAbsoluteDeviation(Array.prototype.slice.call(values, 0, n) as number[]);
}

const scratch = new Float64Array(64);

/**
 * Interquartile range as MathUtil.iqr: sorted values at round(0.25(n+1)) − 1 and round(0.75(n+1)) − 1.
 * Kept here because no library quantile picks these order statistics (simple-statistics'
 * interquartileRange interpolates, R type 7), and the IQR policy's decisions depend on them.
 */
export function iqr(values: ArrayLike<number>, n: number): number {
  const s = n <= scratch.length ? scratch.subarray(0, n) : new Float64Array(n);
  for (let i = 0; i < n; i++) s[i] = values[i]!;
  s.sort();
  const q1 = Math.floor(0.25 * (n + 1) + 0.5) - 1;
  const q3 = Math.floor(0.75 * (n + 1) + 0.5) - 1;
  return s[q3]! - s[q1]!;
}

/**
 * Ordinary least squares of y on x = 1..n with commons-math3 SimpleRegression's updating
 * formulas; returns [intercept, slope]. Kept here because simple-statistics' linearRegression
 * sums differently, and the LR policy's threshold comparisons depend on the last bit.
 */
export function linearFit(y: ArrayLike<number>, n: number): [number, number] {
  let sumX = 0;
  let sumY = 0;
  let sumXX = 0;
  let sumXY = 0;
  let xbar = 0;
  let ybar = 0;
  for (let i = 0; i < n; i++) {
    const x = i + 1;
    const yi = y[i]!;
    if (i === 0) {
      xbar = x;
      ybar = yi;
    } else {
      const fact1 = 1.0 + i;
      const fact2 = i / (1.0 + i);
      const dx = x - xbar;
      const dy = yi - ybar;
      sumXX += dx * dx * fact2;
      sumXY += dx * dy * fact2;
      xbar += dx / fact1;
      ybar += dy / fact1;
    }
    sumX += x;
    sumY += yi;
  }
  const slope = n < 2 || Math.abs(sumXX) < 10 * Number.MIN_VALUE ? Number.NaN : sumXY / sumXX;
  return [(sumY - slope * sumX) / n, slope];
}

/** Arithmetic mean summed left to right, as MathUtil.mean (NaN for none). */
export function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : meanSimple(values);
}

/**
 * Sample standard deviation, n − 1 in the denominator (NaN for none, 0 for one value). CloudSim
 * computes it with another update formula, so the last bits may differ; only the means are
 * compared with its printout.
 */
export function sampleStdDev(values: readonly number[]): number {
  if (values.length < 2) return values.length === 0 ? Number.NaN : 0;
  return sampleStandardDeviation(values);
}
