import { HISTORY_LENGTH } from './policy.ts';
import { iqr, linearFit, mad } from './stats.ts';
import type { TentativeFleet } from './tentative.ts';

/**
 * Decides whether a host is overloaded (CloudSim's isHostOverUtilized), on the host's current,
 * possibly tentative, VM list plus VM `extra` when ≥ 0 (the "after allocation" test).
 */
export interface OverloadDetector {
  readonly name: string;
  /** What the test reduces to at t = 0, when only the VM being placed requests anything: MIPS_v / C > this. */
  readonly initialThreshold: number;
  isOverloaded(fleet: TentativeFleet, h: number, extra: number): boolean;
}

/** Fallback of the history-based detectors while a host has too little history. */
const FALLBACK_THRESHOLD = 0.7;
const buffer = new Float64Array(HISTORY_LENGTH);
const reversed = new Float64Array(10);

/** THR(θ): the host's requested MIPS over its capacity exceeds θ. */
export function staticThreshold(threshold: number): OverloadDetector {
  return {
    name: `THR ${threshold}`,
    initialThreshold: threshold,
    isOverloaded: (fleet, h, extra) => fleet.demandRatio(h, extra) > threshold,
  };
}

/** MAD(s): overloaded above 1 − s·MAD of the host's utilisation history (≥ 12 values, else THR 0.7). */
export function medianAbsoluteDeviation(safety: number): OverloadDetector {
  return {
    name: `MAD ${safety}`,
    initialThreshold: FALLBACK_THRESHOLD,
    isOverloaded(fleet, h, extra) {
      const n = fleet.hostHistory(h, extra, buffer);
      if (n < 12) return fleet.demandRatio(h, extra) > FALLBACK_THRESHOLD;
      return fleet.demandRatio(h, extra) > 1 - safety * mad(buffer, n);
    },
  };
}

/** IQR(s): overloaded above 1 − s·IQR of the host's utilisation history (≥ 12 values, else THR 0.7). */
export function interQuartileRange(safety: number): OverloadDetector {
  return {
    name: `IQR ${safety}`,
    initialThreshold: FALLBACK_THRESHOLD,
    isOverloaded(fleet, h, extra) {
      const n = fleet.hostHistory(h, extra, buffer);
      if (n < 12) return fleet.demandRatio(h, extra) > FALLBACK_THRESHOLD;
      return fleet.demandRatio(h, extra) > 1 - safety * iqr(buffer, n);
    },
  };
}

/**
 * LR(s): least squares over the 10 newest history values, extrapolated one migration time
 * (rounded up to whole intervals) past now; overloaded when s·prediction ≥ 1. The current
 * demand is not used. (CloudSim's tricube weights are computed but never applied.)
 */
export function localRegression(safety: number, interval = 300): OverloadDetector {
  return {
    name: `LR ${safety}`,
    initialThreshold: FALLBACK_THRESHOLD,
    isOverloaded(fleet, h, extra) {
      const n = fleet.hostHistory(h, extra, buffer);
      if (n < 10) return fleet.demandRatio(h, extra) > FALLBACK_THRESHOLD;
      for (let i = 0; i < 10; i++) reversed[i] = buffer[10 - i - 1]!;
      const [a, b] = linearFit(reversed, 10);
      const exp = fleet.view.experiment;
      const maxMigration = fleet.maxRamMb(h, extra) / (exp.hostBw[h]! / (2 * 8000));
      const intervals = Math.ceil(maxMigration / interval);
      let predicted = a + b * (10 + intervals);
      predicted *= safety;
      return predicted >= 1;
    },
  };
}
