/**
 * The statistics CloudSim's policies use (its MathUtil over commons-math3 3.x), reproduced
 * operation for operation: a threshold that lands a rounding error away changes a decision.
 */

/** Length of `data[0..n)` once trailing zeros are cut, as MathUtil.countNonZeroBeginning (all zeros → 1). */
export function trimmedLength(data: ArrayLike<number>, n: number): number {
  let i = n - 1;
  while (i >= 0) {
    if (data[i--] !== 0) break;
  }
  return i + 2;
}

/** commons-math3 Percentile, LEGACY estimation, of an ascending-sorted array of length n; p in (0, 100]. */
export function percentileOfSorted(sorted: ArrayLike<number>, n: number, p: number): number {
  const pos = (p / 100) * (n + 1);
  const fpos = Math.floor(pos);
  const intPos = fpos;
  const dif = pos - fpos;
  if (n === 1) return sorted[0]!;
  if (pos < 1) return sorted[0]!;
  if (pos >= n) return sorted[n - 1]!;
  const lower = sorted[intPos - 1]!;
  const upper = sorted[intPos]!;
  return lower + dif * (upper - lower);
}

const scratchA = new Float64Array(64);
const scratchB = new Float64Array(64);

function sortedCopy(values: ArrayLike<number>, n: number, into: Float64Array): Float64Array {
  const out = n <= into.length ? into.subarray(0, n) : new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = values[i]!;
  return out.sort();
}

/** Median as MathUtil.median (the 50th LEGACY percentile: mean of the middle two when n is even). */
export function median(values: ArrayLike<number>, n: number): number {
  return percentileOfSorted(sortedCopy(values, n, scratchA), n, 50);
}

/** Median absolute deviation as MathUtil.mad. */
export function mad(values: ArrayLike<number>, n: number): number {
  if (n === 0) return 0;
  const m = median(values, n);
  const dev = n <= scratchB.length ? scratchB.subarray(0, n) : new Float64Array(n);
  for (let i = 0; i < n; i++) dev[i] = Math.abs(m - values[i]!);
  return median(dev, n);
}

/** Interquartile range as MathUtil.iqr: sorted values at round(0.25(n+1)) − 1 and round(0.75(n+1)) − 1. */
export function iqr(values: ArrayLike<number>, n: number): number {
  const s = sortedCopy(values, n, scratchA);
  const q1 = Math.floor(0.25 * (n + 1) + 0.5) - 1;
  const q3 = Math.floor(0.75 * (n + 1) + 0.5) - 1;
  return s[q3]! - s[q1]!;
}

/**
 * Ordinary least squares of y on x = 1..n with commons-math3 SimpleRegression's updating
 * formulas; returns [intercept, slope].
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

/** Arithmetic mean (NaN for none). */
export function mean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/** Sample standard deviation, n − 1 in the denominator (NaN for none, 0 for one value). */
export function sampleStdDev(values: readonly number[]): number {
  const n = values.length;
  if (n === 0) return Number.NaN;
  if (n === 1) return 0;
  const m = mean(values);
  let ss = 0;
  for (const v of values) ss += (v - m) * (v - m);
  return Math.sqrt(ss / (n - 1));
}
