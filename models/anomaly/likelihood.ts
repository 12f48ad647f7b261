import { NovaError } from '../../core/index.ts';
import { Slab, type SlabSize } from './state-slab.ts';

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
 * The scores and block moments live in Float32 slots of a `Slab` (the detector's, or its own when
 * built alone): [ recent raw scores | block sums, block sums of squares ] (a block sums at most
 * 100 scores in [0, 1]: single precision changes no score on NAB); the scalars in Float64 slots.
 */
export class AnomalyLikelihood {
  // Shared, not copied: the detector passes one options object to all its series' likelihoods.
  private readonly opts: Readonly<LikelihoodOptions>;
  private readonly blocks: number;
  private readonly f64: Float64Array;
  private readonly at: number;
  // [ recent raw scores | block sums, block sums of squares ] from `bufAt` in the slab's Float32 view.
  private readonly buf: Float32Array;
  private readonly bufAt: number;

  constructor(opts: Readonly<LikelihoodOptions>, slab?: Slab) {
    if (!CHECKED.has(opts)) {
      for (const [k, v] of Object.entries(opts)) {
        if (!(Number.isInteger(v) && v >= 0)) throw new NovaError('MODELS_INVALID_ARGUMENT', `likelihood option ${k} must be a non-negative integer, got ${v}`);
      }
      if (opts.averagingWindow < 1 || opts.historicWindow < 1 || opts.reestimationPeriod < 1) throw new NovaError('MODELS_INVALID_ARGUMENT', 'likelihood windows and re-estimation period must be at least one sample');
      // A frozen options object (the detector's, shared by all its series) is checked once.
      if (Object.isFrozen(opts)) CHECKED.add(opts);
    }
    this.opts = Object.isFrozen(opts) ? opts : Object.freeze({ ...opts });
    this.blocks = blockCount(opts);
    const s = slab ?? new Slab(AnomalyLikelihood.size(opts));
    this.f64 = s.f64;
    this.buf = s.f32;
    this.at = s.take64(FIELDS);
    this.bufAt = s.take32(opts.averagingWindow + 2 * this.blocks);
    this.f64[this.at + MEAN] = MIN_MEAN;
    this.f64[this.at + STDEV] = Math.sqrt(MIN_VARIANCE);
  }

  /** Slots a likelihood with these options takes in a slab. */
  static size(opts: Readonly<LikelihoodOptions>): SlabSize {
    return { f64: FIELDS, f32: opts.averagingWindow + 2 * blockCount(opts), u8: 0 };
  }

  /** Bytes of state held (its slots of the slab: the score buffer and 12 scalars). */
  get stateBytes(): number {
    return (this.opts.averagingWindow + 2 * this.blocks) * 4 + FIELDS * 8;
  }

  /** The moving average of raw scores the last `update` judged. */
  get average(): number {
    return this.f64[this.at + LAST_AVERAGE]!;
  }

  /** Feeds one raw score in [0, 1]; returns the log-likelihood score (0 until the first estimate). */
  update(raw: number): number {
    const o = this.opts;
    const f = this.f64;
    const at = this.at;
    const w = o.averagingWindow;
    // The sum adds exactly what the Float32 ring will give back when the score leaves it (no drift).
    const r = Math.fround(raw);
    const head = f[at + RECENT_HEAD]!;
    if (f[at + RECENT_COUNT] === w) f[at + RECENT_SUM]! -= this.buf[this.bufAt + head]!;
    else f[at + RECENT_COUNT]!++;
    this.buf[this.bufAt + head] = r;
    f[at + RECENT_SUM]! += r;
    f[at + RECENT_HEAD] = (head + 1) % w;
    const avg = f[at + RECENT_SUM]! / f[at + RECENT_COUNT]!;
    f[at + LAST_AVERAGE] = avg;
    const seen = ++f[at + SEEN]!;
    if (seen > o.learningSamples) this.pushHistory(avg);
    const sinceEstimate = ++f[at + SINCE_ESTIMATE]!;
    if (seen >= o.estimationStart && (f[at + ESTIMATED] === 0 || sinceEstimate >= o.reestimationPeriod)) this.estimate();
    return this.judge(avg);
  }

