/**
 * First-fit index over hosts in a fixed order: finds the lowest-indexed eligible host whose free
 * CPU and memory both cover a demand, in O(log n) for typical fleets instead of a linear scan.
 * A segment tree keeps, per subtree, the largest free CPU and the largest free memory among its
 * eligible hosts; a subtree whose maxima cannot cover the demand is skipped. The maxima may come
 * from different hosts, so a leaf is confirmed with the caller's exact test (`fits`), which keeps
 * decisions identical to the linear scan.
 */
export class FirstFitIndex {
  private readonly size: number;
  private readonly cpu: Float64Array;
  private readonly mem: Float64Array;

  constructor(private readonly hosts: number) {
    let size = 1;
    while (size < Math.max(1, hosts)) size *= 2;
    this.size = size;
    this.cpu = new Float64Array(2 * size).fill(-Infinity);
    this.mem = new Float64Array(2 * size).fill(-Infinity);
  }

  /** Sets host h's free capacity; `eligible: false` hides it from searches. */
  set(h: number, freeCpu: number, freeMem: number, eligible: boolean): void {
    let i = h + this.size;
    this.cpu[i] = eligible ? freeCpu : -Infinity;
    this.mem[i] = eligible ? freeMem : -Infinity;
    for (i >>= 1; i >= 1; i >>= 1) {
      this.cpu[i] = Math.max(this.cpu[2 * i]!, this.cpu[2 * i + 1]!);
      this.mem[i] = Math.max(this.mem[2 * i]!, this.mem[2 * i + 1]!);
    }
  }

  /**
   * Lowest host index in [lo, hi) for which `fits(h)` holds among eligible hosts whose free
   * capacity may cover the demand, or -1. The range keeps a search inside one cluster.
   */
  firstFit(needCpu: number, needMem: number, fits: (h: number) => boolean, lo = 0, hi = this.hosts): number {
    // Prune with a little slack: free capacity is a difference of sums and may be off by rounding.
    const c = needCpu - 1e-9 * Math.max(1, Math.abs(needCpu));
    const m = needMem - 1e-9 * Math.max(1, Math.abs(needMem));
    if (lo <= 0 && hi >= this.hosts) return this.search(1, c, m, fits);
    return this.searchRange(1, 0, this.size, Math.max(0, lo), Math.min(this.hosts, hi), c, m, fits);
  }

  private search(node: number, c: number, m: number, fits: (h: number) => boolean): number {
    if (this.cpu[node]! < c || this.mem[node]! < m) return -1;
    if (node >= this.size) {
      const h = node - this.size;
      return h < this.hosts && fits(h) ? h : -1;
    }
    const left = this.search(2 * node, c, m, fits);
    return left >= 0 ? left : this.search(2 * node + 1, c, m, fits);
  }

  // Node `node` covers hosts [from, to); only [lo, hi) is searched.
  private searchRange(node: number, from: number, to: number, lo: number, hi: number, c: number, m: number, fits: (h: number) => boolean): number {
    if (to <= lo || from >= hi || this.cpu[node]! < c || this.mem[node]! < m) return -1;
    if (node >= this.size) return fits(from) ? from : -1;
    const mid = (from + to) >> 1;
    const left = this.searchRange(2 * node, from, mid, lo, hi, c, m, fits);
    return left >= 0 ? left : this.searchRange(2 * node + 1, mid, to, lo, hi, c, m, fits);
  }
}
