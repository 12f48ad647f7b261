/**
 * Split-conformal shift of one quantile level (one-sided conformalised quantile regression,
 * Romano et al. 2019): with scores r_i = (y_i − q̂_i)/scale_i on held-out data, the
 * ⌈(n + 1)τ⌉-th smallest score. Adding it (× scale) to q̂ covers a new exchangeable point
 * with probability ≥ τ. Returns 0 without scores.
 */
export function conformalShift(scores: ArrayLike<number>, tau: number): number {
  const n = scores.length;
  if (n === 0) return 0;
  const sorted = Float64Array.from(scores).sort();
  const k = Math.min(n, Math.ceil((n + 1) * tau));
  return sorted[Math.max(0, k - 1)]!;
}

/** Shifts per horizon and quantile level, in units of each example's local scale. */
export interface QuantileShifts {
  horizons: number[];
  quantiles: number[];
  /** shift[h][q]; 0 for levels that are not calibrated (the median). */
  shift: number[][];
  /** Calibration points per horizon. */
  count: number[];
}

/** Levels above the median are calibrated: the median stays the trained point forecast. */
export function isCalibrated(tau: number): boolean {
  return tau > 0.5;
}

/** Collects calibration scores per (horizon, quantile) and turns them into shifts. */
export class ShiftCollector {
  private readonly scores: number[][][];
  private readonly counts: number[];

  constructor(readonly horizons: number[], readonly quantiles: number[]) {
    this.scores = horizons.map(() => quantiles.map(() => []));
    this.counts = horizons.map(() => 0);
  }

  /** One held-out target against its (uncalibrated) quantile forecast, both in data units. */
  add(h: number, q: number, actual: number, forecast: number, scale: number): void {
    if (q === 0) this.counts[h]! += 1;
    // Scores of uncalibrated levels would never be read: do not keep them.
    if (isCalibrated(this.quantiles[q]!)) this.scores[h]![q]!.push((actual - forecast) / scale);
  }

  finish(): QuantileShifts {
    return {
      horizons: this.horizons,
      quantiles: this.quantiles,
      shift: this.scores.map((byQ) => byQ.map((s, q) => (isCalibrated(this.quantiles[q]!) ? conformalShift(s, this.quantiles[q]!) : 0))),
      count: [...this.counts],
    };
  }
}

/**
 * Applies shifts to one horizon's raw quantiles (data units) in place: q += shift × scale, then
 * non-decreasing across levels and ≥ `floor` (resource usage is never negative).
 */
export function applyShifts(q: Float64Array | number[], shifts: readonly number[], scale: number, floor = 0): void {
  let prev = floor;
  for (let k = 0; k < q.length; k++) {
    let v = q[k]! + shifts[k]! * scale;
    if (v < prev) v = prev;
    q[k] = v;
    prev = v;
  }
}
