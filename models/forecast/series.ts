/** Grid step every forecaster here works on: the traces' native 5-minute interval. */
export const STEP_SEC = 300;

/**
 * One regularly sampled series on the STEP_SEC grid; NaN marks a step without a sample.
 * `entity` names the VM, so series of the same VM (CPU and memory) land on the same side of
 * every split; `group` is what calibration and evaluation pool over (one trace kind + metric).
 */
export interface RegularSeries {
  id: string;
  entity: string;
  group: string;
  /** Epoch seconds of values[0]; `absoluteTime` false means seconds since an unknown trace start. */
  startSec: number;
  absoluteTime: boolean;
  values: Float64Array;
}

/**
 * Averages irregular samples into STEP_SEC bins anchored at the first sample's bin (epoch-aligned,
 * so time-of-day features stay exact); empty bins are NaN. Samples must be sorted by time.
 */
export function toGrid(timesSec: ArrayLike<number>, values: ArrayLike<number>, stepSec = STEP_SEC): { startSec: number; values: Float64Array } {
  const n = timesSec.length;
  if (n === 0) return { startSec: 0, values: new Float64Array(0) };
  const first = Math.floor(timesSec[0]! / stepSec);
  const last = Math.floor(timesSec[n - 1]! / stepSec);
  const sums = new Float64Array(last - first + 1);
  const counts = new Uint32Array(last - first + 1);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) continue;
    const k = Math.floor(timesSec[i]! / stepSec) - first;
    sums[k]! += v;
    counts[k]! += 1;
  }
  const out = new Float64Array(sums.length);
  for (let k = 0; k < out.length; k++) out[k] = counts[k]! > 0 ? sums[k]! / counts[k]! : Number.NaN;
  return { startSec: first * stepSec, values: fillSingleGaps(out) };
}

/**
 * Interpolates each missing step that has a sample on both sides. Sampling jitter (299 s
 * steps drifting across 300 s bins) leaves such holes; longer gaps are real outages and stay NaN.
 */
export function fillSingleGaps(values: Float64Array): Float64Array {
  for (let i = 1; i + 1 < values.length; i++) {
    if (Number.isNaN(values[i]!) && Number.isFinite(values[i - 1]!) && Number.isFinite(values[i + 1]!)) {
      values[i] = (values[i - 1]! + values[i + 1]!) / 2;
    }
  }
  return values;
}
