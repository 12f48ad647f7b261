import { quantile as ssQuantile } from 'simple-statistics';
import { NovaError } from '../core/index.ts';

/** One observation of a univariate series (ts in ms since epoch). */
export interface SeriesPoint {
  ts: number;
  value: number;
}

/** Level and exponentially weighted variance of a series after its last value. */
export interface EwmaState {
  level: number;
  variance: number;
}

/** z-score of the one-sided 95th percentile of a normal distribution. */
export const Z_95 = 1.645;

function requireNonEmpty(values: readonly number[], what: string): void {
  if (values.length === 0) {
    throw new NovaError('MODELS_EMPTY_SERIES', `${what} needs at least one value; pass a non-empty series`);
  }
}

/** The q-quantile (0..1) of `values` with linear interpolation between order statistics (numpy's default, R type 7). */
export function quantile(values: readonly number[], q: number): number {
  requireNonEmpty(values, 'quantile');
  if (!(q >= 0 && q <= 1)) throw new NovaError('MODELS_INVALID_ARGUMENT', `quantile q must lie in [0, 1], got ${q}`);
  return ssQuantile(values, q);
}

/**
 * Exponentially weighted mean and variance (Finch, "Incremental calculation of weighted mean
 * and variance", 2009): starts at the first value with zero variance.
 */
export function ewma(values: readonly number[], alpha: number): EwmaState {
  requireNonEmpty(values, 'ewma');
  if (!(alpha > 0 && alpha <= 1)) throw new NovaError('MODELS_INVALID_ARGUMENT', `ewma alpha must lie in (0, 1], got ${alpha}`);
  let level = values[0]!;
  let variance = 0;
  for (let i = 1; i < values.length; i++) {
    const diff = values[i]! - level;
    const increment = alpha * diff;
    level += increment;
    variance = (1 - alpha) * (variance + diff * increment);
  }
  return { level, variance };
}

/** Smoothing factor whose weights halve every `halfLifeMs` when samples arrive every `stepMs`. */
export function alphaForHalfLife(stepMs: number, halfLifeMs: number): number {
  if (!(stepMs > 0 && halfLifeMs > 0)) throw new NovaError('MODELS_INVALID_ARGUMENT', `step and half-life must be positive, got ${stepMs} and ${halfLifeMs}`);
  return 1 - Math.pow(0.5, stepMs / halfLifeMs);
}

/**
 * Sampling step of a series: the median gap between consecutive distinct timestamps
 * (robust to the odd missing or late sample); undefined with fewer than two timestamps.
 */
export function inferStepMs(timestamps: readonly number[]): number | undefined {
  const sorted = [...timestamps].sort((a, b) => a - b);
  const gaps: number[] = [];
  for (let i = 1; i < sorted.length; i++) {
    const gap = sorted[i]! - sorted[i - 1]!;
    if (gap > 0) gaps.push(gap);
  }
  if (gaps.length === 0) return undefined;
  // Lower median, so the result is always an observed gap rather than an average of two.
  gaps.sort((a, b) => a - b);
  return gaps[Math.floor((gaps.length - 1) / 2)]!;
}

/**
 * Values one season before each future step of the next horizon: for k = 1..⌊horizon/step⌋
 * (at least 1), the sample nearest to now + k·step − season, if one lies within half a step.
 * `series` must be sorted by ts; `now` defaults to its last timestamp.
 */
export function seasonalNaiveWindow(series: readonly SeriesPoint[], stepMs: number, seasonMs: number, horizonMs: number, now?: number): number[] {
  if (!(stepMs > 0 && seasonMs > 0 && horizonMs > 0)) {
    throw new NovaError('MODELS_INVALID_ARGUMENT', `step, season and horizon must be positive, got ${stepMs}, ${seasonMs}, ${horizonMs}`);
  }
  if (series.length === 0) return [];
  const origin = now ?? series[series.length - 1]!.ts;
  const steps = Math.max(1, Math.floor(horizonMs / stepMs));
  const out: number[] = [];
  for (let k = 1; k <= steps; k++) {
    const target = origin + k * stepMs - seasonMs;
    const i = nearestIndex(series, target);
    const p = series[i]!;
    // Half a step either way: a sample belongs to at most one target, so none is counted twice.
    if (Math.abs(p.ts - target) * 2 < stepMs || (Math.abs(p.ts - target) * 2 === stepMs && p.ts < target)) out.push(p.value);
  }
  return out;
}

/** Index of the point whose ts is nearest to `target` (the earlier one on a tie); series sorted, non-empty. */
function nearestIndex(series: readonly SeriesPoint[], target: number): number {
  let lo = 0;
  let hi = series.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (series[mid]!.ts < target) lo = mid + 1;
    else hi = mid;
  }
  // lo is the first point with ts >= target (or the last point); its predecessor may be nearer.
  if (lo > 0 && target - series[lo - 1]!.ts <= series[lo]!.ts - target) return lo - 1;
  return lo;
}
