import type { NabProfileName } from './nab-scorer.ts';

/**
 * The thresholds `bench:nab` scores with, one per profile as NAB's config/thresholds.json has.
 * Chosen once, on the 17 realAWSCloudwatch files only (never on data being scored), by
 * `selectThreshold` in nab-thresholds.ts: scan 0.05…0.99 in steps of 0.01, keep every threshold whose
 * normalised score is within 1 point of the best, ship the median of those. The median of the
 * near-best plateau rather than NAB's arg-max, because on 30 windows the arg-max sits on the
 * edge of a cliff (standard: 0.55 → 78.5, 0.56 → 75.6). Re-run: `npm run bench:nab -- --select-thresholds`.
 */
export const NAB_SHIPPED_THRESHOLDS: Readonly<Record<NabProfileName, number>> = Object.freeze({
  // Plateaus found (within 1 point of the best): standard 0.44–0.55, low-FP 0.48–0.55, low-FN 0.44–0.55.
  standard: 0.49,
  reward_low_FP_rate: 0.51,
  reward_low_FN_rate: 0.49,
});
