import { NovaError } from '../../core/index.ts';
import { AnomalyLikelihood, LIKELIHOOD_DEFAULTS } from './likelihood.ts';
import { CONTEXT_NOVELTY_DEFAULTS, ContextNovelty } from './context-novelty.ts';
import { SortedWindow } from './sorted-window.ts';
import { NAB_SHIPPED_THRESHOLDS } from './shipped-thresholds.ts';

/** Settings of one series' detector. Only `probationSamples` and `threshold` are usually set. */
export interface DetectorOptions {
  /** Samples the detector only learns from (never alarms); NAB gives min(15% of the file, 750). */
  probationSamples: number;
  /** Score at or above which a sample raises an alarm. */
  threshold: number;
  /** After an alarm, further alarms are held back for this many samples (default: probation / 10). */
  refractorySamples?: number;
  /** How many past absolute changes the residual surprise is ranked against. */
  changeWindow: number;
  /** A value beyond the range seen so far by more than this share of the range is a new extreme. */
  extremeTolerance: number;
  /**
   * Smallest change, in the series' unit, worth an alarm: the sample must move at least this far
   * from the expected value or beyond the range seen so far. 0 (NAB) alarms on any surprise; a
   * fleet uses e.g. 0.05 of capacity so jitter on a flat series never pages anyone, and an
   * immaterial surprise does not start the hold-back that could mask a real incident.
   */
  minChange?: number;
  levels: number;
  contextLength: number;
  grids: number;
}

/**
 * Shipped defaults. Every number is borrowed, not tuned here: the likelihood is Numenta's, the
 * 8 levels CAD OSE's, the 5 % extreme tolerance NAB's numenta detector's. The threshold is the
 * one chosen for NAB's standard profile on the AWS subset (nab-thresholds.ts), next to the
 * likelihood's conventional "red" level 0.5 (tail probability 1e-5).
 */
export const DETECTOR_DEFAULTS: Readonly<DetectorOptions> = Object.freeze({
  probationSamples: 750,
  threshold: NAB_SHIPPED_THRESHOLDS.standard,
  changeWindow: 5000,
  extremeTolerance: 0.05,
  ...CONTEXT_NOVELTY_DEFAULTS,
});

/** Which part of the model found the sample most unusual. */
export type AnomalyReason = 'new-extreme' | 'unusual-change' | 'novel-pattern' | 'unusual-run' | 'none';

/** Why a sample scored as it did, in the units of the series. */
export interface AnomalyExplanation {
  reason: AnomalyReason;
  value: number;
  /** The short-term forecast (the previous value) and the sample's distance from it. */
  expected: number;
  deviation: number;
  /** Median absolute change between consecutive samples so far: the scale of `deviation`. */
  typicalDeviation: number;
  /** Range of the values seen before this sample. */
  min: number;
  max: number;
  /** Component scores in [0, 1]: rank surprise of the change, sequence novelty, anomaly likelihood. */
  changeSurprise: number;
  novelty: number;
  likelihood: number;
  /** The sample lies outside the range seen so far by more than the tolerance. */
  newExtreme: boolean;
}

/** Result of feeding one sample. */
export interface DetectorOutput {
  /** Anomaly score in [0, 1]; held just below the threshold while alarms are held back. */
  score: number;
  /** True on the sample that raises an alarm (score ≥ threshold, outside probation and refractory). */
  alarm: boolean;
  explanation: AnomalyExplanation;
}

/**
 * Rank surprise of x among the window: −ln p / ln(m + 1) with p = P(S ≥ x) estimated with
 * add-one smoothing, so 1 means "larger than everything seen" whatever the units.
 */
function upperTailSurprise(w: SortedWindow, x: number): number {
  const m = w.size;
  if (m === 0) return 0;
  const p = (m - w.countBelow(x) + 1) / (m + 1);
  return Math.max(0, -Math.log(p) / Math.log(m + 1));
}

/**
 * Streaming anomaly detector for one series: one sample at a time, no look-ahead, O(log n)
 * per sample. Three views of "normal" are fused into a raw surprise, then judged by an
 * HTM-style anomaly likelihood:
 * - forecast residual: how unusual the change from the previous value is (rank among past changes);
 * - learned normal behaviour: novelty of the recent sequence of quantised levels;
 * - robust statistics: a value beyond everything seen (by 5 % of the range) scores 1 directly.
 * An alarm holds back further alarms for `refractorySamples`, so one incident is one event.
 */
export class StreamingAnomalyDetector {
  private readonly opts: Required<DetectorOptions>;
  private readonly changes: SortedWindow;
  private readonly novelty: ContextNovelty;
  private readonly likelihood: AnomalyLikelihood;
  private index = 0;
  private prev: number | undefined;
  private prevTs: number | undefined;
  private min = Infinity;
  private max = -Infinity;
  private lastAlarm = -Infinity;

