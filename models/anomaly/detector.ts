import { NovaError } from '../../core/index.ts';
import { AlarmGate } from './alarm-gate.ts';
import { AnomalyLikelihood, LIKELIHOOD_DEFAULTS } from './likelihood.ts';
import { CONTEXT_NOVELTY_DEFAULTS, ContextNovelty } from './context-novelty.ts';
import { RankSketch } from './rank-sketch.ts';
import { RECURRENCE_DEFAULTS, RecurrenceFilter } from './recurrence.ts';
import { SEASONAL_PROFILE_DEFAULTS, SeasonalProfile } from './seasonal-profile.ts';
import { NAB_SHIPPED_THRESHOLDS } from './shipped-thresholds.ts';

/** Settings of one series' detector. Only `probationSamples` and `threshold` are usually set. */
export interface DetectorOptions {
  /** Samples the detector only learns from (never alarms); NAB gives min(15% of the file, 750). */
  probationSamples: number;
  /** Score at or above which a sample raises an alarm. */
  threshold: number;
  /** After an alarm, further alarms are held back for this many samples (default: probation / 10). */
  refractorySamples?: number;
  /** For this many samples after the probation an alarm needs `threshold + warmUpMargin` (default: probation / 2). */
  warmUpSamples?: number;
  /** How far above the threshold a score must be to alarm while the detector warms up. */
  warmUpMargin: number;
  /** Half-life, in samples, of the memory of changes (and of time-of-day residuals) a new one is ranked against. */
  changeHalfLife: number;
  /** A value beyond the range seen so far by more than this share of the range is a new extreme. */
  extremeTolerance: number;
  /** Share of the raw surprise that comes from the time-of-day residual (the rest: change and sequence novelty, equally). */
  seasonalWeight: number;
  /** Samples the sustained channel averages the time-of-day surprise over (its likelihood's averaging window). */
  sustainedSamples: number;
  /** A burst of surprise that this many earlier ones (within the likelihood's history) exceeded is recurring and counts half (0: off). */
  recurrenceCount: number;
  /** The same for the sustained channel, whose departures recur weekly at most (weekends): fewer suffice. */
  sustainedRecurrenceCount: number;
  /**
   * Smallest change, in the series' unit, worth an alarm: the sample must move at least this far
   * from the expected value (previous or time-of-day) or beyond the range seen so far. 0 (NAB)
   * alarms on any surprise; a fleet uses e.g. 0.05 of capacity so jitter on a flat series never
   * pages anyone, and an immaterial surprise does not start the hold-back that could mask a real incident.
   */
  minChange?: number;
  levels: number;
  contextLength: number;
  grids: number;
}

/**
 * Shipped defaults. Borrowed: the likelihood is Numenta's, the 8 levels CAD OSE's, the 5 %
 * extreme tolerance NAB's numenta detector's, the change memory the mean age of the former
 * 5,000-sample window. Chosen on NAB's 41 shared files (see README, "Threshold and honesty
 * notes"): the seasonal weight 0.1, the sustained channel's 45 samples, the recurrence count 5,
 * the warm-up margin 0.2 and the threshold (nab-thresholds.ts). The sustained channel's
 * recurrence count 3 was set on synthetic weekly series (weekends), not on NAB (where it changes nothing).
 */
export const DETECTOR_DEFAULTS: Readonly<DetectorOptions> = Object.freeze({
  probationSamples: 750,
  threshold: NAB_SHIPPED_THRESHOLDS.standard,
  warmUpMargin: 0.2,
  changeHalfLife: 3466,
  extremeTolerance: 0.05,
  seasonalWeight: 0.1,
  sustainedSamples: 45,
  recurrenceCount: RECURRENCE_DEFAULTS.count,
  sustainedRecurrenceCount: 3,
  ...CONTEXT_NOVELTY_DEFAULTS,
});

/** Which part of the model found the sample most unusual. */
export type AnomalyReason = 'new-extreme' | 'unusual-change' | 'unusual-for-time-of-day' | 'novel-pattern' | 'unusual-run' | 'none';

/** Why a sample scored as it did, in the units of the series. */
export interface AnomalyExplanation {
  reason: AnomalyReason;
  value: number;
  /** The short-term forecast (the previous value) and the sample's distance from it. */
  expected: number;
  deviation: number;
  /** Median absolute change between consecutive samples so far: the scale of `deviation`. */
  typicalDeviation: number;
  /** The usual value at this time of day (NaN until learned). */
  seasonalExpected: number;
  /** Range of the values seen before this sample. */
  min: number;
  max: number;
  /** Component scores in [0, 1]: rank surprise of the change, of the time-of-day residual, sequence novelty. */
  changeSurprise: number;
  seasonalSurprise: number;
  novelty: number;
  /** Anomaly likelihood of the point channel (the three surprises over 10 samples; halved when recurring). */
  likelihood: number;
  /** Anomaly likelihood of the sustained channel (the time-of-day surprise over `sustainedSamples` samples; halved when recurring). */
  sustainedLikelihood: number;
  /** The burst of the channel that sets the score is one the series has produced often lately (see `RecurrenceFilter`), so it counts half. */
  recurring: boolean;
  /** The sample lies outside the range seen so far by more than the tolerance. */
  newExtreme: boolean;
}

