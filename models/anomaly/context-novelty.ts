import { NovaError } from '../../core/index.ts';
import { pooledFloat32, Slab, type SlabSize } from './state-slab.ts';

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

/**
 * Calibration values held in the context memory's own bytes while it is still empty (1 KB of
 * Float32); only those past it need a buffer of their own (see `store`).
 */
export const CALIBRATION_IN_MEMORY = CONTEXT_MEMORY_BITS / 8 / 4;

// The calibration values, gathered in one place for the replay (which writes the bytes the first
// ones were kept in). One per process: calibrations run one at a time on JS's single thread.
const replay = new Float32Array(MAX_CALIBRATION_SAMPLES);
const NOTHING_KEPT = new Float32Array(0);
// Levels of the values being remembered, per grid (grown when a longer calibration needs it).
let rememberLevels = new Int32Array(MAX_CALIBRATION_SAMPLES);
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
 * State is fixed (in a `Slab`: the detector's, or its own when built alone): "seen" is a Bloom
 * filter (two hashes, `CONTEXT_MEMORY_BITS` bits) over the contexts of every grid, instead of a
 * map that grows with every new context. A few hundred distinct contexts per grid, a busy
 * series, make a false "seen" a few % likely, i.e. a novel sample is occasionally missed by one
 * grid of three (no measurable effect on NAB).
 */
export class ContextNovelty {
  // Shared, not copied (frozen): the detector passes one options object to all its series.
  private readonly opts: Readonly<ContextNoveltyOptions>;
  private readonly calibrationSamples: number;
  // The first values, kept until the range is fixed: the first CALIBRATION_IN_MEMORY in the
  // context memory's bytes (unused until then), seen through `kept`; the rest, if any, in
  // `overflow`. Both are dropped once the range is fixed.
  private kept: Float32Array | undefined;
  private overflow: Float32Array | undefined;
  private calibrated = false;
  private readonly f64: Float64Array;
  private readonly at: number;
  // Per grid, the last `contextLength` levels (a ring; whole numbers within ±LEVEL_LIMIT, exact in Float32).
  private readonly ring: Float32Array;
  private readonly ringAt: number;
  // The Bloom filter of seen contexts: CONTEXT_MEMORY_BITS bits from `seenAt`.
  private readonly seen: Uint8Array;
  private readonly seenAt: number;

  constructor(opts: Readonly<ContextNoveltyOptions>, calibrationSamples: number, slab?: Slab) {
    if (!CHECKED.has(opts)) {
      for (const [k, v] of Object.entries(opts)) {
        if (!(Number.isInteger(v) && v >= 1)) throw new NovaError('MODELS_INVALID_ARGUMENT', `context novelty option ${k} must be a positive integer, got ${v}`);
      }
      if (opts.contextLength > 8 || opts.grids > 8) throw new NovaError('MODELS_INVALID_ARGUMENT', `context novelty supports contextLength and grids up to 8, got ${opts.contextLength}, ${opts.grids}`);
      // A frozen options object is checked once, not once per series.
      if (Object.isFrozen(opts)) CHECKED.add(opts);
    }
    if (!(Number.isInteger(calibrationSamples) && calibrationSamples >= 0)) throw new NovaError('MODELS_INVALID_ARGUMENT', `calibration samples must be a non-negative integer, got ${calibrationSamples}`);
    this.opts = Object.isFrozen(opts) ? opts : Object.freeze({ ...opts });
    // At least one sample: the range of a detector without probation is fixed by its first value.
    this.calibrationSamples = Math.max(1, Math.min(calibrationSamples, MAX_CALIBRATION_SAMPLES));
    const s = slab ?? new Slab(ContextNovelty.size(this.opts));
    this.f64 = s.f64;
    this.ring = s.f32;
    this.seen = s.u8;
    this.at = s.take64(FIELDS);
    this.ringAt = s.take32(this.opts.grids * this.opts.contextLength);
    this.seenAt = s.take8(CONTEXT_MEMORY_BITS / 8);
    this.f64[this.at + STEP] = 1;
  }

  /** Slots a sequence memory with these options takes in a slab (a calibration overflow is apart: it is freed). */
  static size(opts: Readonly<ContextNoveltyOptions>): SlabSize {
    return { f64: FIELDS, f32: opts.grids * opts.contextLength, u8: CONTEXT_MEMORY_BITS / 8 };
  }

  /** Bytes of state held now: its slots of the slab, and the calibration overflow until the range is fixed. */
  get stateBytes(): number {
    return (this.overflow?.byteLength ?? 0) + FIELDS * 8 + this.opts.grids * this.opts.contextLength * 4 + CONTEXT_MEMORY_BITS / 8;
  }

  /** Feeds one value; returns its novelty in [0, 1] (0 while calibrating). */
  update(x: number): number {
    if (!this.calibrated) {
      const i = this.f64[this.at + CALIBRATED]!;
      this.store(i, x);
      this.f64[this.at + CALIBRATED] = i + 1;
      if (i + 1 < this.calibrationSamples) return 0;
      this.calibrate(i + 1);
      this.calibrated = true;
      return 0;
    }
    return this.observe(x, true);
  }

  /**
   * Keeps calibration value `i`. Why in the context memory: nothing is remembered there until
   * the range is fixed, and its 1 KB holds 256 values; a worker meets 100k VMs at once after a
   * start or a rebalance, and their calibration buffers were ~1.1 KB a series more for the
   * probation's first hours (one worker holding 100,000 VMs: 1,860 → 2,071 MiB peak RSS as they
   * filled, bench:ingest at 100,000/s). Values past those 256 go to a buffer of exactly the rest.
   * The values kept are the same Float32s, so the range and the replayed contexts are too.
   */
  private store(i: number, x: number): void {
    if (i === 0) {
      const byteOffset = this.seen.byteOffset + this.seenAt;
      // A Float32 view needs a 4-byte aligned start: a slab gives one unless a part took an odd number of bytes first.
      this.kept = byteOffset % 4 === 0 ? new Float32Array(this.seen.buffer, byteOffset, Math.min(this.calibrationSamples, CALIBRATION_IN_MEMORY)) : NOTHING_KEPT;
    }
    const kept = this.kept!;
    if (i < kept.length) {
      kept[i] = x;
      return;
    }
    if (i === kept.length) this.overflow = pooledFloat32(this.calibrationSamples - kept.length);
    this.overflow![i - kept.length] = x;
  }

  /** The novelty `update(x)` would return, without remembering x (for late samples). */
  peek(x: number): number {
    return this.calibrated ? this.observe(x, false) : 0;
  }

  // The range is frozen once so that a context means the same thing for the rest of the
  // stream; the calibration samples are then replayed so they count as already seen.
  private calibrate(n: number): void {
    const values = replay.subarray(0, n);
    values.set(this.kept!);
    if (this.overflow) values.set(this.overflow, this.kept!.length);
    this.kept = this.overflow = undefined;
    // The context memory held values: empty it before it remembers contexts.
    this.seen.fill(0, this.seenAt, this.seenAt + CONTEXT_MEMORY_BITS / 8);
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of values) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    this.f64[this.at + LO] = lo;
    this.f64[this.at + STEP] = hi > lo ? (hi - lo) / this.opts.levels : 1;
    this.remember(values);
  }

  /**
   * What `observe(v, true)` for each value in turn leaves behind (the same contexts marked seen,
   * the same last levels in the ring, the same head), without the per-sample bookkeeping. Why:
   * every VM a worker met at once reaches the end of its probation in the same interval, and
   * replaying 288 values through `observe` took ~27 µs a series: with 50,000 VMs (100,000
   * series) on a worker, seconds in which it stored nothing (bench:ingest, two workers at
   * 100,000/s: a 4 s stall, 440k backlog, 322 s into the run). The memory is empty and the ring
   * at its start when this runs (nothing is observed before the range is fixed).
   */
  private remember(values: Float32Array): void {
    const { grids, contextLength: len } = this.opts;
    const seen = this.seen;
    const s0 = this.seenAt;
    const lo = this.f64[this.at + LO]!;
    const step = this.f64[this.at + STEP]!;
    const levels = rememberLevels.length >= values.length ? rememberLevels : (rememberLevels = new Int32Array(values.length));
    for (let g = 0; g < grids; g++) {
      for (let j = 0; j < values.length; j++) levels[j] = level(values[j]!, lo, step, g / grids);
      for (let j = len - 1; j < values.length; j++) {
        let h = contextHashStart(g);
        for (let k = j - len + 1; k <= j; k++) h = contextHashStep(h, levels[k]!);
        markSeen(seen, s0, contextHashEnd(h));
      }
      // The ring as observe() leaves it: value j's level in slot j % len.
      for (let j = Math.max(0, values.length - len); j < values.length; j++) this.ring[this.ringAt + g * len + (j % len)] = levels[j]!;
    }
    this.f64[this.at + FILLED] = Math.min(len, values.length);
    this.f64[this.at + HEAD] = values.length % len;
  }

  private level(x: number, grid: number): number {
    return level(x, this.f64[this.at + LO]!, this.f64[this.at + STEP]!, grid / this.opts.grids);
  }

  private observe(x: number, learn: boolean): number {
    const seen = this.seen;
    const s0 = this.seenAt;
    const ring = this.ring;
    const r0 = this.ringAt;
    const f = this.f64;
    const len = this.opts.contextLength;
    const filled = Math.min(len, f[this.at + FILLED]! + 1);
    const head = f[this.at + HEAD]!;
    let novel = 0;
    for (let g = 0; g < this.opts.grids; g++) {
      const current = this.level(x, g);
      if (learn) ring[r0 + g * len + head] = current;
      if (filled < len) continue;
      let h = contextHashStart(g);
      for (let k = 1; k < len; k++) h = contextHashStep(h, ring[r0 + g * len + ((head + k) % len)]!);
      h = contextHashEnd(contextHashStep(h, current));
      if (!isSeen(seen, s0, h)) {
        novel++;
        if (learn) markSeen(seen, s0, h);
      }
    }
    if (learn) {
      f[this.at + FILLED] = filled;
      f[this.at + HEAD] = (head + 1) % len;
    }
    return novel / this.opts.grids;
  }
}

