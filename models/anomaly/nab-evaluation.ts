import type { NabCorpus } from './nab-data.ts';
import { AlarmGate, type WarmUp } from './alarm-gate.ts';
import { StreamingAnomalyDetector, type DetectorOptions } from './detector.ts';
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

/** One file's detector run before the alarm gate: what `AlarmGate` needs to replay it at any threshold. */
export interface RecordedRun {
  scores: Float64Array;
  eligible: Uint8Array;
  index: Int32Array;
  refractorySamples: number;
  warmUp: WarmUp;
}

/**
 * Runs our detector over every file as NAB runs a detector: a fresh detector per file, told
 * only NAB's probationary length (no labels, no file min/max), rows in file order (late and
 * repeated rows go through the detector's own policy). The detector's state does not depend on
 * the threshold, so one run serves every threshold.
 */
export function recordCorpus(corpus: NabCorpus, options: Partial<DetectorOptions> = {}): RecordedRun[] {
  return corpus.files.map((f) => {
    const n = f.values.length;
    const d = new StreamingAnomalyDetector({ ...options, probationSamples: probationaryLength(n) });
    const run: RecordedRun = { scores: new Float64Array(n), eligible: new Uint8Array(n), index: new Int32Array(n), refractorySamples: d.refractorySamples, warmUp: d.warmUp };
    for (let i = 0; i < n; i++) {
      const g = d.update(f.timestamps[i]!, f.values[i]!).gate;
      run.scores[i] = g.score;
      run.eligible[i] = g.eligible ? 1 : 0;
      run.index[i] = g.index;
    }
    return run;
  });
}

/** The per-row scores the detector would have output at `threshold` (a test holds this to the live detector). */
export function gateRuns(runs: readonly RecordedRun[], threshold: number): Float64Array[] {
  return runs.map((r) => {
    const gate = new AlarmGate(threshold, r.refractorySamples, r.warmUp);
    return Float64Array.from(r.scores, (s, i) => gate.apply(r.index[i]!, s, r.eligible[i] === 1).score);
  });
}

/** Per-file anomaly scores of our detector at one threshold. */
export function detectCorpus(corpus: NabCorpus, threshold: number, options: Partial<DetectorOptions> = {}): Float64Array[] {
  return gateRuns(recordCorpus(corpus, options), threshold);
}

/** Scores per-file anomaly scores under one profile at one threshold. */
export function scorePrepared(prepared: PreparedCorpus, scores: readonly Float64Array[], profile: NabProfileName, threshold: number): CorpusScore {
  return scoreCorpus(
    prepared.corpus.files.map((f, i) => ({ key: f.key, scores: scores[i]!, weights: prepared.weights[i]![profile] })),
    profile,
    threshold,
  );
}

/** Our detector scored under each profile at that profile's threshold (pass `runs` to reuse a recording). */
export function evaluateDetector(prepared: PreparedCorpus, thresholds: Readonly<Record<NabProfileName, number>>, options: Partial<DetectorOptions> = {}, runs: readonly RecordedRun[] = recordCorpus(prepared.corpus, options)): Record<NabProfileName, CorpusScore> {
  const out = {} as Record<NabProfileName, CorpusScore>;
  for (const p of NAB_PROFILE_NAMES) out[p] = scorePrepared(prepared, gateRuns(runs, thresholds[p]), p, thresholds[p]);
  return out;
}
