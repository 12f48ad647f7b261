/** What the model sees and predicts; stored with every model version so inference rebuilds it exactly. */
export interface ModelSpec {
  /** Grid step of the series (s). */
  stepSec: number;
  /** Recent values fed as lags. */
  lags: number;
  /** Season length in steps (a day of 5-minute steps). */
  season: number;
  /** Steps of history the local scale and context means look back over. */
  context: number;
  /** Lead times predicted, in steps. */
  horizons: number[];
  /** Quantile levels predicted, ascending; the first is the point forecast (median). */
  quantiles: number[];
  /** Normalised inputs and training targets are clipped to ± these. */
  inputClip: number;
  targetClip: number;
  hidden: number[];
}

/** 5 min, 30 min, 1 h, 3 h, 6 h ahead; p50, p90, p99. */
export const DEFAULT_SPEC: Readonly<ModelSpec> = Object.freeze({
  stepSec: 300,
  lags: 24,
  season: 288,
  context: 288,
  horizons: [1, 6, 12, 36, 72],
  quantiles: [0.5, 0.9, 0.99],
  inputClip: 30,
  targetClip: 100,
  hidden: [64, 64],
});

/** Inputs per example: lags, 2 context means, season flag, yesterday-at-origin, yesterday-at-each-target, level, 4 calendar. */
export function featureCount(spec: ModelSpec): number {
  return spec.lags + 2 + 1 + 1 + spec.horizons.length + 1 + 4;
}

/** Outputs per example: one per (horizon, quantile), horizon-major. */
export function outputCount(spec: ModelSpec): number {
  return spec.horizons.length * spec.quantiles.length;
}
