import { NovaError } from '../../core/index.ts';
import { AlarmGate, type WarmUp } from './alarm-gate.ts';
import { AnomalyLikelihood, LIKELIHOOD_DEFAULTS, type LikelihoodOptions } from './likelihood.ts';
import { CONTEXT_NOVELTY_DEFAULTS, ContextNovelty, type ContextNoveltyOptions } from './context-novelty.ts';
import { RankSketch, RankSketchShape } from './rank-sketch.ts';
import { RECURRENCE_DEFAULTS, RecurrenceFilter, type RecurrenceOptions } from './recurrence.ts';
import { SEASONAL_PROFILE_DEFAULTS, SeasonalProfile } from './seasonal-profile.ts';
import { Slab, addSizes, type SlabSize } from './state-slab.ts';
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

/** `updateQuiet`'s result: a DetectorOutput whose explanation is there only on an alarm, and the expected value. */
export interface QuietOutput extends Omit<DetectorOutput, 'explanation'> {
  /** The value the explanation's `expected` gives (the previous value; the sample's own for the first one). */
  expected: number;
  explanation: AnomalyExplanation | undefined;
}

/**
 * Everything a detector derives from its options: validated once and shared, frozen, by every
 * detector built with the same options (a worker builds one per series with the same two).
 */
interface DetectorConfig {
  readonly options: Readonly<Required<DetectorOptions>>;
  readonly warmUp: Readonly<WarmUp>;
  readonly sketch: RankSketchShape;
  readonly novelty: Readonly<ContextNoveltyOptions>;
  readonly point: Readonly<LikelihoodOptions>;
  readonly sustained: Readonly<LikelihoodOptions>;
  readonly pointRecurrence: Readonly<RecurrenceOptions>;
  readonly sustainedRecurrence: Readonly<RecurrenceOptions>;
  /** The slab one detector carves all its parts from. */
  readonly size: Readonly<SlabSize>;
}

function resolveConfig(options: Partial<DetectorOptions>): DetectorConfig {
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
  // recurrenceCount and sustainedRecurrenceCount are checked by RecurrenceFilter, the likelihood
  // and sequence-memory options by theirs (when the first detector is built).
  // As NAB's numenta detector: learn for half the probation, estimate over the rest.
  const learningSamples = Math.floor(o.probationSamples / 2);
  const point = Object.freeze({ ...LIKELIHOOD_DEFAULTS, learningSamples, estimationStart: o.probationSamples });
  const sustained = Object.freeze({ ...LIKELIHOOD_DEFAULTS, averagingWindow: o.sustainedSamples, learningSamples, estimationStart: o.probationSamples });
  const sketch = new RankSketchShape({ halfLife: o.changeHalfLife });
  const novelty = Object.freeze({ levels: o.levels, contextLength: o.contextLength, grids: o.grids });
  return Object.freeze({
    options: Object.freeze({ ...o, refractorySamples, minChange, warmUpSamples }),
    warmUp: Object.freeze({ until: o.probationSamples + warmUpSamples, margin: o.warmUpMargin }),
    sketch,
    novelty,
    point,
    sustained,
    pointRecurrence: Object.freeze({ ...RECURRENCE_DEFAULTS, count: o.recurrenceCount, horizon: LIKELIHOOD_DEFAULTS.historicWindow }),
    sustainedRecurrence: Object.freeze({ ...RECURRENCE_DEFAULTS, count: o.sustainedRecurrenceCount, horizon: LIKELIHOOD_DEFAULTS.historicWindow }),
    size: Object.freeze(
      addSizes(
        { f64: OWN_FIELDS, f32: 0, u8: 0 },
        sketch.size,
        sketch.size,
        SeasonalProfile.size(SEASONAL_PROFILE_DEFAULTS),
        ContextNovelty.size(novelty),
        AnomalyLikelihood.size(point),
        AnomalyLikelihood.size(sustained),
        RecurrenceFilter.size,
        RecurrenceFilter.size,
        AlarmGate.size,
      ),
    ),
  });
}

// Resolved configs by options: a worker asks for the same one for every series. Bounded (a
// caller varying options per detector only loses the sharing); only plain numeric options are
// keyed, anything else is resolved afresh.
const CONFIGS = new Map<string, DetectorConfig>();
const MAX_CONFIGS = 64;