  /** The score `update(raw)` would return, without learning from it (for late samples). */
  peek(raw: number): number {
    return this.judge(this.peekAverage(raw));
  }

  /** The moving average `update(raw)` would judge, without learning from it. */
  peekAverage(raw: number): number {
    const f = this.f64;
    const at = this.at;
    const w = this.opts.averagingWindow;
    const r = Math.fround(raw);
    const count = f[at + RECENT_COUNT]!;
    const sum = f[at + RECENT_SUM]!;
    return count < w ? (sum + r) / (count + 1) : (sum - this.buf[this.bufAt + f[at + RECENT_HEAD]!]! + r) / w;
  }

  private pushHistory(x: number): void {
    const f = this.f64;
    const at = this.at;
    const base = this.bufAt + this.opts.averagingWindow;
    if (f[at + IN_BLOCK] === this.opts.reestimationPeriod) {
      const blockHead = (f[at + BLOCK_HEAD]! + 1) % this.blocks;
      f[at + BLOCK_HEAD] = blockHead;
      this.buf[base + 2 * blockHead] = 0;
      this.buf[base + 2 * blockHead + 1] = 0;
      f[at + IN_BLOCK] = 0;
    }
    if (f[at + IN_BLOCK] === 0 && f[at + BLOCKS_FILLED]! < this.blocks) f[at + BLOCKS_FILLED]!++;
    const blockHead = f[at + BLOCK_HEAD]!;
    this.buf[base + 2 * blockHead]! += x;
    this.buf[base + 2 * blockHead + 1]! += x * x;
    f[at + IN_BLOCK]!++;
  }

  private judge(avg: number): number {
    const f = this.f64;
    if (f[this.at + ESTIMATED] === 0) return 0;
    const z = (avg - f[this.at + MEAN]!) / f[this.at + STDEV]!;
    const tail = z > 0 ? 0.5 * erfc(z / Math.SQRT2) : 1;
    return Math.min(1, Math.max(0, Math.log(LOG_EPSILON + tail) / Math.log(LOG_EPSILON)));
  }

  private estimate(): void {
    const f = this.f64;
    const at = this.at;
    // Every block but the head one is full.
    const n = (f[at + BLOCKS_FILLED]! - 1) * this.opts.reestimationPeriod + f[at + IN_BLOCK]!;
    if (n <= 0) return;
    const base = this.bufAt + this.opts.averagingWindow;
    let s = 0;
    let ss = 0;
    for (let b = 0; b < this.blocks; b++) {
      s += this.buf[base + 2 * b]!;
      ss += this.buf[base + 2 * b + 1]!;
    }
    const mean = s / n;
    f[at + MEAN] = Math.max(mean, MIN_MEAN);
    f[at + STDEV] = Math.sqrt(Math.max(ss / n - mean * mean, MIN_VARIANCE));
    f[at + ESTIMATED] = 1;
    f[at + SINCE_ESTIMATE] = 0;
  }
}

// Options objects already checked (frozen ones only, so they cannot change after the check).
const CHECKED = new WeakSet<object>();

function blockCount(opts: Readonly<LikelihoodOptions>): number {
  return Math.ceil(opts.historicWindow / opts.reestimationPeriod) + 1;
}

// Scalar slots (Float64) of a likelihood, from its offset: integers are exact in a double.
const RECENT_HEAD = 0;
const RECENT_COUNT = 1;
const RECENT_SUM = 2;
const BLOCK_HEAD = 3;
const IN_BLOCK = 4;
const BLOCKS_FILLED = 5;
const SEEN = 6;
const SINCE_ESTIMATE = 7;
const MEAN = 8;
const STDEV = 9;
const ESTIMATED = 10; // 0 until the first estimate, then 1
const LAST_AVERAGE = 11;
const FIELDS = 12;

/** Complementary error function (Numerical Recipes `erfcc`, relative error < 1.2e-7). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? r : 2 - r;
}
