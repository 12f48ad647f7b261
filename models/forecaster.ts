import { NovaError } from '../core/index.ts';
import { Z_95, alphaForHalfLife, ewma, inferStepMs, quantile, seasonalNaiveWindow, type SeriesPoint } from './baselines.ts';
import type { ForecastMethod, VmForecast } from './types.ts';

/** One usage sample of a VM (ts in ms since epoch). */
export interface VmUsagePoint {
  ts: number;
  cpuCores: number;
  memBytes: number;
}

/** What the forecaster needs to know about a VM besides its usage. */
export interface VmMeta {
  vmId: string;
  hostId: string;
  vcpus: number;
  memTotalBytes: number;
}

/** Options of forecastVm. */
export interface ForecastOptions {
  horizonMinutes: number;
  /** Length of the seasonal cycle; a day by default. */
  seasonMinutes?: number;
  /** Forecast origin (ms); defaults to the last sample. Samples after it are ignored, so backtests cannot peek. */
  now?: number;
  /** Half-life of the EWMA weights; an hour by default. */
  halfLifeMinutes?: number;
}

/** Below this many samples an EWMA variance means nothing, so the last value is used. */
export const MIN_EWMA_POINTS = 3;
/** Sampling step assumed when the history has a single timestamp (the usual agent interval). */
const FALLBACK_STEP_MS = 5 * 60_000;
const MINUTE_MS = 60_000;

/**
 * Predicts a VM's p95 CPU (cores) and p95 memory (bytes) over the next horizon: seasonal naive
 * with a season + horizon of history, else EWMA level + 1.645 EW std, else the last value.
 */
export function forecastVm(history: readonly VmUsagePoint[], meta: VmMeta, opts: ForecastOptions): VmForecast {
  const horizonMs = positiveMinutes(opts.horizonMinutes, 'horizonMinutes');
  const seasonMs = positiveMinutes(opts.seasonMinutes ?? 1440, 'seasonMinutes');
  const halfLifeMs = positiveMinutes(opts.halfLifeMinutes ?? 60, 'halfLifeMinutes');
  if (!(meta.vcpus >= 0 && meta.memTotalBytes >= 0 && Number.isFinite(meta.vcpus) && Number.isFinite(meta.memTotalBytes))) {
    throw new NovaError('MODELS_INVALID_ARGUMENT', `VM ${meta.vmId} needs finite, non-negative vcpus and memTotalBytes (got ${meta.vcpus}, ${meta.memTotalBytes})`);
  }

  // A sample missing either metric says nothing reliable about the VM at that time.
  const usable = history.filter((p) => Number.isFinite(p.ts) && Number.isFinite(p.cpuCores) && Number.isFinite(p.memBytes));
  const sorted = [...usable].sort((a, b) => a.ts - b.ts);
  const now = opts.now ?? sorted[sorted.length - 1]?.ts;
  const points = now === undefined ? [] : sorted.filter((p) => p.ts <= now);
  if (points.length === 0 || now === undefined) {
    throw new NovaError('MODELS_EMPTY_HISTORY', `VM ${meta.vmId} has no usable samples before the forecast time; forecast only VMs with history`);
  }

  const stepMs = inferStepMs(points.map((p) => p.ts)) ?? FALLBACK_STEP_MS;
  const predicted = predict(points, now, stepMs, seasonMs, horizonMs, halfLifeMs);
  return {
    vmId: meta.vmId,
    hostId: meta.hostId,
    vcpus: meta.vcpus,
    memTotalBytes: meta.memTotalBytes,
    p95CpuCores: clamp(predicted.cpu, 0, meta.vcpus),
    // Whole bytes, rounded up: a reservation must not come out below the prediction.
    p95MemBytes: clamp(Math.ceil(predicted.mem), 0, meta.memTotalBytes),
    horizonMinutes: opts.horizonMinutes,
    method: predicted.method,
    historyPoints: points.length,
  };
}

function predict(points: readonly VmUsagePoint[], now: number, stepMs: number, seasonMs: number, horizonMs: number, halfLifeMs: number): { cpu: number; mem: number; method: ForecastMethod } {
  const last = points[points.length - 1]!;
  if (points.length < MIN_EWMA_POINTS) return { cpu: last.cpuCores, mem: last.memBytes, method: 'last-value' };

  // One step of slack: a lookback of exactly season + horizon rarely starts on a sample.
  const span = now - points[0]!.ts;
  if (span + stepMs >= seasonMs + horizonMs) {
    const cpuWindow = seasonalNaiveWindow(series(points, 'cpuCores'), stepMs, seasonMs, horizonMs, now);
    const memWindow = seasonalNaiveWindow(series(points, 'memBytes'), stepMs, seasonMs, horizonMs, now);
    const expected = Math.max(1, Math.floor(horizonMs / stepMs));
    // A window mostly lost to gaps would make a p95 out of one or two samples; EWMA is safer then.
    if (cpuWindow.length * 2 >= expected && memWindow.length * 2 >= expected) {
      return { cpu: quantile(cpuWindow, 0.95), mem: quantile(memWindow, 0.95), method: 'seasonal-naive' };
    }
  }

  const alpha = alphaForHalfLife(stepMs, halfLifeMs);
  const cpu = ewma(points.map((p) => p.cpuCores), alpha);
  const mem = ewma(points.map((p) => p.memBytes), alpha);
  return {
    cpu: cpu.level + Z_95 * Math.sqrt(cpu.variance),
    mem: mem.level + Z_95 * Math.sqrt(mem.variance),
    method: 'ewma',
  };
}

function series(points: readonly VmUsagePoint[], key: 'cpuCores' | 'memBytes'): SeriesPoint[] {
  return points.map((p) => ({ ts: p.ts, value: p[key] }));
}

function positiveMinutes(minutes: number, name: string): number {
  if (!(Number.isFinite(minutes) && minutes > 0)) {
    throw new NovaError('MODELS_INVALID_ARGUMENT', `${name} must be a positive number of minutes, got ${minutes}`);
  }
  return minutes * MINUTE_MS;
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, x));
}