function detectorConfig(options: Partial<DetectorOptions>): DetectorConfig {
  let key = '';
  for (const k of Object.keys(options)) {
    const v: unknown = (options as Record<string, unknown>)[k];
    if (typeof v === 'number') key += `${k}=${Object.is(v, -0) ? '-0' : v};`;
    else if (v === undefined) key += `${k}=undefined;`;
    else return resolveConfig(options);
  }
  let config = CONFIGS.get(key);
  if (!config) {
    config = resolveConfig(options);
    if (CONFIGS.size >= MAX_CONFIGS) CONFIGS.clear();
    CONFIGS.set(key, config);
  }
  return config;
}

// Float64 slots of the detector's own scalars in its slab.
const INDEX = 0; // samples learned from
const PREV = 1; // previous value learned from (NaN before the first)
const PREV_TS = 2; // its timestamp (−Infinity before the first)
const MIN = 3; // range of the values learned from
const MAX = 4;
const OWN_FIELDS = 5;

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
 *
 * Memory: a worker holds one detector per VM and metric, so all numeric state of the detector
 * and its parts lives in one `Slab` (one ArrayBuffer); the parts keep only offsets into it, and
 * the options and everything derived from them are one frozen object shared by every detector
 * built with the same options.
 */
export class StreamingAnomalyDetector {
  private readonly config: DetectorConfig;
  private readonly f64: Float64Array;
  private readonly changes: RankSketch;
  private readonly residuals: RankSketch;
  private readonly seasonal: SeasonalProfile;
  private readonly novelty: ContextNovelty;
  private readonly likelihood: AnomalyLikelihood;
  private readonly sustained: AnomalyLikelihood;
  private readonly recurrence: RecurrenceFilter;
  private readonly sustainedRecurrence: RecurrenceFilter;
  private readonly gate: AlarmGate;

  constructor(options: Partial<DetectorOptions> = {}) {
    const c = detectorConfig(options);
    this.config = c;
    const slab = new Slab(c.size);
    this.f64 = slab.f64;
    // The detector's own scalars come first: offset 0.
    slab.take64(OWN_FIELDS);
    this.f64[PREV] = Number.NaN;
    this.f64[PREV_TS] = -Infinity;
    this.f64[MIN] = Infinity;
    this.f64[MAX] = -Infinity;
    this.gate = new AlarmGate(c.options.threshold, c.options.refractorySamples, c.warmUp, slab);
    this.changes = new RankSketch(c.sketch, slab);
    this.residuals = new RankSketch(c.sketch, slab);
    this.seasonal = new SeasonalProfile(SEASONAL_PROFILE_DEFAULTS, slab);
    this.novelty = new ContextNovelty(c.novelty, c.options.probationSamples, slab);
    this.likelihood = new AnomalyLikelihood(c.point, slab);
    this.sustained = new AnomalyLikelihood(c.sustained, slab);
    this.recurrence = new RecurrenceFilter(c.pointRecurrence, slab);
    this.sustainedRecurrence = new RecurrenceFilter(c.sustainedRecurrence, slab);
    if (!slab.full) throw new NovaError('MODELS_INTERNAL', 'the detector\'s parts took less of its slab than their sizes say (a bug in models/anomaly)');
  }

  /** Samples learned from so far (late and duplicate samples excluded). */
  get samples(): number {
    return this.f64[INDEX]!;
  }

  /** Samples an alarm holds back further alarms for (the resolved option). */
  get refractorySamples(): number {
    return this.config.options.refractorySamples;
  }

  /** Until which sample index an alarm needs the warm-up margin, and the margin (what `AlarmGate` needs to replay a run). */
  get warmUp(): { until: number; margin: number } {
    return { ...this.config.warmUp };
  }

  /** Timestamp of the newest sample learned from (−Infinity before the first). */
  get lastTimestamp(): number {
    return this.f64[PREV_TS]!;
  }

  /**
   * Bytes of numeric state held: the slab (every part's slots and the detector's own scalars)
   * plus the sequence memory's calibration buffer while it exists. The few small JS objects
   * around it (the detector, its parts' offset holders, three views) are not counted: `bench:nab`
   * measures them from the process.
   */
  get stateBytes(): number {
    return (
      this.changes.stateBytes + this.residuals.stateBytes + this.seasonal.stateBytes + this.novelty.stateBytes + this.likelihood.stateBytes + this.sustained.stateBytes + this.recurrence.stateBytes + this.sustainedRecurrence.stateBytes + this.gate.stateBytes + OWN_FIELDS * 8
    );
  }

  /** Feeds the next sample; returns its score, alarm flag, status (see `SampleStatus`) and explanation. */
  update(ts: number, value: number): DetectorOutput {
    return this.step(ts, value, true) as DetectorOutput;
  }