/**
 * What the detector did with a sample: `scored` (learned from it, may alarm), `late` (its
 * timestamp is not after the newest one seen, or it repeats that timestamp with another value:
 * scored against the current state but not learned from and never alarming), `duplicate` (the
 * newest sample again, same timestamp and value: dropped, score 0).
 */
export type SampleStatus = 'scored' | 'late' | 'duplicate';

/** Result of feeding one sample. */
export interface DetectorOutput {
  /** Anomaly score in [0, 1]; held just below the threshold while alarms are held back. */
  score: number;
  /** True on the sample that raises an alarm (score ≥ threshold, outside probation and refractory). */
  alarm: boolean;
  status: SampleStatus;
  /** The score before the alarm gate, whether the gate could let it alarm, and the sample's index: what a threshold sweep replays (`AlarmGate`). */
  gate: { score: number; eligible: boolean; index: number };
  explanation: AnomalyExplanation;
}

// Numeric fields of the detector itself, counted in `stateBytes`.
const OWN_FIELDS = 7;

/**
 * Streaming anomaly detector for one series: one sample at a time, no look-ahead, O(log bins)
 * per sample, ~5 KB of fixed state (`stateBytes`; nothing grows with the series' length).
 * Four views of "normal" give surprises in [0, 1]:
 * - forecast residual: how unusual the change from the previous value is (rank among past changes);
 * - time of day: how unusual the distance from this hour's usual value is (rank among past ones);
 * - learned normal behaviour: novelty of the recent sequence of quantised levels;
 * - robust statistics: a value beyond everything seen (by 5 % of the range) scores 1 directly.
 * Two HTM-style anomaly likelihoods judge them on two time scales, and the score is the larger:
 * the point channel (the three surprises mixed, over 10 samples: spikes, jumps, new patterns)
 * and the sustained channel (the time-of-day surprise over `sustainedSamples` samples: a day that
 * does not look like the usual day, an expected rise that never comes). In each, a burst the
 * series has produced `recurrenceCount` (sustained: `sustainedRecurrenceCount`) times lately
 * counts half (`RecurrenceFilter`): a nightly spike, a weekend.
 * An alarm holds back further alarms for `refractorySamples`, so one incident is one event, and
 * for `warmUpSamples` after the probation an alarm needs `warmUpMargin` more evidence (the
 * model's ranks and fits are still young).
 *
 * Real streams repeat and reorder samples (clock steps, retried sends); see `SampleStatus` for
 * the policy. A late sample is still scored so a dashboard can show it, but learning from it
 * would rewrite the model's "previous value" and sequence, and an alarm on it would describe
 * the past (and fire again on every re-delivery).
 */
export class StreamingAnomalyDetector {
  private readonly opts: Required<DetectorOptions>;
  private readonly changes: RankSketch;
  private readonly residuals: RankSketch;
  private readonly seasonal: SeasonalProfile;
  private readonly novelty: ContextNovelty;
  private readonly likelihood: AnomalyLikelihood;
  private readonly sustained: AnomalyLikelihood;
  private readonly recurrence: RecurrenceFilter;
  private readonly sustainedRecurrence: RecurrenceFilter;
  private index = 0;
  private prev = Number.NaN;
  private prevTs = -Infinity;
  private min = Infinity;
  private max = -Infinity;
  private readonly gate: AlarmGate;

