import { NovaError } from '../../core/index.ts';

/** Settings of the anomaly likelihood; the defaults are Numenta's (nupic `AnomalyLikelihood`, NAB's numenta detector). */
export interface LikelihoodOptions {
  /** Samples whose raw scores are ignored before any statistics are kept (NAB: half the probation). */
  learningSamples: number;
  /** Samples after which the first estimate is made and scoring starts (NAB: the probation). */
  estimationStart: number;
  /** Length of the short moving average of raw scores that is judged. */
  averagingWindow: number;
  /** How many averaged scores the long-run distribution is estimated from. */
  historicWindow: number;
  /** Re-estimate the long-run distribution every this many samples. */
  reestimationPeriod: number;
}

/** Numenta's defaults for everything but the two probation-dependent lengths. */
export const LIKELIHOOD_DEFAULTS = Object.freeze({ averagingWindow: 10, historicWindow: 8640, reestimationPeriod: 100 });

// nupic's lower bounds on the fitted normal: without them a series whose raw score is almost
// always 0 gets a vanishing variance and every later blip looks infinitely unlikely.
const MIN_MEAN = 0.03;
const MIN_VARIANCE = 0.0003;
// log(1 - L) / log(1e-10): a likelihood of 1 − 1e-5 maps to 0.5 (Numenta's "red" level).
const LOG_EPSILON = 1e-10;

/** Ring buffer of numbers with a running sum (the short moving average). */
class RingSum {
  private readonly buf: Float64Array;
  private head = 0;
  private count = 0;
  private sum = 0;
  constructor(capacity: number) {
    this.buf = new Float64Array(capacity);
  }
  push(x: number): void {
    if (this.count === this.buf.length) this.sum -= this.buf[this.head]!;
    else this.count++;
    this.buf[this.head] = x;
    this.sum += x;
    this.head = (this.head + 1) % this.buf.length;
  }
  mean(): number {
    return this.count === 0 ? 0 : this.sum / this.count;
  }
  values(): Float64Array {
    return this.count === this.buf.length ? this.buf : this.buf.subarray(0, this.count);
  }
}

/**
 * HTM-style anomaly likelihood (Ahmad et al. 2017, §4): the short moving average of a raw
 * surprise score is compared with a normal fitted to its own recent history, so a series that
 * is always a bit surprising stops alarming and only an unusual run of surprise scores high.
 * Output: log-scaled likelihood in [0, 1] (0.5 ⇔ tail probability 1e-5). Unlike nupic, a run of
 * *less* surprise than usual is not anomalous (the tail is one-sided).
 */
export class AnomalyLikelihood {
  private readonly opts: LikelihoodOptions;
  private readonly recent: RingSum;
  private readonly history: RingSum;
  private seen = 0;
  private sinceEstimate = 0;
  private mean = MIN_MEAN;
  private stdev = Math.sqrt(MIN_VARIANCE);
  private estimated = false;

  constructor(opts: LikelihoodOptions) {
    for (const [k, v] of Object.entries(opts)) {
      if (!(Number.isInteger(v) && v >= 0)) throw new NovaError('MODELS_INVALID_ARGUMENT', `likelihood option ${k} must be a non-negative integer, got ${v}`);
    }
    if (opts.averagingWindow < 1 || opts.historicWindow < 1) throw new NovaError('MODELS_INVALID_ARGUMENT', 'likelihood windows must hold at least one sample');
    this.opts = { ...opts };
    this.recent = new RingSum(opts.averagingWindow);
    this.history = new RingSum(opts.historicWindow);
  }

  /** Feeds one raw score in [0, 1]; returns the log-likelihood score (0 until the first estimate). */
  update(raw: number): number {
    const o = this.opts;
    this.recent.push(raw);
    const avg = this.recent.mean();
    this.seen++;
    if (this.seen > o.learningSamples) this.history.push(avg);
    this.sinceEstimate++;
    if (this.seen >= o.estimationStart && (!this.estimated || this.sinceEstimate >= o.reestimationPeriod)) this.estimate();
    if (!this.estimated) return 0;
    const z = (avg - this.mean) / this.stdev;
    const tail = z > 0 ? 0.5 * erfc(z / Math.SQRT2) : 1;
    return Math.min(1, Math.max(0, Math.log(LOG_EPSILON + tail) / Math.log(LOG_EPSILON)));
  }

  private estimate(): void {
    const h = this.history.values();
    if (h.length === 0) return;
    let sum = 0;
    for (const v of h) sum += v;
    const mean = sum / h.length;
    let ss = 0;
    for (const v of h) ss += (v - mean) * (v - mean);
    this.mean = Math.max(mean, MIN_MEAN);
    this.stdev = Math.sqrt(Math.max(ss / h.length, MIN_VARIANCE));
    this.estimated = true;
    this.sinceEstimate = 0;
  }
}

/** Complementary error function (Numerical Recipes `erfcc`, relative error < 1.2e-7). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? r : 2 - r;
}
