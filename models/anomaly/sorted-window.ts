import { NovaError } from '../../core/index.ts';

/**
 * The last `capacity` values of a stream, kept both in arrival order (to evict the oldest)
 * and sorted (to rank a new value in O(log n) and insert it with one memmove).
 */
export class SortedWindow {
  private readonly ring: Float64Array;
  private readonly sorted: number[] = [];
  private head = 0;

  constructor(readonly capacity: number) {
    if (!(Number.isInteger(capacity) && capacity > 0)) throw new NovaError('MODELS_INVALID_ARGUMENT', `window capacity must be a positive integer, got ${capacity}`);
    this.ring = new Float64Array(capacity);
  }

  get size(): number {
    return this.sorted.length;
  }

  /** Number of values strictly below x. */
  countBelow(x: number): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.sorted[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Number of values at or below x. */
  countAtOrBelow(x: number): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.sorted[mid]! <= x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The q-quantile (lower order statistic), or undefined while empty. */
  quantile(q: number): number | undefined {
    if (this.sorted.length === 0) return undefined;
    const i = Math.min(this.sorted.length - 1, Math.max(0, Math.floor(q * (this.sorted.length - 1))));
    return this.sorted[i];
  }

  /** Adds x, evicting the oldest value once full. */
  push(x: number): void {
    if (this.sorted.length === this.capacity) {
      const old = this.ring[this.head]!;
      this.sorted.splice(this.countBelow(old), 1);
    }
    this.ring[this.head] = x;
    this.head = (this.head + 1) % this.capacity;
    this.sorted.splice(this.countBelow(x), 0, x);
  }
}
