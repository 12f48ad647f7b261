import { NovaError } from '../../core/index.ts';

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
  // [ bucket means | bucket sample counts ] in one array (one typed array costs ~200 bytes of heap on top of its data).
  private readonly state: Float64Array;
  private lastTs = Number.NaN;
  private interval = Number.NaN;

  constructor(private readonly opts: SeasonalProfileOptions = SEASONAL_PROFILE_DEFAULTS) {
    if (!(opts.periodMs > 0 && Number.isInteger(opts.buckets) && opts.buckets >= 1 && opts.memoryMs > 0)) throw new NovaError('MODELS_INVALID_ARGUMENT', 'seasonal profile needs periodMs > 0, buckets ≥ 1, memoryMs > 0');
    this.state = new Float64Array(2 * opts.buckets);
  }

  get stateBytes(): number {
    return this.state.byteLength + 3 * 8;
  }

  private bucket(ts: number): number {
    const phase = ((ts % this.opts.periodMs) + this.opts.periodMs) % this.opts.periodMs;
    return Math.min(this.opts.buckets - 1, Math.floor((phase / this.opts.periodMs) * this.opts.buckets));
  }

  /** Expected value at ts (NaN until its bucket has a sample). */
  expected(ts: number): number {
    const b = this.bucket(ts);
    return this.state[this.opts.buckets + b]! > 0 ? this.state[b]! : Number.NaN;
  }

  /** Learns x at ts (timestamps increasing). */
  update(ts: number, x: number): void {
    if (!Number.isNaN(this.lastTs)) {
      const dt = ts - this.lastTs;
      // Running median-ish interval: robust to the odd gap.
      this.interval = Number.isNaN(this.interval) ? dt : this.interval + 0.05 * (Math.min(dt, 10 * this.interval) - this.interval);
    }
    this.lastTs = ts;
    const b = this.bucket(ts);
    const share = Number.isNaN(this.interval) ? 0 : this.interval / (this.opts.memoryMs / this.opts.buckets);
    const count = ++this.state[this.opts.buckets + b]!;
    const alpha = Math.max(1 / count, Math.min(1, share));
    this.state[b]! += alpha * (x - this.state[b]!);
  }
}