  constructor(options: Partial<DetectorOptions> = {}) {
    const o = { ...DETECTOR_DEFAULTS, ...options };
    if (!(Number.isInteger(o.probationSamples) && o.probationSamples >= 0)) throw new NovaError('MODELS_INVALID_ARGUMENT', `probationSamples must be a non-negative integer, got ${o.probationSamples}`);
    if (!(o.threshold > 0 && o.threshold <= 1)) throw new NovaError('MODELS_INVALID_ARGUMENT', `threshold must lie in (0, 1], got ${o.threshold}`);
    if (!(o.extremeTolerance >= 0)) throw new NovaError('MODELS_INVALID_ARGUMENT', `extremeTolerance must be ≥ 0, got ${o.extremeTolerance}`);
    if (!(o.seasonalWeight >= 0 && o.seasonalWeight <= 1)) throw new NovaError('MODELS_INVALID_ARGUMENT', `seasonalWeight must lie in [0, 1], got ${o.seasonalWeight}`);
    const refractorySamples = o.refractorySamples ?? Math.round(o.probationSamples / 10);
    if (!(Number.isInteger(refractorySamples) && refractorySamples >= 0)) throw new NovaError('MODELS_INVALID_ARGUMENT', `refractorySamples must be a non-negative integer, got ${refractorySamples}`);
    const minChange = o.minChange ?? 0;
    if (!(minChange >= 0)) throw new NovaError('MODELS_INVALID_ARGUMENT', `minChange must be ≥ 0, got ${minChange}`);
    const warmUpSamples = o.warmUpSamples ?? Math.round(o.probationSamples / 2);
    if (!(Number.isInteger(warmUpSamples) && warmUpSamples >= 0)) throw new NovaError('MODELS_INVALID_ARGUMENT', `warmUpSamples must be a non-negative integer, got ${warmUpSamples}`);
    if (!(o.warmUpMargin >= 0)) throw new NovaError('MODELS_INVALID_ARGUMENT', `warmUpMargin must be ≥ 0, got ${o.warmUpMargin}`);
    if (!(Number.isInteger(o.sustainedSamples) && o.sustainedSamples >= 1)) throw new NovaError('MODELS_INVALID_ARGUMENT', `sustainedSamples must be a positive integer, got ${o.sustainedSamples}`);
    // recurrenceCount and sustainedRecurrenceCount are checked by RecurrenceFilter.
    this.opts = { ...o, refractorySamples, minChange, warmUpSamples };
    this.gate = new AlarmGate(o.threshold, refractorySamples, this.warmUp);
    this.changes = new RankSketch({ halfLife: o.changeHalfLife });
    this.residuals = new RankSketch({ halfLife: o.changeHalfLife });
    this.seasonal = new SeasonalProfile(SEASONAL_PROFILE_DEFAULTS);
    this.novelty = new ContextNovelty({ levels: o.levels, contextLength: o.contextLength, grids: o.grids }, o.probationSamples);
    // As NAB's numenta detector: learn for half the probation, estimate over the rest.
    const learningSamples = Math.floor(o.probationSamples / 2);
    this.likelihood = new AnomalyLikelihood({ ...LIKELIHOOD_DEFAULTS, learningSamples, estimationStart: o.probationSamples });
    this.sustained = new AnomalyLikelihood({ ...LIKELIHOOD_DEFAULTS, averagingWindow: o.sustainedSamples, learningSamples, estimationStart: o.probationSamples });
    this.recurrence = new RecurrenceFilter({ ...RECURRENCE_DEFAULTS, count: o.recurrenceCount, horizon: LIKELIHOOD_DEFAULTS.historicWindow });
    this.sustainedRecurrence = new RecurrenceFilter({ ...RECURRENCE_DEFAULTS, count: o.sustainedRecurrenceCount, horizon: LIKELIHOOD_DEFAULTS.historicWindow });
  }

  /** Samples learned from so far (late and duplicate samples excluded). */
  get samples(): number {
    return this.index;
  }

  /** Samples an alarm holds back further alarms for (the resolved option). */
  get refractorySamples(): number {
    return this.opts.refractorySamples;
  }

  /** Until which sample index an alarm needs the warm-up margin, and the margin (what `AlarmGate` needs to replay a run). */
  get warmUp(): { until: number; margin: number } {
    return { until: this.opts.probationSamples + this.opts.warmUpSamples, margin: this.opts.warmUpMargin };
  }

  /** Timestamp of the newest sample learned from (−Infinity before the first). */
  get lastTimestamp(): number {
    return this.prevTs;
  }

  /** Bytes of state held: the typed arrays and numeric fields of every part, counted, not estimated. */
  get stateBytes(): number {
    return (
      this.changes.stateBytes + this.residuals.stateBytes + this.seasonal.stateBytes + this.novelty.stateBytes + this.likelihood.stateBytes + this.sustained.stateBytes + this.recurrence.stateBytes + this.sustainedRecurrence.stateBytes + this.gate.stateBytes + OWN_FIELDS * 8
    );
  }

  /** Feeds the next sample; returns its score, alarm flag, status (see `SampleStatus`) and explanation. */
  update(ts: number, value: number): DetectorOutput {
    if (!Number.isFinite(value)) throw new NovaError('ANOMALY_BAD_SAMPLE', `sample at ${ts} has value ${value}; feed finite numbers only (drop or impute gaps before the detector)`);
    if (!Number.isFinite(ts)) throw new NovaError('ANOMALY_BAD_SAMPLE', `sample with value ${value} has timestamp ${ts}; timestamps must be finite numbers`);
    if (ts > this.prevTs) return this.observe(ts, value, true);
    if (ts === this.prevTs && value === this.prev) {
      return { score: 0, alarm: false, status: 'duplicate', gate: { score: 0, eligible: false, index: this.index }, explanation: this.explain(value, value, Number.NaN, 0, 0, 0, false, { point: 0, sustained: 0, recurring: false }, 0) };
    }
    return this.observe(ts, value, false);
  }

