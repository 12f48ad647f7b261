import { NovaError } from '../../core/index.ts';

/** Settings of a rank sketch. */
export interface RankSketchOptions {
  /** Half-life of the exponential forgetting, in samples (a sample's weight halves after this many more). */
  halfLife: number;
  /** Bins per octave of magnitude (4 ⇒ each bin spans 19 %). */
  binsPerOctave: number;
  /** Octaves covered, centred on the first non-zero magnitude seen; values beyond clamp to the end bins. */
  octaves: number;
}

/** Defaults: half-life 3466 samples (the mean age of a 5,000-sample window), 4 bins per octave over 40 octaves (1e-6×…1e6× the first magnitude). */
export const RANK_SKETCH_DEFAULTS: Readonly<RankSketchOptions> = Object.freeze({ halfLife: 3466, binsPerOctave: 4, octaves: 40 });

// Weights grow by 1/decay per sample instead of every bin shrinking by decay (O(1) instead of
// O(bins)); the tree is rescaled once the running weight gets large.
const RESCALE_AT = 1e20;

/**
 * A fixed-size, exponentially forgetting distribution of non-negative magnitudes (e.g. absolute
 * changes) that answers "what share of recent magnitudes is below x" in O(log bins): a
 * log-spaced histogram (so any unit works: bytes, %, counts) kept as a Fenwick tree of decayed
 * weights. It stands in for a sorted window of the last N values at a fraction of the memory
 * (bins × 4 bytes instead of N × 16) and with no per-sample memmove.
 */
export class RankSketch {
  private readonly tree: Float32Array;
  private readonly bins: number;
  private readonly growth: number;
  private readonly binsPerOctave: number;
  private anchor = Number.NaN;
  private weight = 1;
  private total = 0;
  private n = 0;

  constructor(options: Partial<RankSketchOptions> = {}) {
    const o = { ...RANK_SKETCH_DEFAULTS, ...options };
    if (!(o.halfLife > 0)) throw new NovaError('MODELS_INVALID_ARGUMENT', `rank sketch halfLife must be > 0, got ${o.halfLife}`);
    if (!(Number.isInteger(o.binsPerOctave) && o.binsPerOctave >= 1 && Number.isInteger(o.octaves) && o.octaves >= 1)) {
      throw new NovaError('MODELS_INVALID_ARGUMENT', `rank sketch needs integer binsPerOctave and octaves ≥ 1, got ${o.binsPerOctave}, ${o.octaves}`);
    }
    this.binsPerOctave = o.binsPerOctave;
    // Bin 0 holds exact zeros (a flat series' changes); bins 1..bins-1 the log-spaced magnitudes.
    this.bins = o.binsPerOctave * o.octaves + 1;
    this.tree = new Float32Array(this.bins + 1);
    this.growth = Math.pow(2, 1 / o.halfLife);
  }

  /** Values pushed so far (not decayed). */
  get count(): number {
    return this.n;
  }

  /** Effective number of values the distribution is made of (tends to 1 / (1 − decay)). */
  get effectiveCount(): number {
    return this.total / this.weight;
  }

  /** Bytes of state this sketch holds (typed arrays plus its numeric fields). */
  get stateBytes(): number {
    return this.tree.byteLength + 8 * 8;
  }

  // Fractional bin position of x ≥ 0: 0 for 0, otherwise in [1, bins) on the log scale.
  private position(x: number): number {
    if (!(x > 0) || Number.isNaN(this.anchor)) return 0;
    const p = 1 + (Math.log2(x) - this.anchor) * this.binsPerOctave;
    return Math.min(this.bins - 1e-9, Math.max(1, p));
  }

  private add(bin: number, w: number): void {
    for (let i = bin + 1; i <= this.bins; i += i & -i) this.tree[i]! += w;
  }

  // Decayed weight of bins [0, bin).
  private prefix(bin: number): number {
    let s = 0;
    for (let i = bin; i > 0; i -= i & -i) s += this.tree[i]!;
    return s;
  }

  /** Adds a magnitude (negative values count as their absolute value). */
  push(x: number): void {
    const m = Math.abs(x);
    if (m > 0 && Number.isNaN(this.anchor)) this.anchor = Math.log2(m) - (this.bins - 1) / this.binsPerOctave / 2;
    this.weight *= this.growth;
    if (this.weight > RESCALE_AT) {
      for (let i = 1; i <= this.bins; i++) this.tree[i]! /= this.weight;
      this.total /= this.weight;
      this.weight = 1;
    }
    this.add(Math.floor(this.position(m)), this.weight);
    this.total += this.weight;
    this.n++;
  }

  /**
   * Effective count of recent magnitudes strictly below x, interpolating linearly inside x's bin
   * (on the log scale), in units where the newest sample weighs 1.
   */
  countBelow(x: number): number {
    if (this.total === 0) return 0;
    const m = Math.abs(x);
    if (m === 0) return 0;
    // Only zeros so far: every one of them is below x.
    if (Number.isNaN(this.anchor)) return this.total / this.weight;
    const pos = this.position(m);
    const bin = Math.floor(pos);
    const below = this.prefix(bin);
    const inBin = this.prefix(bin + 1) - below;
    return (below + (pos - bin) * inBin) / this.weight;
  }

  /**
   * Rank surprise of x: −ln p / ln(m + 1) with p = P(S ≥ x) estimated with add-one smoothing
   * over the effective count m, so 1 means "larger than everything seen lately" whatever the units.
   */
  surprise(x: number): number {
    const m = this.effectiveCount;
    if (m <= 0) return 0;
    const p = (m - this.countBelow(x) + 1) / (m + 1);
    return Math.min(1, Math.max(0, -Math.log(p) / Math.log(m + 1)));
  }

  /** Approximate q-quantile of the recent magnitudes (bin midpoint on the log scale), or 0 while empty. */
  quantile(q: number): number {
    if (this.total === 0) return 0;
    const target = q * this.total;
    // Binary descent on the Fenwick tree: the first bin whose prefix reaches the target.
    let pos = 0;
    let rest = target;
    for (let step = 1 << Math.floor(Math.log2(this.bins)); step > 0; step >>= 1) {
      const next = pos + step;
      if (next <= this.bins && this.tree[next]! < rest) {
        pos = next;
        rest -= this.tree[next]!;
      }
    }
    if (pos === 0 || Number.isNaN(this.anchor)) return 0;
    return Math.pow(2, this.anchor + (pos - 1 + 0.5) / this.binsPerOctave);
  }
}
