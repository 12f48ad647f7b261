import { allocateCpu } from './cpu.ts';
import { capacityAfterPuts, hashIterationOrder } from './java-hash-order.ts';
import { HISTORY_LENGTH, type TickView } from './policy.ts';
import { trimmedLength } from './stats.ts';

/**
 * The working copy a planner edits during one tick (CloudSim plans by creating and destroying
 * VMs on hosts, then restores everything): per host a VM list, the MIPS allocated (ΣA), the
 * MIPS still available, the requested MIPS (ΣR) and, on demand, the host utilisation history.
 * Sums are kept in list order, as CloudSim adds them, so comparisons round the same way.
 */
export class TentativeFleet {
  readonly view: TickView;
  readonly lists: number[][];
  /** MIPS allocated to each list position. */
  readonly alloc: number[][];
  readonly allocatedSum: Float64Array;
  readonly available: Float64Array;
  readonly requestedSum: Float64Array;
  private readonly hist: Float64Array;
  private readonly histValid: Uint8Array;
  private scratch = new Float64Array(64);
  private order = new Int32Array(64);
  /** CloudSim's per-host scheduler map capacity (shared with the simulator: it persists). */
  private readonly capacity: Int32Array;
  private readonly javaOrder: boolean;
  /** Host's shares were last granted in map order and nothing changed since. */
  private readonly mapFitted: Uint8Array;

  constructor(view: TickView) {
    this.view = view;
    const H = view.experiment.hostCount;
    this.lists = [];
    this.alloc = [];
    this.allocatedSum = new Float64Array(H);
    this.available = Float64Array.from(view.hostAvailableMips);
    this.requestedSum = new Float64Array(H);
    this.hist = new Float64Array(H * HISTORY_LENGTH);
    this.histValid = new Uint8Array(H);
    this.capacity = view.cpuMapCapacity;
    this.javaOrder = view.experiment.cpuMapOrder === 'java-hashmap';
    this.mapFitted = new Uint8Array(H);
    for (let h = 0; h < H; h++) {
      const list = [...view.hostVms(h)];
      const alloc = list.map((v) => view.allocatedMips[v]!);
      let a = 0;
      let r = 0;
      for (let i = 0; i < list.length; i++) {
        a += alloc[i]!;
        r += view.requestedMips[list[i]!]!;
      }
      this.lists.push(list);
      this.alloc.push(alloc);
      this.allocatedSum[h] = a;
      this.requestedSum[h] = r;
    }
  }

  /** Host h can take VM v: v's demand fits one core and the MIPS still available (RAM is not checked after t = 0). */
  isSuitable(h: number, v: number): boolean {
    const r = this.view.requestedMips[v]!;
    return this.view.experiment.hostCoreMips[h]! >= r && this.available[h]! >= r;
  }

  /** Appends v to h (CloudSim's vmCreate). */
  add(h: number, v: number): void {
    const exp = this.view.experiment;
    const r = this.view.requestedMips[v]!;
    const core = exp.hostCoreMips[h]!;
    const q = r > core ? core : r;
    this.lists[h]!.push(v);
    this.growMap(h);
    this.mapFitted[h] = 0;
    this.requestedSum[h] = this.requestedSum[h]! + r;
    if (this.available[h]! >= q) {
      this.alloc[h]!.push(q);
      this.available[h] = this.available[h]! - q;
      this.allocatedSum[h] = this.allocatedSum[h]! + q;
    } else {
      this.alloc[h]!.push(0);
      this.reallocate(h);
    }
    if (this.histValid[h] === 1) this.addHistory(this.hist, h * HISTORY_LENGTH, h, v);
  }

  /** Removes v from h (CloudSim's vmDestroy): the remaining VMs' shares are recomputed. */
  remove(h: number, v: number): void {
    const list = this.lists[h]!;
    const i = list.indexOf(v);
    if (i < 0) return;
    list.splice(i, 1);
    this.alloc[h]!.splice(i, 1);
    let r = 0;
    for (const w of list) r += this.view.requestedMips[w]!;
    this.requestedSum[h] = r;
    this.reallocate(h);
    this.histValid[h] = 0;
  }

