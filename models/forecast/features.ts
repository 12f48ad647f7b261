import type { RegularSeries } from './series.ts';
import { featureCount, type ModelSpec } from './spec.ts';

/**
 * Prefix sums over one series (NaN-aware) so every per-origin statistic is O(1): building
 * features for a million origins must not rescan their history.
 */
export class SeriesIndex {
  readonly sum: Float64Array;
  readonly absSum: Float64Array;
  readonly count: Float64Array;
  readonly diffSum: Float64Array;
  readonly diffCount: Float64Array;

  constructor(readonly series: RegularSeries) {
    const v = series.values;
    const n = v.length;
    this.sum = new Float64Array(n + 1);
    this.absSum = new Float64Array(n + 1);
    this.count = new Float64Array(n + 1);
    this.diffSum = new Float64Array(n + 1);
    this.diffCount = new Float64Array(n + 1);
    for (let i = 0; i < n; i++) {
      const y = v[i]!;
      const ok = Number.isFinite(y);
      this.sum[i + 1] = this.sum[i]! + (ok ? y : 0);
      this.absSum[i + 1] = this.absSum[i]! + (ok ? Math.abs(y) : 0);
      this.count[i + 1] = this.count[i]! + (ok ? 1 : 0);
      // diff at i pairs (i − 1, i)
      const d = i > 0 ? y - v[i - 1]! : Number.NaN;
      const dok = Number.isFinite(d);
      this.diffSum[i + 1] = this.diffSum[i]! + (dok ? Math.abs(d) : 0);
      this.diffCount[i + 1] = this.diffCount[i]! + (dok ? 1 : 0);
    }
  }

  /** Mean of the observed values in [from, to] (clamped to the series); NaN if none. */
  mean(from: number, to: number): number {
    const a = Math.max(0, from);
    const b = Math.min(this.series.values.length - 1, to);
    if (b < a) return Number.NaN;
    const c = this.count[b + 1]! - this.count[a]!;
    return c > 0 ? (this.sum[b + 1]! - this.sum[a]!) / c : Number.NaN;
  }

  /** True when values[t − lags + 1 .. t] are all observed. */
  windowComplete(t: number, lags: number): boolean {
    const a = t - lags + 1;
    return a >= 0 && t < this.series.values.length && this.count[t + 1]! - this.count[a]! === lags;
  }

  /**
   * Local scale at origin t: mean absolute one-step change over the last `context` steps,
   * floored at 0.1 % of the mean level (and 1e-6) so flat stretches do not divide by zero.
   */
  scale(t: number, context: number): number {
    const a = Math.max(1, t - context + 1);
    const dc = this.diffCount[t + 1]! - this.diffCount[a]!;
    const mad = dc > 0 ? (this.diffSum[t + 1]! - this.diffSum[a]!) / dc : 0;
    const b = Math.max(0, t - context + 1);
    const c = this.count[t + 1]! - this.count[b]!;
    const level = c > 0 ? (this.absSum[t + 1]! - this.absSum[b]!) / c : 0;
    return Math.max(mad, 1e-3 * level, 1e-6);
  }
}

/** Centre and scale an example was normalised with: value = centre + scale × output. */
export interface Normalisation {
  centre: number;
  scale: number;
}

const DAY_SEC = 86_400;
const WEEK_SEC = 7 * DAY_SEC;

/**
 * Writes the features of origin t (values up to and including t) into out[offset…]. The
 * window values[t − lags + 1..t] must be complete (see windowComplete). Every value is
 * normalised by the series' own centre (mean of the lag window) and local scale, so one model
 * serves VMs of any size and unit. Returns the normalisation to undo on the outputs.
 */
export function writeFeatures(spec: ModelSpec, idx: SeriesIndex, t: number, out: Float32Array, offset: number): Normalisation {
  const v = idx.series.values;
  const { lags, season, context, inputClip } = spec;
  const centre = idx.mean(t - lags + 1, t);
  const scale = idx.scale(t, context);
  const z = (y: number) => {
    const x = (y - centre) / scale;
    return x > inputClip ? inputClip : x < -inputClip ? -inputClip : x;
  };
  let k = offset;
  for (let i = t - lags + 1; i <= t; i++) out[k++] = z(v[i]!);
  // Longer context, over whatever part of it exists: a short history still gets a value.
  out[k++] = z(idx.mean(t - 71, t));
  out[k++] = z(idx.mean(t - context + 1, t));
  // A day-ago window exists for every horizon once t − season − 1 ≥ 0.
  const hasSeason = t - season - 1 >= 0;
  out[k++] = hasSeason ? 1 : 0;
  const seasonal = (at: number) => {
    if (!hasSeason) return 0;
    const m = idx.mean(at - 1, Math.min(at + 1, t));
    return Number.isFinite(m) ? z(m) : 0;
  };
  out[k++] = seasonal(t - season);
  for (const h of spec.horizons) out[k++] = seasonal(t + h - season * Math.ceil(h / season));
  out[k++] = Math.log1p(Math.max(0, centre) / scale) / 5;
  // Calendar at the origin; series without absolute time still have a consistent phase.
  const tsec = idx.series.startSec + t * spec.stepSec;
  const day = ((tsec % DAY_SEC) + DAY_SEC) % DAY_SEC / DAY_SEC;
  // 1970-01-01 was a Thursday: shift so the week phase starts on Monday.
  const week = (((tsec + 3 * DAY_SEC) % WEEK_SEC) + WEEK_SEC) % WEEK_SEC / WEEK_SEC;
  out[k++] = Math.sin(2 * Math.PI * day);
  out[k++] = Math.cos(2 * Math.PI * day);
  out[k++] = Math.sin(2 * Math.PI * week);
  out[k++] = Math.cos(2 * Math.PI * week);
  return { centre, scale };
}

/** One (series, origin) pair to forecast from. */
export interface Origin {
  idx: SeriesIndex;
  t: number;
}

/** Feature matrix (row-major, n × featureCount) and normalisations of a batch of origins. */
export function buildBatch(spec: ModelSpec, origins: readonly Origin[]): { x: Float32Array; centre: Float64Array; scale: Float64Array } {
  const f = featureCount(spec);
  const x = new Float32Array(origins.length * f);
  const centre = new Float64Array(origins.length);
  const scale = new Float64Array(origins.length);
  for (let i = 0; i < origins.length; i++) {
    const o = origins[i]!;
    const norm = writeFeatures(spec, o.idx, o.t, x, i * f);
    centre[i] = norm.centre;
    scale[i] = norm.scale;
  }
  return { x, centre, scale };
}
