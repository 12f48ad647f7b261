import { NovaError } from '../../core/index.ts';

/**
 * The planner's forecaster: each VM's CPU demand over the next sampling interval, as a level
 * and a spread, from the VM's recent samples alone.
 *
 * Level = an exponentially weighted mean of the VM's samples; spread = the RMS of this very
 * forecast's one-step errors over the last `window` samples, shrunk towards the fleet's
 * (empirical Bayes, `poolWeight` samples' worth). 5-minute CPU demand mostly jitters around a
 * slower level (PlanetLab hosts of 25 VMs: the next sample is ~25 % closer to the last hour's
 * mean than to the last sample), so the smoothed level is both closer and, through its measured
 * errors, honest about how close. The errors themselves are returned, newest first and aligned in
 * time across VMs, so a caller can measure how VMs that share a host move together.
 *
 * Plans are revisited every interval, so one step ahead is the horizon that matters. Deterministic,
 * O(window + warmup) per VM, no state between calls: the same samples give the same forecast.
 */

/** One VM's recent demand. */
export interface DemandSeries {
  /** Samples a fixed step apart, oldest first, in any unit (cores, MIPS …); the forecast is in the same unit. */
  history: ArrayLike<number>;
  /** The VM's configured CPU in that unit: errors are pooled across VMs relative to it, and the spread floors scale with it. */
  size: number;
}

/** Tuning of the next-interval forecaster. */
export interface NextIntervalOptions {
  /** EWMA weight of the newest sample; 2/(n + 1) gives the memory of an n-sample mean. */
  alpha: number;
  /** Past one-step errors the spread is measured on. */
  window: number;
  /** Samples the EWMA runs over before the error window (older ones weigh (1 − α)^warmup or less). */
  warmup: number;
  /** Spread (fraction of size) assumed while no VM of the fleet has a measured error yet. */
  priorSpread: number;
  /** Lower bound of the spread, fraction of size. */
  minSpread: number;
  /** Weight, in samples, of the fleet-wide error in each VM's estimate. */
  poolWeight: number;
}

/**
 * Default: the memory of a one-hour mean of 5-minute samples (α = 2/13); the spread measured on
 * the last two hours of errors (a standard deviation from 12 samples is off by ~20 %, from 24 by
 * ~14 %).
 */
export const NEXT_INTERVAL_DEFAULTS: Readonly<NextIntervalOptions> = Object.freeze({ alpha: 2 / 13, window: 24, warmup: 36, priorSpread: 0.15, minSpread: 0.01, poolWeight: 3 });

/** Samples of history that change the forecast (older ones are never read): window + warmup + 1. */
export function historyNeeded(options: Partial<NextIntervalOptions> = {}): number {
  const o = { ...NEXT_INTERVAL_DEFAULTS, ...options };
  return o.window + o.warmup + 1;
}

/** Forecast of every series, in the order given. */
export interface NextIntervalForecast {
  /** Central forecast of the next sample. */
  level: Float64Array;
  /** Its uncertainty (a standard deviation). */
  spread: Float64Array;
  /** Each series' recent one-step errors (actual − forecast), `window` slots per series, newest first; 0 where none. */
  errors: Float64Array;
  window: number;
  /** Slots of `errors` that hold a real error for the longest series. */
  errorCount: number;
}

function checkedOptions(options: Partial<NextIntervalOptions>): NextIntervalOptions {
  const o = { ...NEXT_INTERVAL_DEFAULTS, ...options };
  if (!(o.alpha > 0 && o.alpha <= 1 && Number.isInteger(o.window) && o.window >= 2 && Number.isInteger(o.warmup) && o.warmup >= 0 && o.priorSpread >= 0 && o.minSpread >= 0 && o.poolWeight >= 0)) {
    throw new NovaError('FORECAST_OPTION_INVALID', `the next-interval forecaster needs 0 < alpha ≤ 1, an integer window ≥ 2, an integer warmup ≥ 0 and non-negative spreads and pool weight, got ${JSON.stringify(o)}`);
  }
  return o;
}

/** Forecasts the next sample of every series (see the module comment). */
export function forecastNextInterval(series: readonly DemandSeries[], options: Partial<NextIntervalOptions> = {}): NextIntervalForecast {
  const o = checkedOptions(options);
  const N = series.length;
  const W = o.window;
  const level = new Float64Array(N);
  const spread = new Float64Array(N);
  const errors = new Float64Array(N * W);
  const sumSq = new Float64Array(N);
  const count = new Int32Array(N);
  let poolSq = 0;
  let poolN = 0;
  let errorCount = 0;
  for (let v = 0; v < N; v++) {
    const { history: x, size } = series[v]!;
    if (!(size > 0)) throw new NovaError('FORECAST_INPUT_INVALID', `series ${v} has size ${size}; it must be positive (the VM's configured CPU)`);
    const n = x.length;
    if (n === 0) throw new NovaError('FORECAST_INPUT_INVALID', `series ${v} has no samples`);
    // Errors are measured relative to the VM's size, so VMs of every size pool together.
    const first = Math.max(0, n - W - o.warmup - 1);
    let e = x[first]! / size;
    let ss = 0;
    let m = 0;
    for (let i = first + 1; i < n; i++) {
      const xi = x[i]! / size;
      // e is the forecast of x[i] made at i − 1.
      const err = xi - e;
      if (i >= n - W) {
        errors[v * W + (n - 1 - i)] = err * size;
        ss += err * err;
        m++;
      }
      e += o.alpha * (xi - e);
    }
    level[v] = e * size;
    sumSq[v] = ss;
    count[v] = m;
    if (m > errorCount) errorCount = m;
    poolSq += ss;
    poolN += m;
  }
  const pooled = poolN > 0 ? poolSq / poolN : o.priorSpread * o.priorSpread;
  for (let v = 0; v < N; v++) {
    const c = count[v]!;
    const variance = c + o.poolWeight > 0 ? (sumSq[v]! + o.poolWeight * pooled) / (c + o.poolWeight) : o.priorSpread * o.priorSpread;
    spread[v] = Math.max(o.minSpread, Math.sqrt(variance)) * series[v]!.size;
  }
  return { level, spread, errors, window: W, errorCount };
}
