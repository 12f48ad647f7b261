import { NovaError } from '../../core/index.ts';
import type { VmHistory } from '../history.ts';
import { historiesToSeries } from './fleet-source.ts';
import { forecastBatch, type ForecastModel, type InferenceEngine } from './model.ts';

/** A VM's demand bound from the quantile model, in cores and bytes. */
export interface QuantileDemand {
  cpuCores: number;
  memBytes: number;
}

/**
 * The model's forecast of each VM for the planning horizon: the largest `quantile` forecast
 * over the model's horizons that fall within `horizonMinutes` (so a 1-hour plan at q = 0.9
 * takes the highest p90 among the 5-min, 30-min and 1-hour forecasts). VMs without a complete
 * lag window are absent from the result; the caller falls back to a baseline for them.
 */
export async function quantileDemand(model: ForecastModel, histories: readonly VmHistory[], opts: { horizonMinutes: number; quantile: number; engine?: InferenceEngine }): Promise<Map<string, QuantileDemand>> {
  const { spec } = model;
  const qi = spec.quantiles.indexOf(opts.quantile);
  if (qi < 0) throw new NovaError('MODELS_INVALID_ARGUMENT', `the model forecasts quantiles ${spec.quantiles.join(', ')}; ${opts.quantile} is not one of them`);
  const stepMinutes = spec.stepSec / 60;
  const horizons = spec.horizons.map((h, i) => ({ h, i })).filter(({ h }) => h * stepMinutes <= opts.horizonMinutes);
  if (horizons.length === 0) throw new NovaError('MODELS_INVALID_ARGUMENT', `no model horizon within ${opts.horizonMinutes} minutes (shortest: ${spec.horizons[0]! * stepMinutes} minutes)`);
  const { forecasts } = await forecastBatch(model, historiesToSeries(histories), opts.engine ?? 'js');
  const byId = new Map(forecasts.map((f) => [f.id, f]));
  const out = new Map<string, QuantileDemand>();
  for (const h of histories) {
    const cpu = byId.get(`fleet/${h.vmId}/cpu`);
    const mem = byId.get(`fleet/${h.vmId}/mem`);
    if (!cpu || !mem) continue;
    const high = (f: typeof cpu) => Math.max(...horizons.map(({ i }) => f.quantiles[i]![qi]!));
    out.set(h.vmId, { cpuCores: Math.min(h.vcpus, high(cpu)), memBytes: Math.min(h.memTotalBytes, high(mem)) });
  }
  return out;
}
