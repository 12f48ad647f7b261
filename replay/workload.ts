import { join } from 'node:path';
import { NovaError } from '../core/index.ts';
import { PLANETLAB_SAMPLES, PLANETLAB_STEP_SECONDS, readPlanetLabDay, type FileOrderSource } from '../traces/index.ts';

/** Per-VM CPU utilisation traces, one VM per file, in the order VMs are numbered. */
export interface Workload {
  /** The day folder's name (e.g. 20110303), for labels only. */
  readonly day: string;
  /** File name of VM i. */
  readonly names: readonly string[];
  /** VM i's utilisation in [0, 1] at t = 300·k s, k = 0..288 (the last point repeats the 288th sample). */
  readonly utilization: readonly Float64Array[];
  /** Seconds between samples. */
  readonly interval: number;
}

/** A PlanetLab day read from disk, with the provenance of its VM order. */
export interface LoadedDay {
  workload: Workload;
  order: FileOrderSource;
  dayDir: string;
}

/**
 * A trace file's values as CloudSim's UtilizationModelPlanetLabInMemory holds them: the first
 * `samples` integer percents, value/100 each, and one more point repeating the last sample.
 * Fewer values than `samples` is BACKTEST_TRACE_INVALID (CloudSim would fail on such a file).
 */
export function cloudSimUtilization(percent: ArrayLike<number>, name: string, samples = PLANETLAB_SAMPLES): Float64Array {
  if (percent.length < samples) throw new NovaError('BACKTEST_TRACE_INVALID', `trace ${name} holds ${percent.length} values; the CloudSim experiment needs ${samples} (one per 5 minutes of the day)`);
  const data = new Float64Array(samples + 1);
  for (let i = 0; i < samples; i++) data[i] = percent[i]! / 100.0;
  data[samples] = data[samples - 1]!;
  return data;
}

/**
 * Loads every trace of a day folder (read and validated by traces/). VM i is the i-th name of
 * `orderFile` when one is given and exists (the listing order CloudSim saw, needed to reproduce
 * its table); otherwise names sorted.
 */
export function loadPlanetLabDay(dayDir: string, orderFile?: string): LoadedDay {
  const day = readPlanetLabDay(dayDir, { orderFile });
  const utilization = day.names.map((n, i) => cloudSimUtilization(day.percent[i]!, join(dayDir, n)));
  return { workload: { day: day.day, names: day.names, utilization, interval: PLANETLAB_STEP_SECONDS }, order: day.order, dayDir };
}

/**
 * Utilisation at time t (s): linear interpolation between the samples around t, with
 * CloudSim's exact operations (an exact multiple of the interval reads the sample itself).
 */
export function utilizationAt(data: Float64Array, t: number, interval: number): number {
  if (t % interval === 0) return data[Math.trunc(Math.trunc(t) / Math.trunc(interval))]!;
  const k1 = Math.floor(t / interval);
  const k2 = Math.ceil(t / interval);
  const u1 = data[k1]!;
  const u2 = data[k2];
  if (u2 === undefined) {
    throw new NovaError('BACKTEST_TIME_RANGE', `time ${t} s is past the end of a trace of ${data.length} points; the simulation ran longer than the workload`);
  }
  const delta = (u2 - u1) / ((k2 - k1) * interval);
  return u1 + delta * (t - k1 * interval);
}
