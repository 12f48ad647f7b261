import { NovaError } from '../../core/index.ts';
import { Slab, type SlabSize } from './state-slab.ts';

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
 * The constants derived from a sketch's options, validated once and shared by every sketch built
 * with them (a worker holds two per series: no per-series copy).
 */
export class RankSketchShape {
  /** Bin 0 holds exact zeros (a flat series' changes); bins 1..bins-1 the log-spaced magnitudes. */
  readonly bins: number;
  /** Per-sample growth of the weight of new values (1 / decay). */
  readonly growth: number;
  readonly binsPerOctave: number;

  constructor(options: Partial<RankSketchOptions> = {}) {
    const o = { ...RANK_SKETCH_DEFAULTS, ...options };
    if (!(o.halfLife > 0)) throw new NovaError('MODELS_INVALID_ARGUMENT', `rank sketch halfLife must be > 0, got ${o.halfLife}`);
    if (!(Number.isInteger(o.binsPerOctave) && o.binsPerOctave >= 1 && Number.isInteger(o.octaves) && o.octaves >= 1)) {
      throw new NovaError('MODELS_INVALID_ARGUMENT', `rank sketch needs integer binsPerOctave and octaves ≥ 1, got ${o.binsPerOctave}, ${o.octaves}`);
    }
    this.binsPerOctave = o.binsPerOctave;
    this.bins = o.binsPerOctave * o.octaves + 1;
    this.growth = Math.pow(2, 1 / o.halfLife);
    Object.freeze(this);
  }

  /** Slots a sketch of this shape takes in a slab: its four scalars and the 1-based Fenwick tree. */
  get size(): SlabSize {
    return { f64: FIELDS, f32: this.bins + 1, u8: 0 };
  }
}

// Scalar slots (Float64) of a sketch, from its offset.
const ANCHOR = 0; // log2 of the magnitude bin 1 starts at (NaN until the first non-zero magnitude)
const WEIGHT = 1; // weight of the newest sample in tree units
const TOTAL = 2; // decayed weight of everything pushed, in tree units
const COUNT = 3; // values pushed
const FIELDS = 4;

/**
 * A fixed-size, exponentially forgetting distribution of non-negative magnitudes (e.g. absolute
 * changes) that answers "what share of recent magnitudes is below x" in O(log bins): a
 * log-spaced histogram (so any unit works: bytes, %, counts) kept as a Fenwick tree of decayed
 * weights. It stands in for a sorted window of the last N values at a fraction of the memory
 * (bins × 4 bytes instead of N × 16) and with no per-sample memmove.
 *
 * Its state lives in a `Slab` (the detector's, or its own when built alone): four Float64
 * scalars at `at` and the tree at `treeAt` (tree index i, 1-based, at `f32[treeAt + i]`).
 */
export class RankSketch {
  private readonly shape: RankSketchShape;
  private readonly f64: Float64Array;
  private readonly at: number;
  private readonly f32: Float32Array;
  private readonly treeAt: number;

  constructor(options: RankSketchShape | Partial<RankSketchOptions> = {}, slab?: Slab) {
    this.shape = options instanceof RankSketchShape ? options : new RankSketchShape(options);
    const s = slab ?? new Slab(this.shape.size);
    this.f64 = s.f64;
    this.f32 = s.f32;
    this.at = s.take64(FIELDS);
    this.treeAt = s.take32(this.shape.bins + 1);
    this.f64[this.at + ANCHOR] = Number.NaN;
    this.f64[this.at + WEIGHT] = 1;
  }

  /** Values pushed so far (not decayed). */
  get count(): number {
    return this.f64[this.at + COUNT]!;
  }

  /** Effective number of values the distribution is made of (tends to 1 / (1 − decay)). */
  get effectiveCount(): number {
    return this.f64[this.at + TOTAL]! / this.f64[this.at + WEIGHT]!;
  }

  /** Bytes of state this sketch holds (its slots of the slab). */
  get stateBytes(): number {
    return FIELDS * 8 + (this.shape.bins + 1) * 4;
  }

  // Fractional bin position of x ≥ 0: 0 for 0, otherwise in [1, bins) on the log scale.
  private position(x: number): number {
    const anchor = this.f64[this.at + ANCHOR]!;
    if (!(x > 0) || Number.isNaN(anchor)) return 0;
    const p = 1 + (Math.log2(x) - anchor) * this.shape.binsPerOctave;
    return Math.min(this.shape.bins - 1e-9, Math.max(1, p));
  }

  private add(bin: number, w: number): void {
    const tree = this.f32;
    const base = this.treeAt;
    const bins = this.shape.bins;
    for (let i = bin + 1; i <= bins; i += i & -i) tree[base + i]! += w;
  }

  // Decayed weight of bins [0, bin).
  private prefix(bin: number): number {
    const tree = this.f32;
    const base = this.treeAt;
    let s = 0;
    for (let i = bin; i > 0; i -= i & -i) s += tree[base + i]!;
    return s;
  }

  /** Adds a magnitude (negative values count as their absolute value). */
  push(x: number): void {
    const f = this.f64;
    const at = this.at;
    const { bins, binsPerOctave, growth } = this.shape;
    const m = Math.abs(x);
    if (m > 0 && Number.isNaN(f[at + ANCHOR]!)) f[at + ANCHOR] = Math.log2(m) - (bins - 1) / binsPerOctave / 2;
    f[at + WEIGHT]! *= growth;
    if (f[at + WEIGHT]! > RESCALE_AT) {
      const weight = f[at + WEIGHT]!;
      for (let i = 1; i <= bins; i++) this.f32[this.treeAt + i]! /= weight;
      f[at + TOTAL]! /= weight;
      f[at + WEIGHT] = 1;
    }
    this.add(Math.floor(this.position(m)), f[at + WEIGHT]!);
    f[at + TOTAL]! += f[at + WEIGHT]!;
    f[at + COUNT]!++;
  }

  /**
   * Effective count of recent magnitudes strictly below x, interpolating linearly inside x's bin
   * (on the log scale), in units where the newest sample weighs 1.
   */
  countBelow(x: number): number {
    const f = this.f64;
    const at = this.at;
    const total = f[at + TOTAL]!;
    if (total === 0) return 0;
    const m = Math.abs(x);
    if (m === 0) return 0;
    // Only zeros so far: every one of them is below x.
    if (Number.isNaN(f[at + ANCHOR]!)) return total / f[at + WEIGHT]!;
    const pos = this.position(m);
    const bin = Math.floor(pos);
    const below = this.prefix(bin);
    const inBin = this.prefix(bin + 1) - below;
    return (below + (pos - bin) * inBin) / f[at + WEIGHT]!;
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
    const total = this.f64[this.at + TOTAL]!;
    if (total === 0) return 0;
    const { bins, binsPerOctave } = this.shape;
    const tree = this.f32;
    const base = this.treeAt;
    const target = q * total;
    // Binary descent on the Fenwick tree: the first bin whose prefix reaches the target.
    let pos = 0;
    let rest = target;
    for (let step = 1 << Math.floor(Math.log2(bins)); step > 0; step >>= 1) {
      const next = pos + step;
      if (next <= bins && tree[base + next]! < rest) {
        pos = next;
        rest -= tree[base + next]!;
      }
    }
    const anchor = this.f64[this.at + ANCHOR]!;
    if (pos === 0 || Number.isNaN(anchor)) return 0;
    return Math.pow(2, anchor + (pos - 1 + 0.5) / binsPerOctave);
  }
}
