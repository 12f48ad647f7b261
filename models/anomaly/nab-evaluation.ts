import type { NabCorpus } from './nab-data.ts';
import { scoreSeries, type DetectorOptions } from './detector.ts';
import { NAB_PROFILES, NAB_PROFILE_NAMES, probationaryLength, rowWeights, scoreCorpus, windowRowRanges, type CorpusScore, type NabProfileName, type RowWeights } from './nab-scorer.ts';

/** A corpus with each file's window rows and per-profile row weights computed once. */
export interface PreparedCorpus {
  corpus: NabCorpus;
  weights: Array<Record<NabProfileName, RowWeights>>;
  windowCount: number;
}

/** Resolves every window to rows and precomputes NAB's row weights for the three profiles. */
export function prepareCorpus(corpus: NabCorpus): PreparedCorpus {
  let windowCount = 0;
  const weights = corpus.files.map((f) => {
    const ranges = windowRowRanges(f.timestamps, corpus.windows.get(f.key) ?? [], f.key);
    windowCount += ranges.length;
    const rows = f.values.length;
    return Object.fromEntries(NAB_PROFILE_NAMES.map((p) => [p, rowWeights(rows, ranges, NAB_PROFILES[p])])) as Record<NabProfileName, RowWeights>;
  });
  return { corpus, weights, windowCount };
}

/**
 * Runs our detector over every file as NAB runs a detector: a fresh detector per file, told
 * only NAB's probationary length (no labels, no file min/max), alarming at `threshold`.
 */
export function detectCorpus(corpus: NabCorpus, threshold: number, options: Partial<DetectorOptions> = {}): Float64Array[] {
  return corpus.files.map((f) => {
    const out = scoreSeries(f.values, { ...options, probationSamples: probationaryLength(f.values.length), threshold }, f.timestamps);
    return Float64Array.from(out, (o) => o.score);
  });
}

/** Scores per-file anomaly scores under one profile at one threshold. */
export function scorePrepared(prepared: PreparedCorpus, scores: readonly Float64Array[], profile: NabProfileName, threshold: number): CorpusScore {
  return scoreCorpus(
    prepared.corpus.files.map((f, i) => ({ key: f.key, scores: scores[i]!, weights: prepared.weights[i]![profile] })),
    profile,
    threshold,
  );
}

/** Our detector scored under each profile at that profile's threshold. */
export function evaluateDetector(prepared: PreparedCorpus, thresholds: Readonly<Record<NabProfileName, number>>, options: Partial<DetectorOptions> = {}): Record<NabProfileName, CorpusScore> {
  const out = {} as Record<NabProfileName, CorpusScore>;
  for (const p of NAB_PROFILE_NAMES) out[p] = scorePrepared(prepared, detectCorpus(prepared.corpus, thresholds[p], options), p, thresholds[p]);
  return out;
}