/** The level of x on a grid shifted by `shift` of a level, clamped at ±LEVEL_LIMIT. */
function level(x: number, lo: number, step: number, shift: number): number {
  return Math.min(LEVEL_LIMIT, Math.max(-LEVEL_LIMIT, Math.floor((x - lo) / step + shift)));
}

// A context's hash: FNV-1a over (grid, its levels oldest → newest), then mixed; the two Bloom
// bits are its halves. One definition for observe() and remember(), which must agree bit for bit.
const contextHashStart = (grid: number): number => 0x811c9dc5 ^ grid;
const contextHashStep = (h: number, level: number): number => Math.imul(h ^ (level & 0xffff), 0x01000193);
function contextHashEnd(h: number): number {
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return h ^ (h >>> 12);
}
function isSeen(seen: Uint8Array, at: number, h: number): boolean {
  const b1 = h & (CONTEXT_MEMORY_BITS - 1);
  const b2 = (h >>> 16) & (CONTEXT_MEMORY_BITS - 1);
  return (seen[at + (b1 >> 3)]! & (1 << (b1 & 7))) !== 0 && (seen[at + (b2 >> 3)]! & (1 << (b2 & 7))) !== 0;
}
function markSeen(seen: Uint8Array, at: number, h: number): void {
  const b1 = h & (CONTEXT_MEMORY_BITS - 1);
  const b2 = (h >>> 16) & (CONTEXT_MEMORY_BITS - 1);
  seen[at + (b1 >> 3)]! |= 1 << (b1 & 7);
  seen[at + (b2 >> 3)]! |= 1 << (b2 & 7);
}

// Options objects already checked (frozen ones only, so they cannot change after the check).
const CHECKED = new WeakSet<object>();

// Scalar slots (Float64) of a sequence memory, from its offset.
const CALIBRATED = 0; // calibration samples stored so far
const LO = 1; // bottom of level 0 (fixed at calibration)
const STEP = 2; // width of a level
const FILLED = 3; // levels in the ring so far (up to contextLength)
const HEAD = 4; // ring slot the next level goes to
const FIELDS = 5;