  /**
   * CloudSim's PABFD probes a host by creating v on it, testing, and destroying v. The probe
   * leaves a trace: the map may have grown, and the destroy re-granted every share in map order
   * (a different rounding of "available"). Call it where CloudSim probes: suitable hosts with ΣA ≠ 0.
   */
  probe(h: number, v: number): void {
    if (!this.javaOrder) return;
    const list = this.lists[h]!;
    list.push(v);
    this.growMap(h);
    list.pop();
    if (this.mapFitted[h] === 0) this.reallocate(h);
  }

  /** The map grows as CloudSim's HashMap does when the last VM of h's list is put into it. */
  private growMap(h: number): void {
    if (!this.javaOrder) return;
    const list = this.lists[h]!;
    const before = this.capacity[h]!;
    this.capacity[h] = capacityAfterPuts(list, list.length - 1, before, this.view.experiment.vmKeyHash);
    if (this.capacity[h] !== before) this.mapFitted[h] = 0;
  }

  private reallocate(h: number): void {
    const exp = this.view.experiment;
    const list = this.lists[h]!;
    if (this.scratch.length < list.length) {
      this.scratch = new Float64Array(list.length * 2);
      this.order = new Int32Array(list.length * 2);
    }
    // CloudSim re-grants the remaining shares in its map's order after a VM is destroyed.
    const order = this.javaOrder ? hashIterationOrder(list, list.length, this.capacity[h]!, exp.vmKeyHash, this.order) : null;
    this.available[h] = allocateCpu(list.length, list, null, this.view.requestedMips, exp.hostCoreMips[h]!, exp.hostMips[h]!, this.scratch, order, order);
    this.mapFitted[h] = 1;
    const alloc = this.alloc[h]!;
    let a = 0;
    for (let i = 0; i < list.length; i++) {
      alloc[i] = this.scratch[i]!;
      a += alloc[i]!;
    }
    this.allocatedSum[h] = a;
  }

  /** Σ R / C of h's VMs, plus VM `extra` when ≥ 0 (as if it were appended). */
  demandRatio(h: number, extra: number): number {
    const r = extra >= 0 ? this.requestedSum[h]! + this.view.requestedMips[extra]! : this.requestedSum[h]!;
    return r / this.view.experiment.hostMips[h]!;
  }

  private addHistory(into: Float64Array, offset: number, h: number, v: number): void {
    const view = this.view;
    const hostMips = view.experiment.hostMips[h]!;
    const mips = view.experiment.vmMips[v]!;
    const len = view.historyLength[v]!;
    const o = v * HISTORY_LENGTH;
    for (let i = 0; i < len; i++) into[offset + i] = into[offset + i]! + (view.history[o + i]! * mips) / hostMips;
  }

  /**
   * Host utilisation history of h's VMs (plus `extra` when ≥ 0), newest first, written to `out`
   * (30 slots); returns its length once trailing zeros are cut (PowerHostUtilizationHistory).
   */
  hostHistory(h: number, extra: number, out: Float64Array): number {
    const base = h * HISTORY_LENGTH;
    if (this.histValid[h] === 0) {
      this.hist.fill(0, base, base + HISTORY_LENGTH);
      for (const v of this.lists[h]!) this.addHistory(this.hist, base, h, v);
      this.histValid[h] = 1;
    }
    for (let i = 0; i < HISTORY_LENGTH; i++) out[i] = this.hist[base + i]!;
    if (extra >= 0) this.addHistory(out, 0, h, extra);
    return trimmedLength(out, HISTORY_LENGTH);
  }

  /** The largest RAM (MB) among h's VMs and `extra`. */
  maxRamMb(h: number, extra: number): number {
    const ram = this.view.experiment.vmRamMb;
    let max = extra >= 0 ? ram[extra]! : Number.NEGATIVE_INFINITY;
    for (const v of this.lists[h]!) if (ram[v]! > max) max = ram[v]!;
    return max;
  }
}