  constructor(options: Partial<DetectorOptions> = {}) {
    const o = { ...DETECTOR_DEFAULTS, ...options };
    if (!(Number.isInteger(o.probationSamples) && o.probationSamples >= 0)) throw new NovaError('MODELS_INVALID_ARGUMENT', `probationSamples must be a non-negative integer, got ${o.probationSamples}`);
    if (!(o.threshold > 0 && o.threshold <= 1)) throw new NovaError('MODELS_INVALID_ARGUMENT', `threshold must lie in (0, 1], got ${o.threshold}`);
    if (!(o.extremeTolerance >= 0)) throw new NovaError('MODELS_INVALID_ARGUMENT', `extremeTolerance must be ≥ 0, got ${o.extremeTolerance}`);
    const refractorySamples = o.refractorySamples ?? Math.round(o.probationSamples / 10);
    if (!(Number.isInteger(refractorySamples) && refractorySamples >= 0)) throw new NovaError('MODELS_INVALID_ARGUMENT', `refractorySamples must be a non-negative integer, got ${refractorySamples}`);
    const minChange = o.minChange ?? 0;
    if (!(minChange >= 0)) throw new NovaError('MODELS_INVALID_ARGUMENT', `minChange must be ≥ 0, got ${minChange}`);
    this.opts = { ...o, refractorySamples, minChange };
    this.changes = new SortedWindow(o.changeWindow);
    this.novelty = new ContextNovelty({ levels: o.levels, contextLength: o.contextLength, grids: o.grids }, o.probationSamples);
    // As NAB's numenta detector: learn for half the probation, estimate over the rest.
    const learningSamples = Math.floor(o.probationSamples / 2);
    this.likelihood = new AnomalyLikelihood({ ...LIKELIHOOD_DEFAULTS, learningSamples, estimationStart: o.probationSamples });
  }

  /** Samples fed so far. */
  get samples(): number {
    return this.index;
  }

  /** Feeds the next sample (timestamps must not go backwards); returns its score, alarm flag and explanation. */
  update(ts: number, value: number): DetectorOutput {
    if (!Number.isFinite(value)) throw new NovaError('ANOMALY_BAD_SAMPLE', `sample ${this.index} has value ${value}; feed finite numbers only (drop or impute gaps before the detector)`);
    if (this.prevTs !== undefined && ts < this.prevTs) throw new NovaError('ANOMALY_OUT_OF_ORDER', `sample ${this.index} at ${ts} is older than the previous one at ${this.prevTs}; feed each series in time order`);
    const o = this.opts;
    const expected = this.prev ?? value;
    const deviation = value - expected;
    let changeSurprise = 0;
    if (this.prev !== undefined) {
      changeSurprise = upperTailSurprise(this.changes, Math.abs(deviation));
      this.changes.push(Math.abs(deviation));
    }
    const novelty = this.novelty.update(value);
    const tol = (this.max - this.min) * o.extremeTolerance;
    const newExtreme = this.max > this.min && (value > this.max + tol || value < this.min - tol);
    const raw = newExtreme ? 1 : (changeSurprise + novelty) / 2;
    const likelihood = this.likelihood.update(raw);

    const inProbation = this.index < o.probationSamples;
    let score = inProbation ? 0 : newExtreme ? 1 : likelihood;
    let alarm = false;
    const minChange = o.minChange;
    const material = minChange <= 0 || Math.abs(deviation) >= minChange || value > this.max + minChange || value < this.min - minChange;
    if (score >= o.threshold && material) {
      if (this.index - this.lastAlarm <= o.refractorySamples) score = o.threshold * (1 - 1e-9);
      else {
        alarm = true;
        this.lastAlarm = this.index;
      }
    }
    const explanation: AnomalyExplanation = {
      reason: reasonFor(score, newExtreme, changeSurprise, novelty, likelihood),
      value,
      expected,
      deviation,
      typicalDeviation: this.changes.quantile(0.5) ?? 0,
      min: this.min,
      max: this.max,
      changeSurprise,
      novelty,
      likelihood,
      newExtreme,
    };
    this.min = Math.min(this.min, value);
    this.max = Math.max(this.max, value);
    this.prev = value;
    this.prevTs = ts;
    this.index++;
    return { score, alarm, explanation };
  }
}

function reasonFor(score: number, newExtreme: boolean, change: number, novelty: number, likelihood: number): AnomalyReason {
  if (score <= 0) return 'none';
  if (newExtreme) return 'new-extreme';
  // The likelihood judges a run; name the component that drove the latest sample, if any did.
  if (change >= 0.5 && change >= novelty) return 'unusual-change';
  if (novelty >= 0.5) return 'novel-pattern';
  return likelihood > 0 ? 'unusual-run' : 'none';
}

/**
 * Scores a whole series in one call; by construction identical to feeding it sample by sample
 * (a test holds it to that). `timestamps` defaults to the sample index.
 */
export function scoreSeries(values: readonly number[], options: Partial<DetectorOptions> = {}, timestamps?: readonly number[]): DetectorOutput[] {
  if (timestamps && timestamps.length !== values.length) throw new NovaError('MODELS_INVALID_ARGUMENT', `got ${timestamps.length} timestamps for ${values.length} values`);
  const detector = new StreamingAnomalyDetector(options);
  return values.map((v, i) => detector.update(timestamps ? timestamps[i]! : i, v));
}