  private observe(ts: number, value: number, learn: boolean): DetectorOutput {
    const o = this.opts;
    const first = Number.isNaN(this.prev);
    const deviation = first ? 0 : value - this.prev;
    let changeSurprise = 0;
    if (!first) {
      changeSurprise = this.changes.surprise(deviation);
      if (learn) this.changes.push(deviation);
    }
    const seasonalExpected = this.seasonal.expected(ts);
    let seasonalSurprise = 0;
    if (!Number.isNaN(seasonalExpected)) {
      seasonalSurprise = this.residuals.surprise(value - seasonalExpected);
      if (learn) this.residuals.push(value - seasonalExpected);
    }
    if (learn) this.seasonal.update(ts, value);
    const novelty = learn ? this.novelty.update(value) : this.novelty.peek(value);
    const tol = (this.max - this.min) * o.extremeTolerance;
    const newExtreme = this.max > this.min && (value > this.max + tol || value < this.min - tol);
    const raw = newExtreme ? 1 : (1 - o.seasonalWeight) * ((changeSurprise + novelty) / 2) + o.seasonalWeight * seasonalSurprise;
    // Point channel: the mixed surprise over 10 samples. Sustained channel: the time-of-day
    // surprise over `sustainedSamples`. Each then discounts bursts it has seen often lately.
    const pointLikelihood = learn ? this.likelihood.update(raw) : this.likelihood.peek(raw);
    const point = this.recurrence.apply(this.index, learn ? this.likelihood.average : this.likelihood.peekAverage(raw), pointLikelihood, learn);
    const sustainedLikelihood = learn ? this.sustained.update(seasonalSurprise) : this.sustained.peek(seasonalSurprise);
    const sustained = this.sustainedRecurrence.apply(this.index, learn ? this.sustained.average : this.sustained.peekAverage(seasonalSurprise), sustainedLikelihood, learn);
    // `recurring` describes the channel that sets the score.
    const channels = { point: point.likelihood, sustained: sustained.likelihood, recurring: point.likelihood >= sustained.likelihood ? point.recurring : sustained.recurring };

    const ungated = this.index < o.probationSamples ? 0 : newExtreme ? 1 : Math.max(channels.point, channels.sustained);
    const eligible = learn && this.material(value, deviation, seasonalExpected);
    const gateInput = { score: ungated, eligible, index: this.index };
    const { score, alarm } = this.gate.apply(this.index, ungated, eligible);
    const explanation = this.explain(value, first ? value : this.prev, seasonalExpected, changeSurprise, seasonalSurprise, novelty, newExtreme, channels, score);
    if (learn) {
      this.min = Math.min(this.min, value);
      this.max = Math.max(this.max, value);
      this.prev = value;
      this.prevTs = ts;
      this.index++;
    }
    return { score, alarm, status: learn ? 'scored' : 'late', gate: gateInput, explanation };
  }

  private material(value: number, deviation: number, seasonalExpected: number): boolean {
    const m = this.opts.minChange;
    if (m <= 0) return true;
    return Math.abs(deviation) >= m || Math.abs(value - seasonalExpected) >= m || value > this.max + m || value < this.min - m;
  }

  private explain(
    value: number,
    expected: number,
    seasonalExpected: number,
    changeSurprise: number,
    seasonalSurprise: number,
    novelty: number,
    newExtreme: boolean,
    channels: { point: number; sustained: number; recurring: boolean },
    score: number,
  ): AnomalyExplanation {
    return {
      reason: reasonFor(score, newExtreme, changeSurprise, seasonalSurprise, novelty, channels),
      value,
      expected,
      deviation: value - expected,
      typicalDeviation: this.changes.quantile(0.5),
      seasonalExpected,
      min: this.min,
      max: this.max,
      changeSurprise,
      seasonalSurprise,
      novelty,
      likelihood: channels.point,
      sustainedLikelihood: channels.sustained,
      recurring: channels.recurring,
      newExtreme,
    };
  }
}

function reasonFor(score: number, newExtreme: boolean, change: number, seasonal: number, novelty: number, channels: { point: number; sustained: number }): AnomalyReason {
  if (score <= 0) return 'none';
  if (newExtreme) return 'new-extreme';
  // The sustained channel judges hours of distance from the usual day: that is its cause.
  if (channels.sustained > channels.point) return 'unusual-for-time-of-day';
  const likelihood = channels.point;
  // The likelihood judges a run; name the component that drove the latest sample, if any did.
  const top = Math.max(change, seasonal, novelty);
  if (top >= 0.5) {
    if (change === top) return 'unusual-change';
    if (seasonal === top) return 'unusual-for-time-of-day';
    return 'novel-pattern';
  }
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