  /**
   * `update` for callers that read only an alarm's explanation (the streams worker's per-series
   * port): the same state change, score and alarm, plus `expected` (the value the explanation
   * would give); the explanation is built only when the sample alarms. Building it for every
   * sample (an object of 15 fields, a quantile of the change sketch) was a sizeable share of
   * the scoring cost of a sample that, 99.9 % of the time, nobody reads about.
   */
  updateQuiet(ts: number, value: number): QuietOutput {
    return this.step(ts, value, false);
  }

  private step(ts: number, value: number, explainAll: boolean): QuietOutput {
    if (!Number.isFinite(value)) throw new NovaError('ANOMALY_BAD_SAMPLE', `sample at ${ts} has value ${value}; feed finite numbers only (drop or impute gaps before the detector)`);
    if (!Number.isFinite(ts)) throw new NovaError('ANOMALY_BAD_SAMPLE', `sample with value ${value} has timestamp ${ts}; timestamps must be finite numbers`);
    const f = this.f64;
    if (ts > f[PREV_TS]!) return this.observe(ts, value, true, explainAll);
    if (ts === f[PREV_TS]! && value === f[PREV]!) {
      const gate = { score: 0, eligible: false, index: f[INDEX]! };
      if (!explainAll) return { score: 0, alarm: false, status: 'duplicate', gate, expected: value, explanation: undefined };
      return { score: 0, alarm: false, status: 'duplicate', gate, explanation: this.explain(value, value, Number.NaN, 0, 0, 0, false, { point: 0, sustained: 0, recurring: false }, 0) } as QuietOutput;
    }
    return this.observe(ts, value, false, explainAll);
  }

  private observe(ts: number, value: number, learn: boolean, explainAll: boolean): QuietOutput {
    const o = this.config.options;
    const f = this.f64;
    const index = f[INDEX]!;
    const prev = f[PREV]!;
    const min = f[MIN]!;
    const max = f[MAX]!;
    const first = Number.isNaN(prev);
    const deviation = first ? 0 : value - prev;
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
    const tol = (max - min) * o.extremeTolerance;
    const newExtreme = max > min && (value > max + tol || value < min - tol);
    const raw = newExtreme ? 1 : (1 - o.seasonalWeight) * ((changeSurprise + novelty) / 2) + o.seasonalWeight * seasonalSurprise;
    // Point channel: the mixed surprise over 10 samples. Sustained channel: the time-of-day
    // surprise over `sustainedSamples`. Each then discounts bursts it has seen often lately.
    const pointLikelihood = learn ? this.likelihood.update(raw) : this.likelihood.peek(raw);
    const point = this.recurrence.apply(index, learn ? this.likelihood.average : this.likelihood.peekAverage(raw), pointLikelihood, learn);
    const sustainedLikelihood = learn ? this.sustained.update(seasonalSurprise) : this.sustained.peek(seasonalSurprise);
    const sustained = this.sustainedRecurrence.apply(index, learn ? this.sustained.average : this.sustained.peekAverage(seasonalSurprise), sustainedLikelihood, learn);
    // `recurring` describes the channel that sets the score.
    const channels = { point: point.likelihood, sustained: sustained.likelihood, recurring: point.likelihood >= sustained.likelihood ? point.recurring : sustained.recurring };

    const ungated = index < o.probationSamples ? 0 : newExtreme ? 1 : Math.max(channels.point, channels.sustained);
    const eligible = learn && this.material(value, deviation, seasonalExpected);
    const gateInput = { score: ungated, eligible, index };
    const { score, alarm } = this.gate.apply(index, ungated, eligible);
    const expected = first ? value : prev;
    // Read before the state below moves on: the explanation describes the state that scored the sample.
    const explanation = explainAll || alarm ? this.explain(value, expected, seasonalExpected, changeSurprise, seasonalSurprise, novelty, newExtreme, channels, score) : undefined;
    if (learn) {
      f[MIN] = Math.min(min, value);
      f[MAX] = Math.max(max, value);
      f[PREV] = value;
      f[PREV_TS] = ts;
      f[INDEX] = index + 1;
    }
    const status = learn ? 'scored' : 'late';
    // update()'s callers get DetectorOutput's fields exactly; only the quiet path adds `expected`.
    return explainAll ? { score, alarm, status, gate: gateInput, explanation } as QuietOutput : { score, alarm, status, gate: gateInput, expected, explanation };
  }

  private material(value: number, deviation: number, seasonalExpected: number): boolean {
    const m = this.config.options.minChange;
    if (m <= 0) return true;
    return Math.abs(deviation) >= m || Math.abs(value - seasonalExpected) >= m || value > this.f64[MAX]! + m || value < this.f64[MIN]! - m;
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
      min: this.f64[MIN]!,
      max: this.f64[MAX]!,
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
