import { NovaError } from '../../core/index.ts';

/** Settings of the sequence memory. */
export interface ContextNoveltyOptions {
  /** Levels the calibration range is cut into (CAD OSE uses 3 bits, i.e. 8). */
  levels: number;
  /** Length of a context: this many consecutive levels, the last being the current sample. */
  contextLength: number;
  /** Copies of the quantiser shifted by 1/grids of a level, so no value sits on every boundary. */
  grids: number;
}

/** Defaults used by the detector. */
export const CONTEXT_NOVELTY_DEFAULTS: Readonly<ContextNoveltyOptions> = Object.freeze({ levels: 8, contextLength: 3, grids: 3 });

/** The range is learned from at most this many first samples (bounds the calibration buffer to 3 KB). */
export const MAX_CALIBRATION_SAMPLES = 750;

/** Bits of the memory of seen contexts (all grids share it): 1 KB. */
export const CONTEXT_MEMORY_BITS = 1 << 13;
// Levels beyond the calibration range stay distinct (a drift to a new level is novel each time
// it reaches a new one) up to this many levels away, then clamp.
const LEVEL_LIMIT = 1000;

/**
 * A learned model of normal behaviour as a sequence memory (in the spirit of CAD OSE and HTM):
 * values are quantised on a range fixed from the calibration samples, and the novelty of a
 * sample is the share of quantisers for which the context "last `contextLength` levels" was
 * never seen before. A recurring pattern (a nightly backup spike) stops being novel after it
 * has been seen once; a new shape, level or rhythm is novel.
 *
 * State is fixed: "seen" is a Bloom filter (two hashes, `CONTEXT_MEMORY_BITS` bits) over the
 * contexts of every grid, instead of a map that grows with every new context. A few hundred
 * distinct contexts per grid, a busy series, make a false "seen" a few % likely, i.e. a novel
 * sample is occasionally missed by one grid of three (no measurable effect on NAB).
 */
export class ContextNovelty {
  private readonly opts: ContextNoveltyOptions;
  private readonly calibrationSamples: number;
  private calibration: Float32Array | undefined;
  private calibrated = 0;
  private lo = 0;
  private step = 1;
  private seen: Uint8Array | undefined;
  // Per grid, the last `contextLength` levels (a ring) and how many were seen.
  private readonly levelsRing: Int16Array;
  private filled = 0;
  private head = 0;

  constructor(opts: ContextNoveltyOptions, calibrationSamples: number) {
    for (const [k, v] of Object.entries(opts)) {
      if (!(Number.isInteger(v) && v >= 1)) throw new NovaError('MODELS_INVALID_ARGUMENT', `context novelty option ${k} must be a positive integer, got ${v}`);
    }
    if (!(Number.isInteger(calibrationSamples) && calibrationSamples >= 0)) throw new NovaError('MODELS_INVALID_ARGUMENT', `calibration samples must be a non-negative integer, got ${calibrationSamples}`);
    if (opts.contextLength > 8 || opts.grids > 8) throw new NovaError('MODELS_INVALID_ARGUMENT', `context novelty supports contextLength and grids up to 8, got ${opts.contextLength}, ${opts.grids}`);
    this.opts = { ...opts };
    // At least one sample: the range of a detector without probation is fixed by its first value.
    this.calibrationSamples = Math.max(1, Math.min(calibrationSamples, MAX_CALIBRATION_SAMPLES));
    this.calibration = new Float32Array(this.calibrationSamples);
    this.levelsRing = new Int16Array(opts.grids * opts.contextLength);
  }

  /** Bytes of state held now (the calibration buffer is released once the range is fixed). */
  get stateBytes(): number {
    return (this.calibration?.byteLength ?? 0) + (this.seen?.byteLength ?? 0) + this.levelsRing.byteLength + 7 * 8;
  }

  /** Feeds one value; returns its novelty in [0, 1] (0 while calibrating). */
  update(x: number): number {
    if (this.calibration) {
      if (this.calibrated < this.calibration.length) this.calibration[this.calibrated++] = x;
      if (this.calibrated < this.calibration.length) return 0;
      this.calibrate(this.calibration);
      this.calibration = undefined;
      return 0;
    }
    return this.observe(x, true);
  }

  /** The novelty `update(x)` would return, without remembering x (for late samples). */
  peek(x: number): number {
    return this.calibration ? 0 : this.observe(x, false);
  }

  // The range is frozen once so that a context means the same thing for the rest of the
  // stream; the calibration samples are then replayed so they count as already seen.
  private calibrate(values: Float32Array): void {
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of values) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    this.lo = lo;
    this.step = hi > lo ? (hi - lo) / this.opts.levels : 1;
    this.seen = new Uint8Array(CONTEXT_MEMORY_BITS / 8);
    for (const v of values) this.observe(v, true);
  }

  private level(x: number, grid: number): number {
    const l = Math.floor((x - this.lo) / this.step + grid / this.opts.grids);
    return Math.min(LEVEL_LIMIT, Math.max(-LEVEL_LIMIT, l));
  }

  private observe(x: number, learn: boolean): number {
    const seen = this.seen!;
    const len = this.opts.contextLength;
    const filled = Math.min(len, this.filled + 1);
    const head = this.head;
    let novel = 0;
    for (let g = 0; g < this.opts.grids; g++) {
      const current = this.level(x, g);
      if (learn) this.levelsRing[g * len + head] = current;
      if (filled < len) continue;
      // FNV-1a over (grid, levels oldest → newest); the two Bloom hashes are its halves.
      let h = 0x811c9dc5 ^ g;
      for (let k = 1; k < len; k++) h = Math.imul(h ^ (this.levelsRing[g * len + ((head + k) % len)]! & 0xffff), 0x01000193);
      h = Math.imul(h ^ (current & 0xffff), 0x01000193);
      h ^= h >>> 15;
      h = Math.imul(h, 0x2c1b3c6d);
      h ^= h >>> 12;
      const b1 = h & (CONTEXT_MEMORY_BITS - 1);
      const b2 = (h >>> 16) & (CONTEXT_MEMORY_BITS - 1);
      const was = (seen[b1 >> 3]! & (1 << (b1 & 7))) !== 0 && (seen[b2 >> 3]! & (1 << (b2 & 7))) !== 0;
      if (!was) {
        novel++;
        if (learn) {
          seen[b1 >> 3]! |= 1 << (b1 & 7);
          seen[b2 >> 3]! |= 1 << (b2 & 7);
        }
      }
    }
    if (learn) {
      this.filled = filled;
      this.head = (head + 1) % len;
    }
    return novel / this.opts.grids;
  }
}
