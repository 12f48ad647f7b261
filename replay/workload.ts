import { NovaError } from '../core/index.ts';

/** Samples per PlanetLab day: one per 5 minutes. */
export const PLANETLAB_SAMPLES = 288;

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

const INTEGER = /^[+-]?\d+$/;

/**
 * Parses one PlanetLab trace file the way CloudSim's UtilizationModelPlanetLabInMemory does:
 * the first `samples` lines are integer percents, value/100 is the utilisation, and one more
 * point repeating the last sample is appended.
 */
export function parseTrace(text: string, name: string, samples = PLANETLAB_SAMPLES): Float64Array {
  const lines = text.split('\n');
  const data = new Float64Array(samples + 1);
  for (let i = 0; i < samples; i++) {
    let line = lines[i];
    if (line !== undefined && line.endsWith('\r')) line = line.slice(0, -1);
    if (line === undefined || !INTEGER.test(line)) {
      const atEnd = line === undefined || (line === '' && i === lines.length - 1);
      throw new NovaError('BACKTEST_TRACE_INVALID', `trace ${name} line ${i + 1}: expected an integer CPU percent, found ${atEnd ? 'end of file' : JSON.stringify(line)}; PlanetLab files hold ${samples} lines, one integer each`);
    }
    data[i] = Number.parseInt(line, 10) / 100.0;
  }
  data[samples] = data[samples - 1]!;
  return data;
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
