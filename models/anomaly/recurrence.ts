import { NovaError } from '../../core/index.ts';
import { Slab, type SlabSize } from './state-slab.ts';

/** Settings of the recurrence filter. */
export interface RecurrenceOptions {
  /** A burst of surprise that at least this many earlier bursts within `horizon` exceeded is recurring (0 turns the filter off). */
  count: number;
  /** Samples an earlier burst is remembered for (the likelihood's history: 8,640). */
  horizon: number;
  /** Likelihood at or above which a sample belongs to a burst. */
  burstLevel: number;
  /** Factor a recurring burst's likelihood is multiplied by. */
  factor: number;
}

/** Defaults: five earlier bursts within the likelihood's 8,640-sample history, bursts from likelihood 0.2, halved. */
export const RECURRENCE_DEFAULTS: Readonly<RecurrenceOptions> = Object.freeze({ count: 5, horizon: 8640, burstLevel: 0.2, factor: 0.5 });

// Bursts remembered: the largest ones, at least `count` of them.
const CAPACITY = 8;

/**
 * Learns which bursts of surprise a series produces again and again (a nightly backup spike, a
 * cron job's load) so they stop alarming once they have happened `count` times, while a burst
 * larger than those still alarms. A burst is a run of samples whose likelihood reaches
 * `burstLevel`; what is remembered is its peak averaged surprise (the likelihood's input, so
 * bursts compare in one unit) and when it ended. A sample whose averaged surprise at least
 * `count` remembered bursts of the last `horizon` samples exceeded has its likelihood multiplied
 * by `factor`: it is as surprising as something that happens every few days, not rare.
 *
 * The Gaussian the likelihood fits to its history cannot learn this: a series that is calm but
 * for a spike a day keeps a small variance, so every spike scores as a 4-sigma event.
 * Fixed state: `CAPACITY` (peak, end) pairs; O(CAPACITY) per sample.
 */
export class RecurrenceFilter {
  // Shared, not copied: the detector passes one options object per channel to all its series.
  private readonly opts: Readonly<RecurrenceOptions>;
  // Float64 slots from `at`: [peak, end index] per remembered burst (an empty slot has peak
  // −Infinity), then the peak of the burst in progress (−Infinity when none).
  private readonly f64: Float64Array;
  private readonly at: number;

  constructor(opts: Readonly<RecurrenceOptions> = RECURRENCE_DEFAULTS, slab?: Slab) {
    if (!(Number.isInteger(opts.count) && opts.count >= 0 && opts.count <= CAPACITY)) throw new NovaError('MODELS_INVALID_ARGUMENT', `recurrence count must be an integer in [0, ${CAPACITY}], got ${opts.count}`);
    if (!(opts.horizon > 0 && opts.burstLevel > 0 && opts.burstLevel <= 1 && opts.factor >= 0 && opts.factor <= 1)) {
      throw new NovaError('MODELS_INVALID_ARGUMENT', 'recurrence filter needs horizon > 0, burstLevel in (0, 1], factor in [0, 1]');
    }
    this.opts = Object.isFrozen(opts) ? opts : Object.freeze({ ...opts });
    const s = slab ?? new Slab(RecurrenceFilter.size);
    this.f64 = s.f64;
    this.at = s.take64(FIELDS);
    this.f64.fill(Number.NEGATIVE_INFINITY, this.at, this.at + FIELDS);
  }

  /** Slots a filter takes in a slab. */
  static readonly size: Readonly<SlabSize> = Object.freeze({ f64: 2 * CAPACITY + 1, f32: 0, u8: 0 });

  /** Bytes of state held (the burst table and the burst in progress). */
  get stateBytes(): number {
    return FIELDS * 8;
  }

  /** Earlier bursts of the last `horizon` samples whose peak exceeds `average`. */
  exceeding(index: number, average: number): number {
    const f = this.f64;
    const at = this.at;
    const horizon = this.opts.horizon;
    let n = 0;
    for (let i = 0; i < CAPACITY; i++) if (f[at + 2 * i]! > average && index - f[at + 2 * i + 1]! < horizon) n++;
    return n;
  }

  /**
   * Judges the likelihood of sample `index`, whose averaged surprise was `average`: returns it,
   * multiplied by `factor` when the burst is recurring. Learns the bursts when `learn` (late samples pass false).
   */
  apply(index: number, average: number, likelihood: number, learn: boolean): { likelihood: number; recurring: boolean } {
    const o = this.opts;
    const recurring = o.count > 0 && likelihood > 0 && this.exceeding(index, average) >= o.count;
    if (learn) {
      const current = this.at + CURRENT;
      if (likelihood >= o.burstLevel) this.f64[current] = Math.max(this.f64[current]!, average);
      else if (this.f64[current]! > Number.NEGATIVE_INFINITY) {
        this.remember(this.f64[current]!, index);
        this.f64[current] = Number.NEGATIVE_INFINITY;
      }
    }
    return { likelihood: recurring ? likelihood * o.factor : likelihood, recurring };
  }

  // Keeps the largest bursts: a free or expired slot first, else the smallest if this one is larger.
  private remember(peak: number, index: number): void {
    const f = this.f64;
    const at = this.at;
    const horizon = this.opts.horizon;
    let slot = -1;
    let smallest = Number.POSITIVE_INFINITY;
    for (let i = 0; i < CAPACITY; i++) {
      const p = f[at + 2 * i]!;
      if (p === Number.NEGATIVE_INFINITY || index - f[at + 2 * i + 1]! >= horizon) {
        slot = i;
        break;
      }
      if (p < smallest) {
        smallest = p;
        slot = i;
      }
    }
    if (f[at + 2 * slot]! !== Number.NEGATIVE_INFINITY && index - f[at + 2 * slot + 1]! < horizon && peak <= smallest) return;
    f[at + 2 * slot] = peak;
    f[at + 2 * slot + 1] = index;
  }
}

const CURRENT = 2 * CAPACITY;
const FIELDS = 2 * CAPACITY + 1;
