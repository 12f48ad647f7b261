import { NovaError } from '../../core/index.ts';

/** Smoothing parameters of additive Holt-Winters with a damped trend; period 0 = no season (Holt). */
export interface HoltWintersParams {
  alpha: number;
  beta: number;
  gamma: number;
  /** Trend damping in (0, 1]; 1 is the undamped textbook method. */
  phi: number;
  period: number;
}

/**
 * Additive Holt-Winters, damped trend (Hyndman & Athanasopoulos, FPP3 §8.3, component form):
 *   l_t = α(y_t − s_{t−m}) + (1−α)(l_{t−1} + φ b_{t−1})
 *   b_t = β(l_t − l_{t−1}) + (1−β) φ b_{t−1}
 *   s_t = γ(y_t − l_t) + (1−γ) s_{t−m}
 *   ŷ_{t+h|t} = l_t + (φ + … + φ^h) b_t + s_{t+h−m(k+1)},  k = ⌊(h−1)/m⌋
 * A missing observation (NaN) advances the state along its own forecast.
 */
export class HoltWinters {
  level: number;
  trend: number;
  /** Seasonal indices; season[(t mod m)] belongs to the latest step t with that phase. */
  readonly season: Float64Array;
  /** Index of the next observation. */
  t = 0;

  constructor(readonly params: HoltWintersParams, init: { level: number; trend: number; season?: ArrayLike<number> }) {
    checkParams(params);
    this.level = init.level;
    this.trend = init.trend;
    this.season = new Float64Array(params.period);
    if (params.period > 0) {
      if (!init.season || init.season.length !== params.period) {
        throw new NovaError('MODELS_INVALID_ARGUMENT', `Holt-Winters with period ${params.period} needs ${params.period} initial seasonal indices`);
      }
      this.season.set(Array.from(init.season));
    }
  }

  /** One-step forecast of the next observation. */
  next(): number {
    const { phi, period } = this.params;
    return this.level + phi * this.trend + (period > 0 ? this.season[this.t % period]! : 0);
  }

  /** Takes observation y_t (NaN: missing) and returns the one-step error (NaN when missing). */
  update(y: number): number {
    const { alpha, beta, gamma, phi, period } = this.params;
    const phase = period > 0 ? this.t % period : 0;
    const s = period > 0 ? this.season[phase]! : 0;
    const damped = phi * this.trend;
    this.t++;
    if (!Number.isFinite(y)) {
      this.level += damped;
      this.trend = damped;
      return Number.NaN;
    }
    const err = y - (this.level + damped + s);
    const level = alpha * (y - s) + (1 - alpha) * (this.level + damped);
    this.trend = beta * (level - this.level) + (1 - beta) * damped;
    this.level = level;
    if (period > 0) this.season[phase] = gamma * (y - level) + (1 - gamma) * s;
    return err;
  }

  /** Forecast h ≥ 1 steps after the last observation. */
  forecast(h: number): number {
    const { phi, period } = this.params;
    let damp = 0;
    let p = 1;
    for (let i = 1; i <= h; i++) {
      p *= phi;
      damp += p;
    }
    const s = period > 0 ? this.season[(this.t + h - 1) % period]! : 0;
    return this.level + damp * this.trend + s;
  }
}

function checkParams(p: HoltWintersParams): void {
  const unit = (x: number) => x >= 0 && x <= 1;
  if (!(unit(p.alpha) && unit(p.beta) && unit(p.gamma) && p.phi > 0 && p.phi <= 1 && Number.isInteger(p.period) && p.period >= 0)) {
    throw new NovaError('MODELS_INVALID_ARGUMENT', `Holt-Winters parameters out of range: ${JSON.stringify(p)} (alpha, beta, gamma in [0, 1], phi in (0, 1], period a non-negative integer)`);
  }
}

/**
 * Initial state from the data (the usual heuristic): with a season, level = mean of the first
 * period, trend = (mean of the 2nd period − mean of the 1st) / m, seasonal index = the average
 * deviation of each phase from its period's mean over the first two periods; without one,
 * level = first observation, trend 0. Missing values are skipped.
 */
export function initialState(values: ArrayLike<number>, period: number): { level: number; trend: number; season?: Float64Array } {
  if (period === 0) {
    for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i]!)) return { level: values[i]!, trend: 0 };
    throw new NovaError('MODELS_EMPTY_SERIES', 'Holt needs at least one observed value');
  }
  if (values.length < 2 * period) throw new NovaError('MODELS_INVALID_ARGUMENT', `seasonal Holt-Winters needs two full periods (${2 * period} values), got ${values.length}`);
  const means = [0, 1].map((k) => nanMean(values, k * period, (k + 1) * period));
  if (!Number.isFinite(means[0]!) || !Number.isFinite(means[1]!)) throw new NovaError('MODELS_EMPTY_SERIES', 'Holt-Winters needs observations in each of its first two periods');
  const season = new Float64Array(period);
  for (let i = 0; i < period; i++) {
    let sum = 0;
    let n = 0;
    for (let k = 0; k < 2; k++) {
      const y = values[i + k * period]!;
      if (Number.isFinite(y)) {
        sum += y - means[k]!;
        n++;
      }
    }
    season[i] = n > 0 ? sum / n : 0;
  }
  return { level: means[0]!, trend: (means[1]! - means[0]!) / period, season };
}

function nanMean(values: ArrayLike<number>, from: number, to: number): number {
  let sum = 0;
  let n = 0;
  for (let i = from; i < to; i++) {
    const y = values[i]!;
    if (Number.isFinite(y)) {
      sum += y;
      n++;
    }
  }
  return n > 0 ? sum / n : Number.NaN;
}

/** The grid fitHoltWinters searches (kept small: it runs per series on every fleet refresh). */
export const HW_GRID = {
  alpha: [0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 0.9],
  beta: [0, 0.02, 0.1],
  gamma: [0.02, 0.1, 0.3],
  phi: [0.9, 0.98],
} as const;

/**
 * Parameters minimising the in-sample one-step squared error over values[0..end) (the
 * standard Holt-Winters criterion), by grid search. Seasonal with `period` when two full
 * periods of history exist, otherwise Holt's damped trend.
 */
export function fitHoltWinters(values: ArrayLike<number>, end: number, period: number): HoltWintersParams {
  const m = end >= 2 * period && period > 0 ? period : 0;
  const init = initialState(values, m);
  let best: HoltWintersParams = { alpha: 0.2, beta: 0, gamma: 0, phi: 0.98, period: m };
  let bestSse = Infinity;
  for (const alpha of HW_GRID.alpha) {
    for (const beta of HW_GRID.beta) {
      for (const gamma of m > 0 ? HW_GRID.gamma : [0]) {
        for (const phi of HW_GRID.phi) {
          const params = { alpha, beta, gamma, phi, period: m };
          const hw = new HoltWinters(params, init);
          let sse = 0;
          for (let t = 0; t < end; t++) {
            const e = hw.update(values[t]!);
            if (Number.isFinite(e)) sse += e * e;
          }
          if (sse < bestSse) {
            bestSse = sse;
            best = params;
          }
        }
      }
    }
  }
  return best;
}
