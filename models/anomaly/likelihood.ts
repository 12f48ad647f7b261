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

/**
 * HTM-style anomaly likelihood (Ahmad et al. 2017, §4): the short moving average of a raw
 * surprise score is compared with a normal fitted to its own recent history, so a series that
 * is always a bit surprising stops alarming and only an unusual run of surprise scores high.
 * Output: log-scaled likelihood in [0, 1] (0.5 ⇔ tail probability 1e-5). Unlike nupic, a run of
 * *less* surprise than usual is not anomalous (the tail is one-sided).
 *
 * The history is kept as block moments: the sum and sum of squares of each block of
 * `reestimationPeriod` averages, ⌈historicWindow / period⌉ + 1 blocks, so the estimate sees
 * the same values as nupic's sliding window give or take one block, in 0.7 KB instead of 69 KB.
 * Everything lives in one Float32Array: [ recent raw scores | block sums, block sums of squares ]
 * (a block sums at most 100 scores in [0, 1]: single precision changes no score on NAB).
 */
export class AnomalyLikelihood {
  private readonly opts: LikelihoodOptions;
  private readonly buf: Float32Array;
  private readonly blocks: number;
  private recentHead = 0;
  private recentCount = 0;
  private recentSum = 0;
  private blockHead = 0;
  private inBlock = 0;
  private blocksFilled = 0;
  private seen = 0;
  private sinceEstimate = 0;
  private mean = MIN_MEAN;
  private stdev = Math.sqrt(MIN_VARIANCE);
  private estimated = false;
  private lastAverage = 0;

  constructor(opts: LikelihoodOptions) {
    for (const [k, v] of Object.entries(opts)) {
      if (!(Number.isInteger(v) && v >= 0)) throw new NovaError('MODELS_INVALID_ARGUMENT', `likelihood option ${k} must be a non-negative integer, got ${v}`);
    }
    if (opts.averagingWindow < 1 || opts.historicWindow < 1 || opts.reestimationPeriod < 1) throw new NovaError('MODELS_INVALID_ARGUMENT', 'likelihood windows and re-estimation period must be at least one sample');
    this.opts = opts;
    this.blocks = Math.ceil(opts.historicWindow / opts.reestimationPeriod) + 1;
    this.buf = new Float32Array(opts.averagingWindow + 2 * this.blocks);
  }

  /** Bytes of state held (the buffer and 15 numeric fields). */
  get stateBytes(): number {
    return this.buf.byteLength + 15 * 8;
  }

  /** The moving average of raw scores the last `update` judged. */
  get average(): number {
    return this.lastAverage;
  }

  /** Feeds one raw score in [0, 1]; returns the log-likelihood score (0 until the first estimate). */
  update(raw: number): number {
    const o = this.opts;
    const w = o.averagingWindow;
    // The sum adds exactly what the Float32 ring will give back when the score leaves it (no drift).
    const r = Math.fround(raw);
    if (this.recentCount === w) this.recentSum -= this.buf[this.recentHead]!;
    else this.recentCount++;
    this.buf[this.recentHead] = r;
    this.recentSum += r;
    this.recentHead = (this.recentHead + 1) % w;
    const avg = this.recentSum / this.recentCount;
    this.lastAverage = avg;
    this.seen++;
    if (this.seen > o.learningSamples) this.pushHistory(avg);
    this.sinceEstimate++;
    if (this.seen >= o.estimationStart && (!this.estimated || this.sinceEstimate >= o.reestimationPeriod)) this.estimate();
    return this.judge(avg);
  }

  /** The score `update(raw)` would return, without learning from it (for late samples). */
  peek(raw: number): number {
    return this.judge(this.peekAverage(raw));
  }

  /** The moving average `update(raw)` would judge, without learning from it. */
  peekAverage(raw: number): number {
    const w = this.opts.averagingWindow;
    const r = Math.fround(raw);
    return this.recentCount < w ? (this.recentSum + r) / (this.recentCount + 1) : (this.recentSum - this.buf[this.recentHead]! + r) / w;
  }

  private pushHistory(x: number): void {
    const base = this.opts.averagingWindow;
    if (this.inBlock === this.opts.reestimationPeriod) {
      this.blockHead = (this.blockHead + 1) % this.blocks;
      this.buf[base + 2 * this.blockHead] = 0;
      this.buf[base + 2 * this.blockHead + 1] = 0;
      this.inBlock = 0;
    }
    if (this.inBlock === 0 && this.blocksFilled < this.blocks) this.blocksFilled++;
    this.buf[base + 2 * this.blockHead]! += x;
    this.buf[base + 2 * this.blockHead + 1]! += x * x;
    this.inBlock++;
  }

  private judge(avg: number): number {
    if (!this.estimated) return 0;
    const z = (avg - this.mean) / this.stdev;
    const tail = z > 0 ? 0.5 * erfc(z / Math.SQRT2) : 1;
    return Math.min(1, Math.max(0, Math.log(LOG_EPSILON + tail) / Math.log(LOG_EPSILON)));
  }

  private estimate(): void {
    // Every block but the head one is full.
    const n = (this.blocksFilled - 1) * this.opts.reestimationPeriod + this.inBlock;
    if (n <= 0) return;
    const base = this.opts.averagingWindow;
    let s = 0;
    let ss = 0;
    for (let b = 0; b < this.blocks; b++) {
      s += this.buf[base + 2 * b]!;
      ss += this.buf[base + 2 * b + 1]!;
    }
    const mean = s / n;
    this.mean = Math.max(mean, MIN_MEAN);
    this.stdev = Math.sqrt(Math.max(ss / n - mean * mean, MIN_VARIANCE));
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
