import { applyShifts, type QuantileShifts } from './calibration.ts';
import { SeriesIndex, writeFeatures } from './features.ts';
import { mlpForward, type MlpWeights } from './mlp.ts';
import type { RegularSeries } from './series.ts';
import { featureCount, outputCount, type ModelSpec } from './spec.ts';
import { tfForward } from './tf-train.ts';

/** Calibration key used for series whose group has no shifts of its own. */
export const POOLED_GROUP = '*';

/** A trained, calibrated forecaster: everything inference needs. */
export interface ForecastModel {
  spec: ModelSpec;
  weights: MlpWeights;
  /** Conformal shifts per group (and POOLED_GROUP for any other group). */
  shifts: Record<string, QuantileShifts>;
}

/** How the forward pass runs: TF.js on its active backend, or plain Float32Array loops. */
export type InferenceEngine = 'tfjs' | 'js';

/** Normalised network outputs for a batch of feature rows. */
export async function forwardWith(engine: InferenceEngine, weights: MlpWeights, x: Float32Array, n: number): Promise<Float32Array> {
  return engine === 'tfjs' ? tfForward(weights, x, n) : mlpForward(weights, x, n);
}

/** Quantile forecasts of one series from its last observation. */
export interface SeriesForecast {
  id: string;
  /** Index of the origin (last observation used). */
  origin: number;
  /** quantiles[h][q] in the series' units, for spec.horizons × spec.quantiles. */
  quantiles: number[][];
}

/**
 * Forecasts every series from its last complete lag window in one batch: features, forward
 * pass, de-normalisation, conformal shifts of the series' group, floor at 0. Series without a
 * complete window of `lags` recent values are skipped (listed in `skipped`).
 */
export async function forecastBatch(model: ForecastModel, series: readonly RegularSeries[], engine: InferenceEngine = 'js'): Promise<{ forecasts: SeriesForecast[]; skipped: string[] }> {
  const { spec } = model;
  const f = featureCount(spec);
  const x = new Float32Array(series.length * f);
  const centre = new Float64Array(series.length);
  const scale = new Float64Array(series.length);
  const used: RegularSeries[] = [];
  const skipped: string[] = [];
  for (const s of series) {
    // One index at a time: a fleet's prefix sums never sit in memory together.
    const idx = new SeriesIndex(s);
    const t = s.values.length - 1;
    if (!idx.windowComplete(t, spec.lags)) {
      skipped.push(s.id);
      continue;
    }
    const norm = writeFeatures(spec, idx, t, x, used.length * f);
    centre[used.length] = norm.centre;
    scale[used.length] = norm.scale;
    used.push(s);
  }
  const raw = await forwardWith(engine, model.weights, x.subarray(0, used.length * f), used.length);
  const H = spec.horizons.length;
  const Q = spec.quantiles.length;
  const out = outputCount(spec);
  const zero = new Array<number>(Q).fill(0);
  const forecasts = used.map((s, i) => {
    const shifts = model.shifts[s.group] ?? model.shifts[POOLED_GROUP];
    const quantiles: number[][] = [];
    for (let j = 0; j < H; j++) {
      const q = Array.from({ length: Q }, (_, k) => centre[i]! + scale[i]! * raw[i * out + j * Q + k]!);
      applyShifts(q, shifts?.shift[j] ?? zero, scale[i]!);
      quantiles.push(q);
    }
    return { id: s.id, origin: s.values.length - 1, quantiles };
  });
  return { forecasts, skipped };
}
