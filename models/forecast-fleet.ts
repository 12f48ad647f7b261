import type { Config, QuestDbClient } from '../core/index.ts';
import { forecastVm } from './forecaster.ts';
import { loadVmHistory } from './history.ts';
import { quantileDemand } from './forecast/serve.ts';
import type { ForecastModel } from './forecast/model.ts';
import type { VmForecast } from './types.ts';

/** Options of forecastFleet. */
export interface FleetForecastOptions {
  horizonMinutes?: number;
  /** History to read; the default (a day + an hour) lets the daily seasonal baseline engage. */
  lookbackMinutes?: number;
  /** Forecast origin (ms); now by default. */
  now?: number;
  seasonMinutes?: number;
  /** A trained quantile model: VMs with a complete lag window are forecast by it, the rest by the baselines. */
  model?: ForecastModel;
  /** Quantile of the model the plan sizes for (0.9 or 0.99); 0.9 by default. */
  quantile?: number;
}

/** Forecasts p95 CPU and memory of every VM that reported in the lookback window (sorted by vmId). */
export async function forecastFleet(questdb: QuestDbClient, config: Config, opts: FleetForecastOptions = {}): Promise<VmForecast[]> {
  const horizonMinutes = opts.horizonMinutes ?? 60;
  const lookbackMinutes = opts.lookbackMinutes ?? 1500;
  const now = opts.now ?? Date.now();
  const histories = await loadVmHistory(questdb, config, { lookbackMinutes, until: now });
  const baseline = histories.map((h) => forecastVm(h.points, h, { horizonMinutes, now, seasonMinutes: opts.seasonMinutes }));
  if (!opts.model) return baseline;
  const demand = await quantileDemand(opts.model, histories, { horizonMinutes, quantile: opts.quantile ?? 0.9 });
  return baseline.map((f) => {
    const d = demand.get(f.vmId);
    return d ? { ...f, p95CpuCores: d.cpuCores, p95MemBytes: d.memBytes, method: 'quantile-mlp' as const } : f;
  });
}
