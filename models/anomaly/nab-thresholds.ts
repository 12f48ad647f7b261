import { NovaError } from '../../core/index.ts';
import type { DetectorOptions } from './detector.ts';
import { detectCorpus, scorePrepared, type PreparedCorpus } from './nab-evaluation.ts';
import type { NabProfileName } from './nab-scorer.ts';

export { NAB_SHIPPED_THRESHOLDS } from './shipped-thresholds.ts';

/** Candidate thresholds of the selection procedure. */
export const THRESHOLD_GRID: readonly number[] = Array.from({ length: 95 }, (_, i) => Math.round((0.05 + i * 0.01) * 100) / 100);

/** Normalised score of our detector at each candidate threshold, for one profile. */
export function thresholdCurve(prepared: PreparedCorpus, profile: NabProfileName, grid: readonly number[] = THRESHOLD_GRID, options: Partial<DetectorOptions> = {}): Array<{ threshold: number; normalized: number }> {
  return grid.map((threshold) => ({ threshold, normalized: scorePrepared(prepared, detectCorpus(prepared.corpus, threshold, options), profile, threshold).normalized }));
}

/** The median of the thresholds scoring within `tolerance` points of the best (lower median on ties). */
export function selectThreshold(curve: ReadonlyArray<{ threshold: number; normalized: number }>, tolerance = 1): { threshold: number; best: number; plateau: [number, number] } {
  if (curve.length === 0) throw new NovaError('NAB_EMPTY_CORPUS', 'no candidate thresholds to choose from');
  const best = Math.max(...curve.map((c) => c.normalized));
  const kept = curve.filter((c) => c.normalized >= best - tolerance).map((c) => c.threshold).sort((a, b) => a - b);
  return { threshold: kept[Math.floor((kept.length - 1) / 2)]!, best, plateau: [kept[0]!, kept[kept.length - 1]!] };
}
