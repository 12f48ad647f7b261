export { StreamingAnomalyDetector, scoreSeries, DETECTOR_DEFAULTS, type DetectorOptions, type DetectorOutput, type AnomalyExplanation, type AnomalyReason } from './detector.ts';
export { AnomalyDetectorBank, describeAnomaly, createSeriesDetector, type AnomalyEvent, type SeriesVerdict } from './detector-bank.ts';
export { AnomalyLikelihood, LIKELIHOOD_DEFAULTS, erfc, type LikelihoodOptions } from './likelihood.ts';
export { ContextNovelty, CONTEXT_NOVELTY_DEFAULTS, type ContextNoveltyOptions } from './context-novelty.ts';
export { SortedWindow } from './sorted-window.ts';
export { loadNabCorpus, readNabSeries, readNabWindows, readNabResults, readCsvColumns, parseNabTimestamp, type NabCorpus, type NabSeries, type NabWindowLimits } from './nab-data.ts';
export {
  NAB_PROFILES,
  NAB_PROFILE_NAMES,
  NAB_PROBATION_PERCENT,
  scaledSigmoid,
  probationaryLength,
  windowRowRanges,
  rowWeights,
  scoreFile,
  sweepThresholds,
  bestThreshold,
  normalizeScore,
  scoreCorpus,
  type NabProfileName,
  type CostMatrix,
  type WindowRows,
  type RowWeights,
  type FileScore,
  type ThresholdScore,
  type ScoredFileInput,
  type CorpusScore,
} from './nab-scorer.ts';
export { prepareCorpus, detectCorpus, scorePrepared, evaluateDetector, type PreparedCorpus } from './nab-evaluation.ts';
export { NAB_SHIPPED_THRESHOLDS, THRESHOLD_GRID, thresholdCurve, selectThreshold } from './nab-thresholds.ts';
