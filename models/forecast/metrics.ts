import { NovaError } from '../../core/index.ts';

/**
 * MASE scale: in-sample MAE of the lag-`lag` naive forecast over values[0..end) (lag 1 = the
 * one-step naive of Hyndman & Koehler 2006). Pairs with a missing value are skipped; 0 when
 * the in-sample part is flat or too short (MASE is then undefined for that series).
 */
export function naiveScale(values: ArrayLike<number>, end: number, lag = 1): number {
  let sum = 0;
  let n = 0;
  for (let i = lag; i < Math.min(end, values.length); i++) {
    const d = values[i]! - values[i - lag]!;
    if (Number.isFinite(d)) {
      sum += Math.abs(d);
      n++;
    }
  }
  return n === 0 ? 0 : sum / n;
}

/** Symmetric APE of one forecast in percent (Makridakis 1993, 0..200); 0 when actual and forecast are both 0. */
export function smapeTerm(actual: number, forecast: number): number {
  const denom = Math.abs(actual) + Math.abs(forecast);
  return denom === 0 ? 0 : (200 * Math.abs(actual - forecast)) / denom;
}

/** Pinball (quantile) loss of predicting `q` for level `tau` when `actual` happened. */
export function pinball(actual: number, q: number, tau: number): number {
  const d = actual - q;
  return d >= 0 ? tau * d : (tau - 1) * d;
}

function checkPairs(actual: ArrayLike<number>, forecast: ArrayLike<number>): void {
  if (actual.length !== forecast.length || actual.length === 0) {
    throw new NovaError('MODELS_INVALID_ARGUMENT', `metrics need equally long, non-empty actual and forecast arrays (got ${actual.length} and ${forecast.length})`);
  }
}

/** Mean absolute error divided by `scale` (see naiveScale). */
export function mase(actual: ArrayLike<number>, forecast: ArrayLike<number>, scale: number): number {
  checkPairs(actual, forecast);
  if (!(scale > 0)) throw new NovaError('MODELS_INVALID_ARGUMENT', `MASE needs a positive scale, got ${scale}; the in-sample part is flat`);
  let s = 0;
  for (let i = 0; i < actual.length; i++) s += Math.abs(actual[i]! - forecast[i]!);
  return s / actual.length / scale;
}

/** Mean sMAPE (percent). */
export function smape(actual: ArrayLike<number>, forecast: ArrayLike<number>): number {
  checkPairs(actual, forecast);
  let s = 0;
  for (let i = 0; i < actual.length; i++) s += smapeTerm(actual[i]!, forecast[i]!);
  return s / actual.length;
}

/** Mean pinball loss of quantile forecasts `q` at level `tau`. */
export function meanPinball(actual: ArrayLike<number>, q: ArrayLike<number>, tau: number): number {
  checkPairs(actual, q);
  let s = 0;
  for (let i = 0; i < actual.length; i++) s += pinball(actual[i]!, q[i]!, tau);
  return s / actual.length;
}

/** Empirical coverage: the share of actuals at or below their forecast quantile. */
export function coverage(actual: ArrayLike<number>, q: ArrayLike<number>): number {
  checkPairs(actual, q);
  let c = 0;
  for (let i = 0; i < actual.length; i++) if (actual[i]! <= q[i]!) c++;
  return c / actual.length;
}

/** Running sums of one (series, method, horizon) cell of an evaluation, for pooling later. */
export class ErrorSums {
  n = 0;
  absError = 0;
  smape = 0;
  /** Per quantile level (same order as the quantiles the caller passes). */
  readonly pinball: number[];
  readonly covered: number[];

  constructor(quantileCount: number) {
    this.pinball = new Array<number>(quantileCount).fill(0);
    this.covered = new Array<number>(quantileCount).fill(0);
  }

  /** One forecast: the point (median) and its quantiles at `taus`. */
  add(actual: number, point: number, quantiles: ArrayLike<number>, taus: readonly number[]): void {
    this.n++;
    this.absError += Math.abs(actual - point);
    this.smape += smapeTerm(actual, point);
    for (let k = 0; k < taus.length; k++) {
      const q = quantiles[k]!;
      this.pinball[k]! += pinball(actual, q, taus[k]!);
      if (actual <= q) this.covered[k]! += 1;
    }
  }
}
