export { StreamingAnomalyDetector, scoreSeries, DETECTOR_DEFAULTS, type DetectorOptions, type DetectorOutput, type AnomalyExplanation, type AnomalyReason, type SampleStatus } from './detector.ts';
export { AnomalyDetectorBank, describeAnomaly, createSeriesDetector, type AnomalyEvent, type SeriesVerdict } from './detector-bank.ts';
export { AnomalyLikelihood, LIKELIHOOD_DEFAULTS, erfc, type LikelihoodOptions } from './likelihood.ts';
export { ContextNovelty, CONTEXT_NOVELTY_DEFAULTS, CONTEXT_MEMORY_BITS, CALIBRATION_IN_MEMORY, MAX_CALIBRATION_SAMPLES, type ContextNoveltyOptions } from './context-novelty.ts';
export { RankSketch, RANK_SKETCH_DEFAULTS, type RankSketchOptions } from './rank-sketch.ts';
export { SeasonalProfile, SEASONAL_PROFILE_DEFAULTS, type SeasonalProfileOptions } from './seasonal-profile.ts';
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
export { prepareCorpus, recordCorpus, gateRuns, detectCorpus, scorePrepared, evaluateDetector, type PreparedCorpus, type RecordedRun } from './nab-evaluation.ts';
export { AlarmGate, type WarmUp } from './alarm-gate.ts';
export { RecurrenceFilter, RECURRENCE_DEFAULTS, type RecurrenceOptions } from './recurrence.ts';
export { NAB_SHIPPED_THRESHOLDS, THRESHOLD_GRID, fileScoreGrid, thresholdCurve, selectThreshold, nabCategory, leaveOneCategoryOut, type FileScoreGrid, type HeldOutCategory } from './nab-thresholds.ts';
