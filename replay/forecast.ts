import { NovaError } from '../core/index.ts';
import type { TickView } from './policy.ts';

/**
 * Forecast of every VM's demand over the coming horizon, in MIPS: a central value and its
 * uncertainty (standard deviation). The p-quantile of one VM is level + z_p·spread; the
 * quantile of a host's total is Σ level + z_p·σ_host, where σ_host is at least √Σ spread²
 * (independent VMs) and, when `errors` is given, at least the spread measured on the host's
 * summed recent errors (VMs that move together).
 */
export interface DemandForecast {
  readonly level: Float64Array;
  readonly spread: Float64Array;
  /** Recent one-step errors of this forecaster for each VM (actual − forecast, MIPS), `window` slots per VM, newest first. */
  readonly errors?: Float64Array;
  readonly window?: number;
  /** Slots of `errors` that hold real errors (the same for every VM running since t = 0). */
  readonly errorCount?: number;
}

/** A forecaster the policy can be given; it may only read the view (past samples, no look-ahead). */
export interface DemandForecaster {
  readonly name: string;
  forecast(view: TickView): DemandForecast;
}

/** Options of the recent-volatility (naive) forecaster. */
export interface VolatilityForecasterOptions {
  /** Past samples used to estimate volatility (12 = one hour of 5-minute samples). */
  window: number;
  /** Steps ahead the uncertainty must cover (random walk: spread grows with √steps). */
  horizonSteps: number;
  /** Spread (fraction of the VM's MIPS) assumed while no VM has a measured change yet. */
  priorSpread: number;
  /** Lower bound of the spread, fraction of the VM's MIPS. */
  minSpread: number;
  /**
   * Weight, in samples, of the fleet-wide volatility in each VM's estimate (empirical-Bayes
   * shrinkage): a VM with few changes seen borrows the fleet's, one with many keeps its own.
   */
  poolWeight: number;
}

/**
 * Default: one hour of history, uncertainty over the next interval. One step is the horizon that
 * matters: plans are revisited every interval and a migration ends within 30 s.
 */
export const DEFAULT_VOLATILITY_FORECASTER: VolatilityForecasterOptions = Object.freeze({ window: 12, horizonSteps: 1, priorSpread: 0.15, minSpread: 0.01, poolWeight: 3 });

/**
 * Level = the latest sample (the naive forecast); spread = RMS of the last `window` one-step
 * changes (its errors), shrunk towards the fleet's, scaled by √horizon. The changes themselves
 * are returned too, so a policy can see which VMs rise and fall together. O(window) per VM and
 * tick, from `pastUtilization` only.
 */
export function volatilityForecaster(options: Partial<VolatilityForecasterOptions> = {}): DemandForecaster {
  const o = { ...DEFAULT_VOLATILITY_FORECASTER, ...options };
  if (!(o.window >= 2 && Number.isInteger(o.window) && o.horizonSteps > 0 && o.priorSpread >= 0 && o.minSpread >= 0 && o.poolWeight >= 0)) {
    throw new NovaError('BACKTEST_OPTION_INVALID', `volatility forecaster needs an integer window ≥ 2, horizonSteps > 0 and non-negative spreads and pool weight, got ${JSON.stringify(o)}`);
  }
  const horizon = Math.sqrt(o.horizonSteps);
  const W = o.window;
  return pooledErrorForecaster(`volatility(w=${o.window},h=${o.horizonSteps})`, W, o.priorSpread, {
    observe(v, view, level, errors) {
      const x = view.pastUtilization(v);
      const n = x.length;
      const mips = view.experiment.vmMips[v]!;
      level[v] = view.requestedMips[v]!;
      const from = Math.max(1, n - W);
      let ss = 0;
      for (let i = n - 1, slot = 0; i >= from; i--, slot++) {
        const d = x[i]! - x[i - 1]!;
        ss += d * d;
        errors[v * W + slot] = d * mips;
      }
      return { sumSq: ss, count: n - from };
    },
    spread(count, sumSq, pooled, mips) {
      const variance = (sumSq + o.poolWeight * pooled) / (count + o.poolWeight);
      return count + o.poolWeight > 0 ? Math.max(o.minSpread, Math.sqrt(variance) * horizon) * mips : o.priorSpread * mips;
    },
  });
}

/** Options of the smoothed forecaster. */
export interface SmoothedForecasterOptions {
  /** EWMA weight of the newest sample; 2/(n + 1) gives the memory of an n-sample mean. */
  alpha: number;
  /** Past one-step errors the spread is measured on. */
  window: number;
  /** Samples the EWMA is run over before the error window (older ones weigh (1 − α)^warmup or less). */
  warmup: number;
  /** Spread (fraction of the VM's MIPS) assumed while no VM has a measured error yet. */
  priorSpread: number;
  /** Lower bound of the spread, fraction of the VM's MIPS. */
  minSpread: number;
  /** Weight, in samples, of the fleet-wide error in each VM's estimate (empirical-Bayes shrinkage). */
  poolWeight: number;
}

/**
 * Default: the memory of a one-hour mean (α = 2/13); the spread measured on the last two hours
 * of errors (a standard deviation from 12 samples is off by ~20 %, from 24 by ~14 %).
 */
