import { HoltWinters, fitHoltWinters, initialState } from './holt-winters.ts';

/** The baselines every evaluation runs beside the model. */
export const BASELINES = ['naive', 'seasonal-naive', 'ewma', 'holt-winters'] as const;
export type BaselineName = (typeof BASELINES)[number];

/** Smoothing factors fitEwmaAlpha chooses from. */
export const EWMA_ALPHAS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1] as const;

/**
 * Point forecasts of a baseline for every origin t in [first, last] (the forecast is made after
 * observing values[t]): out[j][t − first] predicts values[t + horizons[j]]. Parameters are fitted
 * on values[0..fitEnd) only; the state then runs through later values without refitting.
 * NaN = the method cannot forecast there (seasonal naive without a season of history).
 */
export function baselineForecasts(name: BaselineName, values: Float64Array, fitEnd: number, first: number, last: number, horizons: readonly number[], season: number): Float64Array[] {
  const count = Math.max(0, last - first + 1);
  const out = horizons.map(() => new Float64Array(count).fill(Number.NaN));
  switch (name) {
    case 'naive':
      for (let t = first; t <= last; t++) for (let j = 0; j < horizons.length; j++) out[j]![t - first] = values[t]!;
      break;
    case 'seasonal-naive':
      for (let t = first; t <= last; t++) {
        for (let j = 0; j < horizons.length; j++) {
          const h = horizons[j]!;
          const back = t + h - season * Math.ceil(h / season);
          if (back < 0) continue;
          // A season-ago sample lost to an outage falls back to the last value rather than to nothing.
          const y = values[back]!;
          out[j]![t - first] = Number.isFinite(y) ? y : values[t]!;
        }
      }
      break;
    case 'ewma': {
      const alpha = fitEwmaAlpha(values, fitEnd, horizons);
      let level = Number.NaN;
      for (let t = 0; t <= last; t++) {
        level = ewmaStep(level, values[t]!, alpha);
        if (t >= first) for (let j = 0; j < horizons.length; j++) out[j]![t - first] = level;
      }
      break;
    }
    case 'holt-winters': {
      const params = fitHoltWinters(values, fitEnd, season);
      const hw = new HoltWinters(params, initialState(values, params.period));
      for (let t = 0; t <= last; t++) {
        hw.update(values[t]!);
        if (t >= first) for (let j = 0; j < horizons.length; j++) out[j]![t - first] = hw.forecast(horizons[j]!);
      }
      break;
    }
  }
  return out;
}

function ewmaStep(level: number, y: number, alpha: number): number {
  if (!Number.isFinite(y)) return level;
  return Number.isNaN(level) ? y : level + alpha * (y - level);
}

/**
 * The EWMA smoothing factor with the least mean absolute error over the given horizons on
 * values[0..fitEnd): a flat EWMA forecast is tuned for the lead times it will serve.
 */
export function fitEwmaAlpha(values: Float64Array, fitEnd: number, horizons: readonly number[]): number {
  let best: number = EWMA_ALPHAS[EWMA_ALPHAS.length - 1]!;
  let bestErr = Infinity;
  for (const alpha of EWMA_ALPHAS) {
    let level = Number.NaN;
    let err = 0;
    let n = 0;
    for (let t = 0; t < fitEnd; t++) {
      level = ewmaStep(level, values[t]!, alpha);
      if (Number.isNaN(level)) continue;
      for (const h of horizons) {
        if (t + h >= fitEnd) continue;
        const y = values[t + h]!;
        if (Number.isFinite(y)) {
          err += Math.abs(y - level);
          n++;
        }
      }
    }
    if (n > 0 && err / n < bestErr) {
      bestErr = err / n;
      best = alpha;
    }
  }
  return best;
}
