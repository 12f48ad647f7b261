/**
 * Where a VM may go, fast: per cluster and efficiency class (hosts with the same watts per core
 * at full load), the running hosts that take arrivals, sorted by CPU headroom at the predicted
 * level (target capacity minus the summed level of their VMs). Headroom ≥ a VM's level and free
 * memory ≥ its memory are necessary for it to fit (its spread only adds), so a search starts at
 * the first host with that much CPU and walks up, skipping hosts without the memory, and confirms
 * each with the caller's exact test: the first that passes is the fullest of its class that fits
 * (best fit), and classes are tried most efficient first.
 *
 * Each class is a sorted list cut into blocks of at most BLOCK entries that remember their most
 * free memory, so memory-full stretches are skipped a block at a time (a fleet whose memory binds
 * before its CPU would otherwise be walked host by host).
 */
const BLOCK = 64;

interface Block {
  keys: number[];
  hosts: number[];
  maxMem: number;
}

export class TargetIndex {
  private readonly classes: Block[][];
  private readonly key: Float64Array;
  private readonly freeMem: Float64Array;
  private readonly present: Uint8Array;

  /**
   * @param classOf class of each host
   * @param classesOfCluster per cluster, its classes from most to least efficient
   */
  constructor(
    private readonly classOf: Int32Array,
    private readonly classesOfCluster: readonly (readonly number[])[],
    classCount: number,
  ) {
    this.classes = Array.from({ length: classCount }, () => []);
    this.key = new Float64Array(classOf.length);
    this.freeMem = new Float64Array(classOf.length);
    this.present = new Uint8Array(classOf.length);
  }

  /** Puts host h in the index with CPU headroom `key` and `freeMem` bytes free, or moves it there. */
  set(h: number, key: number, freeMem: number): void {
    if (this.present[h] === 1) {
      if (this.key[h] === key && this.freeMem[h] === freeMem) return;
      this.remove(h);
    }
    this.key[h] = key;
    this.freeMem[h] = freeMem;
    this.present[h] = 1;
    const blocks = this.classes[this.classOf[h]!]!;
    if (blocks.length === 0) {
      blocks.push({ keys: [key], hosts: [h], maxMem: freeMem });
      return;
    }
    const b = Math.min(this.blockFor(blocks, key, h), blocks.length - 1);
    const block = blocks[b]!;
    const at = lowerBound(block.keys, block.hosts, key, h);
    block.keys.splice(at, 0, key);
    block.hosts.splice(at, 0, h);
    if (freeMem > block.maxMem) block.maxMem = freeMem;
    if (block.keys.length > 2 * BLOCK) {
      const keys = block.keys.splice(BLOCK);
      const hosts = block.hosts.splice(BLOCK);
      blocks.splice(b + 1, 0, { keys, hosts, maxMem: 0 });
      this.refreshMax(block);
      this.refreshMax(blocks[b + 1]!);
    }
  }

  /** Takes host h out of the index (no-op when absent). */
  remove(h: number): void {
    if (this.present[h] !== 1) return;
    this.present[h] = 0;
    const blocks = this.classes[this.classOf[h]!]!;
    const b = this.blockFor(blocks, this.key[h]!, h);
    const block = blocks[b]!;
    const at = lowerBound(block.keys, block.hosts, this.key[h]!, h);
    block.keys.splice(at, 1);
    block.hosts.splice(at, 1);
    if (block.keys.length === 0) blocks.splice(b, 1);
    else if (this.freeMem[h] === block.maxMem) this.refreshMax(block);
  }

  /**
   * The first host, most efficient class first and fullest within it, with CPU headroom ≥ needCpu
   * and free memory ≥ needMem for which `fits` holds; -1 if none.
   */
  find(cluster: number, needCpu: number, needMem: number, fits: (h: number) => boolean): number {
    // A little slack: headroom and free memory are differences of sums and may be off by rounding.
    const cpu = needCpu - 1e-9 * Math.max(1, Math.abs(needCpu));
    const mem = needMem - 1e-9 * Math.max(1, Math.abs(needMem));
    for (const c of this.classesOfCluster[cluster] ?? []) {
      const blocks = this.classes[c]!;
      for (let b = this.blockFor(blocks, cpu, -1); b < blocks.length; b++) {
        const block = blocks[b]!;
        if (block.maxMem < mem) continue;
        const { keys, hosts } = block;
        for (let i = lowerBound(keys, hosts, cpu, -1); i < keys.length; i++) {
          const h = hosts[i]!;
          if (this.freeMem[h]! >= mem && fits(h)) return h;
        }
      }
    }
    return -1;
  }

  // The block holding (key, h) or where it would go: the first whose last entry is not below it.
  private blockFor(blocks: readonly Block[], key: number, h: number): number {
    let lo = 0;
    let hi = blocks.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const last = blocks[mid]!;
      const k = last.keys[last.keys.length - 1]!;
      if (k < key || (k === key && last.hosts[last.hosts.length - 1]! < h)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private refreshMax(block: Block): void {
    let m = -Infinity;
    for (const h of block.hosts) if (this.freeMem[h]! > m) m = this.freeMem[h]!;
    block.maxMem = m;
  }
}

// First position whose (key, host) is not below (key, h).
function lowerBound(keys: readonly number[], hosts: readonly number[], key: number, h: number): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (keys[mid]! < key || (keys[mid] === key && hosts[mid]! < h)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
