import { NovaError } from '../../core/index.ts';
import { Slab, type SlabSize } from './state-slab.ts';

/** Settings of the time-of-day profile. */
export interface SeasonalProfileOptions {
  /** Length of the season in ms (a day). */
  periodMs: number;
  /** Buckets the season is cut into (24: hourly). */
  buckets: number;
  /** How far back, in ms, a bucket's mean remembers (exponential memory of this many ms of samples). */
  memoryMs: number;
}

export const SEASONAL_PROFILE_DEFAULTS: Readonly<SeasonalProfileOptions> = Object.freeze({ periodMs: 86_400_000, buckets: 24, memoryMs: 7 * 86_400_000 });

/**
 * Expected value by time of day: per bucket, an exponentially weighted mean whose memory is
 * `memoryMs` of that bucket's samples whatever the sampling interval (the weight of a sample is
 * its share of the time it stands for). On a series without a daily cycle it is simply a slow
 * moving level, so its residual still reads "far from where this series has been".
 */
export class SeasonalProfile {
  // Float64 slots from `at`: [ bucket means | bucket sample counts | last timestamp, interval ].
  private readonly f64: Float64Array;
  private readonly at: number;

  constructor(
    private readonly opts: Readonly<SeasonalProfileOptions> = SEASONAL_PROFILE_DEFAULTS,
    slab?: Slab,
  ) {
    if (!(opts.periodMs > 0 && Number.isInteger(opts.buckets) && opts.buckets >= 1 && opts.memoryMs > 0)) throw new NovaError('MODELS_INVALID_ARGUMENT', 'seasonal profile needs periodMs > 0, buckets ≥ 1, memoryMs > 0');
    const s = slab ?? new Slab(SeasonalProfile.size(opts));
    this.f64 = s.f64;
    this.at = s.take64(2 * opts.buckets + 2);
    this.f64[this.at + 2 * opts.buckets] = Number.NaN;
    this.f64[this.at + 2 * opts.buckets + 1] = Number.NaN;
  }

  /** Slots a profile with these options takes in a slab. */
  static size(opts: Readonly<SeasonalProfileOptions>): SlabSize {
    return { f64: 2 * opts.buckets + 2, f32: 0, u8: 0 };
  }

  get stateBytes(): number {
    return (2 * this.opts.buckets + 2) * 8;
  }

  private bucket(ts: number): number {
    const phase = ((ts % this.opts.periodMs) + this.opts.periodMs) % this.opts.periodMs;
    return Math.min(this.opts.buckets - 1, Math.floor((phase / this.opts.periodMs) * this.opts.buckets));
  }

  /** Expected value at ts (NaN until its bucket has a sample). */
  expected(ts: number): number {
    const b = this.at + this.bucket(ts);
    return this.f64[this.opts.buckets + b]! > 0 ? this.f64[b]! : Number.NaN;
  }

  /** Learns x at ts (timestamps increasing). */
  update(ts: number, x: number): void {
    const f = this.f64;
    const buckets = this.opts.buckets;
    const lastTsAt = this.at + 2 * buckets;
    const intervalAt = lastTsAt + 1;
    if (!Number.isNaN(f[lastTsAt]!)) {
      const dt = ts - f[lastTsAt]!;
      const interval = f[intervalAt]!;
      // Running median-ish interval: robust to the odd gap.
      f[intervalAt] = Number.isNaN(interval) ? dt : interval + 0.05 * (Math.min(dt, 10 * interval) - interval);
    }
    f[lastTsAt] = ts;
    const b = this.at + this.bucket(ts);
    const interval = f[intervalAt]!;
    const share = Number.isNaN(interval) ? 0 : interval / (this.opts.memoryMs / buckets);
    const count = ++f[buckets + b]!;
    const alpha = Math.max(1 / count, Math.min(1, share));
    f[b]! += alpha * (x - f[b]!);
  }
}
