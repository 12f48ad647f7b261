import { NovaError } from '../core/index.ts';
import type { BacktestResult } from './simulator.ts';

/** Prices that turn a run into money; both are assumptions, not measurements. */
export interface BacktestCostRates {
  /** Electricity, $ per kWh. */
  readonly kwhPrice: number;
  /** Host amortisation (purchase, space, support) per hour a host is switched on, $. */
  readonly hostHourPrice: number;
}

/** Assumed defaults: 0.15 $/kWh and 0.05 $ per active host-hour. */
export const DEFAULT_BACKTEST_COST_RATES: BacktestCostRates = Object.freeze({ kwhPrice: 0.15, hostHourPrice: 0.05 });

/** Validates user-given rates (finite, non-negative). */
export function backtestCostRates(rates: { kwhPrice?: number | undefined; hostHourPrice?: number | undefined } = {}): BacktestCostRates {
  const r = { kwhPrice: rates.kwhPrice ?? DEFAULT_BACKTEST_COST_RATES.kwhPrice, hostHourPrice: rates.hostHourPrice ?? DEFAULT_BACKTEST_COST_RATES.hostHourPrice };
  for (const [k, v] of Object.entries(r)) {
    if (!(Number.isFinite(v) && v >= 0)) throw new NovaError('BACKTEST_OPTION_INVALID', `${k} must be a non-negative number, got ${v}`);
  }
  return Object.freeze(r);
}

/**
 * Host-hours a run pays amortisation for: the hours hosts were active, except under the
 * non-power-aware model, where every host is on (and charged its maximum power) all the time.
 */
export function billedHostHours(r: BacktestResult): number {
  return r.energyModel === 'max-power' ? (r.hosts * r.lastEventTime) / 3600 : r.activeHostHours;
}

/** Cost of a run in $: energy × kWh price + billed host-hours × host-hour price. */
export function backtestCost(energyKWh: number, hostHours: number, rates: BacktestCostRates): number {
  return energyKWh * rates.kwhPrice + hostHours * rates.hostHourPrice;
}
