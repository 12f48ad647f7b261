import { NovaError } from '../../core/index.ts';

/** How much of each number type a part of the detector keeps in a slab. */
export interface SlabSize {
  /** Float64 slots: every scalar field (counts and indices too: exact up to 2^53) and double-precision arrays. */
  f64: number;
  /** Float32 slots: arrays kept in single precision (their rounding is part of the model's output). */
  f32: number;
  /** Bytes: bit sets. */
  u8: number;
}

/** Sum of sizes, for a detector that carves all its parts out of one slab. */
export function addSizes(...sizes: readonly SlabSize[]): SlabSize {
  const total = { f64: 0, f32: 0, u8: 0 };
  for (const s of sizes) {
    total.f64 += s.f64;
    total.f32 += s.f32;
    total.u8 += s.u8;
  }
  return total;
}

/**
 * Fresh, zeroed regions, 8-byte aligned, cut from ArrayBuffer chunks shared by up to
 * `perChunk` regions. Why: V8 tracks every ArrayBuffer for the garbage collector (an extension
 * swept on every GC, and external memory whose growth triggers full GCs); with one buffer per
 * detector (and one more for its calibration samples), building the 200,000 detectors of
 * 100k VMs spent ~16 % of the worker's CPU in the Slab constructor and ~37 % in GC. The cost:
 * a chunk is freed only once every region cut from it is unreachable (detectors made together,
 * for VMs that appeared together, mostly go together), and one chunk at a time is partly unused.
 */
class ChunkPool {
  private chunk: ArrayBuffer | undefined;
  private used = 0;

  constructor(private readonly perChunk: number) {}

  cut(bytes: number): { buffer: ArrayBuffer; at: number } {
    const aligned = Math.ceil(bytes / 8) * 8;
    if (!this.chunk || this.used + aligned > this.chunk.byteLength) {
      this.chunk = new ArrayBuffer(aligned * this.perChunk);
      this.used = 0;
    }
    const at = this.used;
    this.used += aligned;
    return { buffer: this.chunk, at };
  }
}

// Separate pools: short-lived buffers must not pin the chunks of long-lived slabs, and a
// short-lived buffer of one size must not pin a chunk of buffers of another size (a growing
// calibration buffer leaves its smaller copies behind: their chunk goes when all of them have).
const slabs = new ChunkPool(16);
const transientBySize = new Map<number, ChunkPool>();

/**
 * A zeroed Float32Array of `length` from a shared chunk, for state a detector frees later
 * (the sequence memory's calibration samples); see ChunkPool for why not `new Float32Array`.
 */
export function pooledFloat32(length: number): Float32Array {
  let pool = transientBySize.get(length);
  if (!pool) transientBySize.set(length, (pool = new ChunkPool(16)));
  const { buffer, at } = pool.cut(length * 4);
  return new Float32Array(buffer, at, length);
}

/**
 * One detector's numeric state in one region of a shared ArrayBuffer, seen through three views (Float64, Float32,
 * bytes) that each part of the detector takes consecutive slots of at construction and then
 * addresses by offset.
 *
 * Why: a worker keeps 200,000+ detectors. Every typed array costs ~190 bytes of JS heap (view
 * and ArrayBuffer objects) plus an allocator chunk for its data, and every double-valued object
 * field a boxed number; allocating nine typed arrays per new series made construction and GC
 * dominate the worker's CPU when 100k VMs appeared at once. One buffer per detector is one
 * allocation, three small view objects, and no boxed numbers.
 */
export class Slab {
  readonly f64: Float64Array;
  readonly f32: Float32Array;
  readonly u8: Uint8Array;
  private n64 = 0;
  private n32 = 0;
  private n8 = 0;

  constructor(size: SlabSize) {
    // Float64 first so every view starts aligned to its element size.
    const { buffer, at } = slabs.cut(size.f64 * 8 + size.f32 * 4 + size.u8);
    this.f64 = new Float64Array(buffer, at, size.f64);
    this.f32 = new Float32Array(buffer, at + size.f64 * 8, size.f32);
    this.u8 = new Uint8Array(buffer, at + size.f64 * 8 + size.f32 * 4, size.u8);
  }

  /** Bytes of state held (the whole buffer). */
  get byteLength(): number {
    return this.f64.byteLength + this.f32.byteLength + this.u8.byteLength;
  }

  /** Offset of `n` fresh Float64 slots. */
  take64(n: number): number {
    const at = this.n64;
    this.n64 += n;
    if (this.n64 > this.f64.length) throw new NovaError('MODELS_INTERNAL', `slab has ${this.f64.length} Float64 slots, ${this.n64} taken: a part's size() disagrees with what it takes (a bug in models/anomaly)`);
    return at;
  }

  /** Offset of `n` fresh Float32 slots. */
  take32(n: number): number {
    const at = this.n32;
    this.n32 += n;
    if (this.n32 > this.f32.length) throw new NovaError('MODELS_INTERNAL', `slab has ${this.f32.length} Float32 slots, ${this.n32} taken: a part's size() disagrees with what it takes (a bug in models/anomaly)`);
    return at;
  }

  /** Offset of `n` fresh bytes. */
  take8(n: number): number {
    const at = this.n8;
    this.n8 += n;
    if (this.n8 > this.u8.length) throw new NovaError('MODELS_INTERNAL', `slab has ${this.u8.length} bytes, ${this.n8} taken: a part's size() disagrees with what it takes (a bug in models/anomaly)`);
    return at;
  }

  /** True when every slot was taken (the detector checks its parts' sizes add up). */
  get full(): boolean {
    return this.n64 === this.f64.length && this.n32 === this.f32.length && this.n8 === this.u8.length;
  }
}
