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

interface Grid {
  offset: number;
  counts: Map<string, number>;
  levels: number[];
}

/**
 * A learned model of normal behaviour as a sequence memory (in the spirit of CAD OSE and HTM):
 * values are quantised on a range fixed from the calibration samples, and the novelty of a
 * sample is the share of quantisers for which the context "last `contextLength` levels" was
 * never seen before. A recurring pattern (a nightly backup spike) stops being novel after it
 * has been seen once; a new shape, level or rhythm is novel.
 */
export class ContextNovelty {
  private readonly opts: ContextNoveltyOptions;
  private calibration: number[] | undefined = [];
  private lo = 0;
  private step = 1;
  private grids: Grid[] = [];

  constructor(opts: ContextNoveltyOptions, private readonly calibrationSamples: number) {
    for (const [k, v] of Object.entries(opts)) {
      if (!(Number.isInteger(v) && v >= 1)) throw new NovaError('MODELS_INVALID_ARGUMENT', `context novelty option ${k} must be a positive integer, got ${v}`);
    }
    if (!(Number.isInteger(calibrationSamples) && calibrationSamples >= 0)) throw new NovaError('MODELS_INVALID_ARGUMENT', `calibration samples must be a non-negative integer, got ${calibrationSamples}`);
    this.opts = { ...opts };
  }

  /** Feeds one value; returns its novelty in [0, 1] (0 while calibrating). */
  update(x: number): number {
    if (this.calibration) {
      this.calibration.push(x);
      if (this.calibration.length < this.calibrationSamples) return 0;
      this.calibrate(this.calibration);
      this.calibration = undefined;
      return 0;
    }
    return this.observe(x);
  }

  // The range is frozen once so that a context means the same thing for the rest of the
  // stream; the calibration samples are then replayed so they count as already seen.
  private calibrate(values: readonly number[]): void {
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of values) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    this.lo = lo;
    this.step = hi > lo ? (hi - lo) / this.opts.levels : 1;
    this.grids = Array.from({ length: this.opts.grids }, (_, g) => ({ offset: g / this.opts.grids, counts: new Map<string, number>(), levels: [] }));
    for (const v of values) this.observe(v);
  }

  private observe(x: number): number {
    let novel = 0;
    for (const g of this.grids) {
      g.levels.push(Math.floor((x - this.lo) / this.step + g.offset));
      if (g.levels.length > this.opts.contextLength) g.levels.shift();
      if (g.levels.length < this.opts.contextLength) continue;
      const key = g.levels.join(',');
      const count = g.counts.get(key) ?? 0;
      g.counts.set(key, count + 1);
      if (count === 0) novel++;
    }
    return this.grids.length === 0 ? 0 : novel / this.grids.length;
  }
}
