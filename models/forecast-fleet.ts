import type { Config, QuestDbClient } from '../core/index.ts';
import { forecastVm } from './forecaster.ts';
import { loadVmHistory } from './history.ts';
import type { VmForecast } from './types.ts';

/** Options of forecastFleet. */
export interface FleetForecastOptions {
  horizonMinutes?: number;
  /** History to read; the default (a day + an hour) lets the daily seasonal baseline engage. */
  lookbackMinutes?: number;
  /** Forecast origin (ms); now by default. */
  now?: number;
  seasonMinutes?: number;
}

/** Forecasts p95 CPU and memory of every VM that reported in the lookback window (sorted by vmId). */
export async function forecastFleet(questdb: QuestDbClient, config: Config, opts: FleetForecastOptions = {}): Promise<VmForecast[]> {
  const horizonMinutes = opts.horizonMinutes ?? 60;
  const lookbackMinutes = opts.lookbackMinutes ?? 1500;
  const now = opts.now ?? Date.now();
  const histories = await loadVmHistory(questdb, config, { lookbackMinutes, until: now });
  return histories.map((h) => forecastVm(h.points, h, { horizonMinutes, now, seasonMinutes: opts.seasonMinutes }));
}
