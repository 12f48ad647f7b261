/**
 * A host's power draw against CPU utilisation: 11 points at 0 %, 10 %, …, 100 %, linear
 * between them (how SPECpower reports servers). A linear idle-to-max model is the 11 points of
 * a straight line, so every host is priced by the one function.
 */
export type PowerCurve = Float64Array;

/** The curve of a host: its measured points when given, else the straight line from idle to max watts. */
export function powerCurve(points: readonly number[] | undefined, idleWatts: number, maxWatts: number): PowerCurve {
  if (points !== undefined) return Float64Array.from(points);
  return Float64Array.from({ length: 11 }, (_, i) => idleWatts + ((maxWatts - idleWatts) * i) / 10);
}

/** Watts at utilisation u (clamped to [0, 1]). */
export function wattsAt(curve: PowerCurve, u: number): number {
  const x = Math.min(1, Math.max(0, u)) * 10;
  const i = Math.floor(x);
  if (i >= 10) return curve[10]!;
  return curve[i]! + (curve[i + 1]! - curve[i]!) * (x - i);
}

/** True when the points form a valid curve: 11 finite, non-negative, non-decreasing watts. */
export function isValidCurve(points: readonly number[]): boolean {
  if (points.length !== 11) return false;
  for (let i = 0; i < 11; i++) {
    const w = points[i]!;
    if (!(Number.isFinite(w) && w >= 0) || (i > 0 && w < points[i - 1]!)) return false;
  }
  return true;
}