export const DEFAULT_SMOOTHED_FORECASTER: SmoothedForecasterOptions = Object.freeze({ alpha: 2 / 13, window: 24, warmup: 36, priorSpread: 0.15, minSpread: 0.01, poolWeight: 3 });

/**
 * Level = an exponentially weighted mean of the VM's past samples; spread = RMS of this very
 * forecast's one-step errors over the last `window` ticks, shrunk towards the fleet's. 5-minute
 * CPU demand mostly jitters around a slower level (PlanetLab hosts of 25 VMs: the next sample is
 * ~25 % closer to the last hour's mean than to the last sample), so the smoothed level is both
 * closer and, through its measured errors, honest about how close. Stateless between ticks:
 * recomputed from `pastUtilization` (O(window + warmup) per VM).
 */
export function smoothedForecaster(options: Partial<SmoothedForecasterOptions> = {}): DemandForecaster {
  const o = { ...DEFAULT_SMOOTHED_FORECASTER, ...options };
  if (!(o.alpha > 0 && o.alpha <= 1 && Number.isInteger(o.window) && o.window >= 2 && Number.isInteger(o.warmup) && o.warmup >= 0 && o.priorSpread >= 0 && o.minSpread >= 0 && o.poolWeight >= 0)) {
    throw new NovaError('BACKTEST_OPTION_INVALID', `smoothed forecaster needs 0 < alpha ≤ 1, an integer window ≥ 2, an integer warmup ≥ 0 and non-negative spreads and pool weight, got ${JSON.stringify(o)}`);
  }
  const W = o.window;
  return pooledErrorForecaster(`smoothed(alpha=${o.alpha.toFixed(3)},w=${W})`, W, o.priorSpread, {
    observe(v, view, level, errors) {
      const x = view.pastUtilization(v);
      const n = x.length;
      if (n === 0) {
        level[v] = view.requestedMips[v]!;
        return { sumSq: 0, count: 0 };
      }
      const mips = view.experiment.vmMips[v]!;
      const first = Math.max(0, n - W - o.warmup - 1);
      let e = x[first]!;
      let ss = 0;
      let m = 0;
      for (let i = first + 1; i < n; i++) {
        // e is the forecast of x[i] made at i − 1.
        const err = x[i]! - e;
        if (i >= n - W) {
          errors[v * W + (n - 1 - i)] = err * mips;
          ss += err * err;
          m++;
        }
        e += o.alpha * (x[i]! - e);
      }
      level[v] = e * mips;
      return { sumSq: ss, count: m };
    },
    spread(count, sumSq, pooled, mips) {
      const variance = count + o.poolWeight > 0 ? (sumSq + o.poolWeight * pooled) / (count + o.poolWeight) : o.priorSpread * o.priorSpread;
      return Math.max(o.minSpread, Math.sqrt(variance)) * mips;
    },
  });
}

/** How one forecaster reads a VM's past and turns its measured errors into a spread. */
interface ErrorModel {
  /** Writes the VM's level and its newest-first errors (`window` slots); returns their sum of squares (utilisation units) and how many there are. */
  observe(v: number, view: TickView, level: Float64Array, errors: Float64Array): { sumSq: number; count: number };
  /** The VM's spread in MIPS from its own errors and the fleet's pooled mean square error. */
  spread(count: number, sumSq: number, pooled: number, mips: number): number;
}

/**
 * The frame both forecasters share: per-tick buffers sized to the fleet, each running VM
 * observed once, the fleet-wide mean square error pooled over them (empirical-Bayes shrinkage),
 * then each VM's spread; finished VMs get level and spread 0.
 */
function pooledErrorForecaster(name: string, W: number, priorSpread: number, model: ErrorModel): DemandForecaster {
  let level = new Float64Array(0);
  let spread = new Float64Array(0);
  let errors = new Float64Array(0);
  let sumSq = new Float64Array(0);
  let count = new Int32Array(0);
  return {
    name,
    forecast(view) {
      const exp = view.experiment;
      const N = exp.vmCount;
      if (level.length !== N) {
        level = new Float64Array(N);
        spread = new Float64Array(N);
        errors = new Float64Array(N * W);
        sumSq = new Float64Array(N);
        count = new Int32Array(N);
      }
      errors.fill(0);
      let poolSq = 0;
      let poolN = 0;
      let errorCount = 0;
      for (let v = 0; v < N; v++) {
        level[v] = 0;
        sumSq[v] = 0;
        count[v] = 0;
        if (view.vmHost[v]! < 0) continue;
        const seen = model.observe(v, view, level, errors);
        sumSq[v] = seen.sumSq;
        count[v] = seen.count;
        errorCount = Math.max(errorCount, seen.count);
        poolSq += seen.sumSq;
        poolN += seen.count;
      }
      const pooled = poolN > 0 ? poolSq / poolN : priorSpread * priorSpread;
      for (let v = 0; v < N; v++) {
        spread[v] = view.vmHost[v]! < 0 ? 0 : model.spread(count[v]!, sumSq[v]!, pooled, exp.vmMips[v]!);
      }
      return { level, spread, errors, window: W, errorCount };
    },
  };
}
