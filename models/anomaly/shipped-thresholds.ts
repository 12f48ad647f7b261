import type { NabProfileName } from './nab-scorer.ts';

/**
 * The thresholds the detector ships with (the standard one is `DETECTOR_DEFAULTS.threshold`, the
 * streams worker's) and `bench:nab` scores with, one per profile as NAB's config/thresholds.json
 * has. Chosen once on NAB's 41 shared files (never on the held-out realTraffic / realTweets) by
 * `selectThreshold` in nab-thresholds.ts: scan 0.05…0.99 in steps of 0.01, keep every threshold
 * whose normalised score is within 1 point of the best, ship the median of those — the middle of
 * the plateau rather than NAB's arg-max, which on ~70 windows sits on the edge of a cliff.
 * `bench:nab` re-runs the selection on whatever it scores and prints a leave-one-category-out
 * estimate (each folder scored at a threshold chosen without it) beside the shipped result.
 */
export const NAB_SHIPPED_THRESHOLDS: Readonly<Record<NabProfileName, number>> = Object.freeze({
  // Plateaus on the 41 files (within 1 point of the best): standard 0.36–0.41, low-FP 0.36–0.48, low-FN 0.36–0.38.
  standard: 0.37,
  reward_low_FP_rate: 0.4,
  reward_low_FN_rate: 0.37,
});
