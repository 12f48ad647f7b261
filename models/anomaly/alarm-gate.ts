import type { Slab, SlabSize } from './state-slab.ts';

/** How long after its probation a detector still asks for more evidence, and how much more. */
export interface WarmUp {
  /** Samples with an index below this need `threshold + margin` to alarm. */
  until: number;
  margin: number;
}

const NO_WARM_UP: Readonly<WarmUp> = Object.freeze({ until: 0, margin: 0 });

/**
 * Turns a series' scores into alarms: a sample alarms when its score reaches the threshold, it
 * is eligible (learned from, material), no alarm was raised in the last `refractorySamples`
 * samples, and, while the detector warms up (sample index below `warmUp.until`), the score also
 * clears the threshold by `warmUp.margin`; an ineligible or held-back sample's score is held just
 * below the threshold, so NAB counts it as no detection either. The detector gates with it live,
 * and the threshold sweep replays a recorded run through it at each candidate threshold: one
 * implementation of the rule.
 */
export class AlarmGate {
  // The index of the last alarm (−Infinity before the first) in one Float64 slot: the detector's slab, or its own.
  private readonly f64: Float64Array;
  private readonly at: number;

  constructor(
    readonly threshold: number,
    readonly refractorySamples: number,
    readonly warmUp: Readonly<WarmUp> = NO_WARM_UP,
    slab?: Slab,
  ) {
    this.f64 = slab?.f64 ?? new Float64Array(1);
    this.at = slab ? slab.take64(1) : 0;
    this.f64[this.at] = -Infinity;
  }

  /** Slots a gate takes in a slab. */
  static readonly size: Readonly<SlabSize> = Object.freeze({ f64: 1, f32: 0, u8: 0 });

  /** Bytes of state held (the last alarm's index; the threshold and hold-back are settings shared by a run). */
  get stateBytes(): number {
    return 8;
  }

  /** Gates the score of learned sample number `index` (late samples pass the index of the next one). */
  apply(index: number, score: number, eligible: boolean): { score: number; alarm: boolean } {
    if (score < this.threshold) return { score, alarm: false };
    const warming = index < this.warmUp.until && score < this.threshold + this.warmUp.margin;
    if (!eligible || warming || index - this.f64[this.at]! <= this.refractorySamples) return { score: this.threshold * (1 - 1e-9), alarm: false };
    this.f64[this.at] = index;
    return { score, alarm: true };
  }
}
