import { NovaError } from '../../core/index.ts';
import type { TickView } from './policy.ts';

/**
 * Forecast of every VM's demand over the coming horizon, in MIPS: a central value and its
 * uncertainty (standard deviation). The p-quantile of one VM is level + z_p·spread; the
 * quantile of a host's total is Σ level + z_p·√Σ spread² (independent VMs).
 */
export interface DemandForecast {
  readonly level: Float64Array;
  readonly spread: Float64Array;
}

/** A forecaster the policy can be given; it may only read the view (past samples, no look-ahead). */
export interface DemandForecaster {
  readonly name: string;
  forecast(view: TickView): DemandForecast;
}

/** Options of the recent-volatility forecaster. */
export interface VolatilityForecasterOptions {
  /** Past samples used to estimate volatility (12 = one hour of 5-minute samples). */
  window: number;
  /** Steps ahead the uncertainty must cover (random walk: spread grows with √steps). */
  horizonSteps: number;
  /** Spread (fraction of the VM's MIPS) assumed while a VM has fewer than 3 samples. */
  priorSpread: number;
  /** Lower bound of the spread, fraction of the VM's MIPS. */
  minSpread: number;
}

/** Default: one hour of history, uncertainty over the next 10 minutes. */
export const DEFAULT_VOLATILITY_FORECASTER: VolatilityForecasterOptions = Object.freeze({ window: 12, horizonSteps: 2, priorSpread: 0.15, minSpread: 0.01 });

/**
 * Level = the latest sample (a naive forecast is hard to beat on PlanetLab: MASE ≈ 1 for
 * smarter baselines); spread = RMS of the last `window` one-step changes, scaled by √horizon.
 * O(window) per VM and tick, from `pastUtilization` only.
 */
export function volatilityForecaster(options: Partial<VolatilityForecasterOptions> = {}): DemandForecaster {
  const o = { ...DEFAULT_VOLATILITY_FORECASTER, ...options };
  if (!(o.window >= 2 && o.horizonSteps > 0 && o.priorSpread >= 0 && o.minSpread >= 0)) {
    throw new NovaError('BACKTEST_OPTION_INVALID', `volatility forecaster needs window ≥ 2, horizonSteps > 0 and non-negative spreads, got ${JSON.stringify(o)}`);
  }
  const horizon = Math.sqrt(o.horizonSteps);
  let level = new Float64Array(0);
  let spread = new Float64Array(0);
  return {
    name: `volatility(w=${o.window},h=${o.horizonSteps})`,
    forecast(view) {
      const exp = view.experiment;
      if (level.length !== exp.vmCount) {
        level = new Float64Array(exp.vmCount);
        spread = new Float64Array(exp.vmCount);
      }
      for (let v = 0; v < exp.vmCount; v++) {
        if (view.vmHost[v]! < 0) {
          level[v] = 0;
          spread[v] = 0;
          continue;
        }
        const x = view.pastUtilization(v);
        const n = x.length;
        const mips = exp.vmMips[v]!;
        level[v] = view.requestedMips[v]!;
        if (n < 3) {
          spread[v] = o.priorSpread * mips;
          continue;
        }
        const from = Math.max(1, n - o.window);
        let ss = 0;
        for (let i = from; i < n; i++) {
          const d = x[i]! - x[i - 1]!;
          ss += d * d;
        }
        const rms = Math.sqrt(ss / (n - from));
        spread[v] = Math.max(o.minSpread, rms * horizon) * mips;
      }
      return { level, spread };
    },
  };
}
