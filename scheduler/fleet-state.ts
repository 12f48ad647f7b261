import { powerWatts } from './cost/model.ts';
import { FirstFitIndex } from './fit-index.ts';
import { CAPACITY_TOLERANCE, compareIds, type Fleet, type Item } from './fleet-model.ts';
import { TargetIndex } from './target-index.ts';
import type { MoveCause } from './types.ts';

// A local copy: tsx reads imported bindings through getters, too slow for the planner's hot loops.
const TOLERANCE = CAPACITY_TOLERANCE;
function withinCapacity(load: number, capacity: number): boolean {
  return load <= capacity + Math.abs(capacity) * TOLERANCE;
}

/** A new VM to place, at its stated demand (cores now and forecast alike; memory reserved). */
export interface Probe {
  cpu: number;
  mem: number;
}

/** One VM's move, in decision order; moves of one item share a group. */
export interface Move {
  vm: number;
  from: number;
  to: number;
  cause: MoveCause;
  group: number;
}

/**
 * The fleet as a plan reshapes it: where each VM runs (tentatively), and per host the sums that
 * decide whether it is overloaded and what it can take. A host's next-interval demand has a level
 * (Σ VM levels) and a spread: at least √Σ spread² (independent VMs) and at least the RMS of its
 * VMs' summed recent forecast errors (VMs that rise and fall together). Its predicted quantile is
 * level + z·spread. Within one plan a host either sheds VMs (a source) or receives them, never
 * both, so the plan's moves can run in any order without overloading a host on the way.
 */
export class FleetState {
  readonly hostOf: Int32Array;
  readonly lists: number[][];
  readonly level: Float64Array;
  readonly variance: Float64Array;
  /** CPU the host's VMs use now (each capped at its vCPUs' share of the host's cores). */
  readonly claims: Float64Array;
  readonly mem: Float64Array;
  private readonly errors: Float64Array;
  private readonly W: number;
  private readonly shared: number;
  readonly source: Uint8Array;
  /** Moves into each host made by this plan (a host with any is a receiver). */
  readonly received: Int32Array;
  readonly moves: Move[] = [];
  /** New VMs placed on each host by `placeProbe` (placement requests, not in the snapshot). */
  private readonly probes: Int32Array;
  private groups = 0;
  /** Placed items of each anti-affinity rule per host, keyed rule·H + host. */
  private readonly antiCount = new Map<number, number>();
  /** Per should-affinity rule, hosts holding its VMs and how many. */
  private readonly withHosts = new Map<number, Map<number, number>>();
  private readonly index: TargetIndex;
  private readonly wake: FirstFitIndex;
  private readonly wakeOrder: Int32Array;
  private readonly wakePos: Int32Array;
  private readonly wakeRange: [number, number][];

  constructor(readonly fleet: Fleet) {
    const { hosts, vms, demand } = fleet;
    const H = hosts.length;
    this.W = demand.window;
    this.shared = demand.sharedErrors;
    this.hostOf = Int32Array.from(vms, (v) => v.host);
    this.lists = Array.from({ length: H }, () => []);
    this.level = new Float64Array(H);
    this.variance = new Float64Array(H);
    this.claims = new Float64Array(H);
    this.mem = new Float64Array(H);
    this.errors = new Float64Array(this.shared > 0 ? H * this.W : 0);
    this.source = new Uint8Array(H);
    this.received = new Int32Array(H);
    this.probes = new Int32Array(H);

    // Efficiency classes: per cluster, hosts with equal watts per core, most efficient first.
    const classOf = new Int32Array(H);
    const classKey = new Map<string, number>();
    const classesOfCluster: number[][] = fleet.clusters.map(() => []);
    const byEfficiency = hosts.map((h) => h.index).sort((a, b) => hosts[a]!.cluster - hosts[b]!.cluster || hosts[a]!.wattsPerCore - hosts[b]!.wattsPerCore || a - b);
    for (const h of byEfficiency) {
      const host = hosts[h]!;
      const key = `${host.cluster}/${host.wattsPerCore}`;
      let c = classKey.get(key);
      if (c === undefined) {
        classKey.set(key, (c = classKey.size));
        classesOfCluster[host.cluster]!.push(c);
      }
      classOf[h] = c;
    }
    this.index = new TargetIndex(classOf, classesOfCluster, classKey.size);
    // Hosts to wake, in the same order: the most efficient empty host of the cluster that fits.
    this.wakeOrder = Int32Array.from(byEfficiency);
    this.wakePos = new Int32Array(H);
    byEfficiency.forEach((h, i) => (this.wakePos[h] = i));
    this.wakeRange = fleet.clusters.map(() => [0, 0]);
    for (let i = 0; i < H; i++) {
      const c = hosts[byEfficiency[i]!]!.cluster;
      if (i === 0 || hosts[byEfficiency[i - 1]!]!.cluster !== c) this.wakeRange[c]![0] = i;
      this.wakeRange[c]![1] = i + 1;
    }
    this.wake = new FirstFitIndex(H);

    for (const v of vms) this.add(v.index, v.host);
    for (let h = 0; h < H; h++) this.refresh(h);
  }

  // ---- sums ----------------------------------------------------------------------------------

  private claim(v: number, h: number): number {
    const cap = this.fleet.vms[v]!.vcpus * this.fleet.hosts[h]!.coreCapacity;
    const now = this.fleet.demand.now[v]!;
    return now > cap ? cap : now;
  }

  private account(v: number, h: number, sign: 1 | -1): void {
    const d = this.fleet.demand;
    const s = d.spread[v]!;
    this.level[h] = this.level[h]! + sign * d.level[v]!;
    this.variance[h] = Math.max(0, this.variance[h]! + sign * s * s);
    this.claims[h] = this.claims[h]! + sign * this.claim(v, h);
    this.mem[h] = this.mem[h]! + sign * this.fleet.vms[v]!.mem;
    if (this.shared > 0) {
      const W = this.W;
      for (let i = 0; i < this.shared; i++) this.errors[h * W + i] = this.errors[h * W + i]! + sign * d.errors[v * W + i]!;
    }
    const rules = this.fleet.rules.perVm.get(this.fleet.vms[v]!.id);
    if (rules) this.countRules(rules.mustAnti, rules.shouldAnti, rules.shouldWith, h, sign);
  }

  private add(v: number, h: number): void {
    this.lists[h]!.push(v);
    this.hostOf[v] = h;
    this.account(v, h, 1);
  }

  private remove(v: number, h: number): void {
    const list = this.lists[h]!;
    list.splice(list.lastIndexOf(v), 1);
    this.account(v, h, -1);
  }

  /** Keeps the search structures in step with host h. */
  refresh(h: number): void {
    const host = this.fleet.hosts[h]!;
    const open = !host.maintenance && this.source[h] === 0;
    const running = this.isRunning(h);
    if (open && running) this.index.set(h, host.cpuCap - this.level[h]!, host.memCap - this.mem[h]!);
    else this.index.remove(h);
    this.wake.set(this.wakePos[h]!, host.cpuCap, host.memCap, open && !running);
  }

  /** Host h runs at least one VM (tentatively). */
  isRunning(h: number): boolean {
    return this.lists[h]!.length > 0 || this.probes[h]! > 0;
  }

  // ---- predictions ---------------------------------------------------------------------------

  /** Spread of host h's next-interval demand (cores), with item `extra`'s VMs added. */
  sigma(h: number, extra: Item | null = null): number {
    const d = this.fleet.demand;
    let variance = this.variance[h]!;
    if (extra) for (const v of extra.members) variance += d.spread[v]! * d.spread[v]!;
    if (this.shared > 0) {
      const W = this.W;
      let ss = 0;
      for (let i = 0; i < this.shared; i++) {
        let e = this.errors[h * W + i]!;
        if (extra) for (const v of extra.members) e += d.errors[v * W + i]!;
        ss += e * e;
      }
      // Correlated VMs make the summed errors swing more than √Σ spread² says: take the larger.
      variance = Math.max(variance, ss / this.shared);
    }
    return Math.sqrt(variance);
  }

  /** Host h's predicted z-quantile of demand as a fraction of its CPU, with `extra` added. */
  utilization(h: number, z: number, extra: Item | null = null): number {
    let l = this.level[h]!;
    if (extra) for (const v of extra.members) l += this.fleet.demand.level[v]!;
    const cpu = this.fleet.hosts[h]!.cpu;
    const q = l + z * this.sigma(h, extra);
    return cpu > 0 ? q / cpu : q > 0 ? Infinity : 0;
  }

  /** Host h's draw at its predicted level, watts (0 when it runs nothing: it can be off). */
  watts(h: number): number {
    if (!this.isRunning(h)) return 0;
    const host = this.fleet.hosts[h]!;
    // A level summed up and down by moves can end a rounding error below 0.
    return powerWatts(host.curve, host.cpu > 0 ? Math.max(0, this.level[h]! / host.cpu) : 1);
  }

  /** VM v's own demand at z is more than its vCPUs can get from host h's cores. */
  tooBig(v: number, h: number, z: number): boolean {
    const d = this.fleet.demand;
    return d.level[v]! + z * d.spread[v]! > this.fleet.vms[v]!.vcpus * this.fleet.hosts[h]!.coreCapacity;
  }

  /** Host h must shed VMs: short of CPU now, its relief quantile above capacity, memory over target, or a VM outgrowing its cores. */
  overloaded(h: number): boolean {
    const host = this.fleet.hosts[h]!;
    const p = this.fleet.policy;
    if (this.lists[h]!.length === 0) return false;
    if (!withinCapacity(this.claims[h]!, host.cpu) || !withinCapacity(this.mem[h]!, host.memCap)) return true;
    if (this.utilization(h, p.reliefZ) > 1) return true;
    return this.lists[h]!.some((v) => this.tooBig(v, h, p.reliefZ));
  }

  // ---- rules ---------------------------------------------------------------------------------

  private countRules(mustAnti: readonly number[], shouldAnti: readonly number[], shouldWith: readonly number[], h: number, sign: 1 | -1): void {
    const H = this.fleet.hosts.length;
    for (const g of mustAnti) this.antiCount.set(g * H + h, (this.antiCount.get(g * H + h) ?? 0) + sign);
    for (const g of shouldAnti) this.antiCount.set(g * H + h, (this.antiCount.get(g * H + h) ?? 0) + sign);
    for (const g of shouldWith) {
      let at = this.withHosts.get(g);
      if (!at) this.withHosts.set(g, (at = new Map()));
      const c = (at.get(h) ?? 0) + sign;
      if (c > 0) at.set(h, c);
      else at.delete(h);
    }
  }

  private conflicts(groups: readonly number[], h: number, item: Item): boolean {
    const H = this.fleet.hosts.length;
    for (const g of groups) {
      // The item's own VMs already on h do not conflict with themselves.
      let own = 0;
      for (const v of item.members) if (this.hostOf[v] === h && this.memberIn(v, g)) own++;
      if ((this.antiCount.get(g * H + h) ?? 0) - own > 0) return true;
    }
    return false;
  }

  private memberIn(v: number, g: number): boolean {
    const r = this.fleet.rules.perVm.get(this.fleet.vms[v]!.id);
    return r !== undefined && (r.mustAnti.includes(g) || r.shouldAnti.includes(g));
  }

  /** May `item` be on host h by the must-rules (and, when strict, the should-rules)? */
  allowed(item: Item, h: number, strict: boolean): boolean {
    const host = this.fleet.hosts[h]!;
    if (host.maintenance || host.cluster !== item.cluster) return false;
    const r = item.rules;
    if (r === null) return true;
    if ((r.mustHosts && !r.mustHosts.has(h)) || r.mustNotHosts?.has(h) || r.noReturn?.has(h) || this.conflicts(r.mustAnti, h, item)) return false;
    if (!strict || !r.hasShould) return true;
    if ((r.shouldHosts && !r.shouldHosts.has(h)) || r.shouldNotHosts?.has(h) || this.conflicts(r.shouldAnti, h, item)) return false;
    if (r.shouldWith.length === 0) return true;
    // Should-affinity: go where placed partners are, if any is placed.
    let anyPartner = false;
    for (const g of r.shouldWith) {
      const at = this.withHosts.get(g);
      if (!at) continue;
      for (const [ph, count] of at) {
        const mine = item.members.filter((v) => this.hostOf[v] === ph).length;
        if (count - mine <= 0) continue;
        anyPartner = true;
        if (ph === h) return true;
      }
    }
    return !anyPartner;
  }

  // ---- fitting -------------------------------------------------------------------------------

  /** `item` fits host h: rules, its VMs' own demand within the host's cores, CPU now, memory, and the host's predicted quantile under target. */
  fits(item: Item, h: number, strict: boolean): boolean {
    const host = this.fleet.hosts[h]!;
    const p = this.fleet.policy;
    if (!this.allowed(item, h, strict)) return false;
    let claims = this.claims[h]!;
    let mem = this.mem[h]!;
    for (const v of item.members) {
      if (this.hostOf[v] === h) continue;
      if (this.tooBig(v, h, p.z)) return false;
      claims += this.claim(v, h);
      mem += this.fleet.vms[v]!.mem;
    }
    if (!withinCapacity(claims, host.cpu) || !withinCapacity(mem, host.memCap)) return false;
    const arriving = item.members.every((v) => this.hostOf[v] !== h) ? item : this.arrivingPart(item, h);
    return withinCapacity(this.utilization(h, p.z, arriving), host.cpuTarget);
  }

  // The members of a unit not on h yet, as an item of their own (for the quantile check).
  private arrivingPart(item: Item, h: number): Item {
    return { ...item, members: item.members.filter((v) => this.hostOf[v] !== h) };
  }

  /** Level of the item's VMs (cores). */
  itemLevel(item: Item): number {
    let l = 0;
    for (const v of item.members) l += this.fleet.demand.level[v]!;
    return l;
  }

  /**
   * Where `item` should go: the most efficient class of running hosts first, the fullest host
   * that fits within it; else, when `wake` is set, the most efficient empty host that fits. Sources
   * and `exclude` are never targets. Should-rules are tried as must-rules first, and relaxed
   * only when `relaxShould` (moves that fix something may break one; voluntary moves may not).
   * -1 when none.
   */
  target(item: Item, exclude: number, wake: boolean, relaxShould = true): number {
    for (const strict of item.rules?.hasShould ? (relaxShould ? [true, false] : [true]) : [false]) {
      const fits = (h: number) => h !== exclude && this.source[h] === 0 && this.fits(item, h, strict);
      const list = item.rules?.mustHostList;
      if (list) {
        const t = this.bestOf(list, fits, wake);
        if (t >= 0) return t;
        continue;
      }
      // Memory prunes the search for a single VM; a unit may already be partly on a candidate.
      const mem = item.members.length === 1 ? this.fleet.vms[item.members[0]!]!.mem : 0;
      const t = this.index.find(item.cluster, this.itemLevel(item), mem, fits);
      if (t >= 0) return t;
      if (!wake) continue;
      const [lo, hi] = this.wakeRange[item.cluster]!;
      const pos = this.wake.firstFit(this.itemLevel(item), mem, (i) => fits(this.wakeOrder[i]!), lo, hi);
      if (pos >= 0) return this.wakeOrder[pos]!;
    }
    return -1;
  }

  // For items bound to a short host list: the same preference, by scanning the list.
  private bestOf(list: readonly number[], fits: (h: number) => boolean, wake: boolean): number {
    const hosts = this.fleet.hosts;
    let best = -1;
    let bestRank: [number, number, number] = [Infinity, Infinity, Infinity];
    for (const h of list) {
      const running = this.isRunning(h);
      if ((!running && !wake) || !fits(h)) continue;
      const rank: [number, number, number] = [running ? 0 : 1, hosts[h]!.wattsPerCore, running ? hosts[h]!.cpuCap - this.level[h]! : 0];
      if (rank[0] < bestRank[0] || (rank[0] === bestRank[0] && (rank[1] < bestRank[1] || (rank[1] === bestRank[1] && rank[2] < bestRank[2])))) {
        best = h;
        bestRank = rank;
      }
    }
    return best;
  }

  // ---- new VMs (placement requests) ----------------------------------------------------------

  /** A new VM that is not in the snapshot fits host h at its stated demand: memory, and the host's predicted quantile under target. */
  fitsProbe(h: number, probe: Probe): boolean {
    const host = this.fleet.hosts[h]!;
    if (host.maintenance || this.source[h] === 1) return false;
    // A new VM uses no CPU yet: it counts through the host's predicted quantile only.
    if (!withinCapacity(this.mem[h]! + probe.mem, host.memCap)) return false;
    const cpu = host.cpu;
    const q = this.level[h]! + probe.cpu + this.fleet.policy.z * this.sigma(h);
    return withinCapacity(cpu > 0 ? q / cpu : q > 0 ? Infinity : 0, host.cpuTarget);
  }

  /** Where a new VM goes: the most efficient class of running hosts, fullest first; else the most efficient empty host; -1 when none. */
  targetForProbe(probe: Probe, fits: (h: number) => boolean): number {
    const hosts = this.fleet.hosts;
    const better = (t: number, best: number) => t >= 0 && (best < 0 || hosts[t]!.wattsPerCore < hosts[best]!.wattsPerCore);
    let best = -1;
    for (let c = 0; c < this.fleet.clusters.length; c++) {
      const t = this.index.find(c, probe.cpu, probe.mem, fits);
      if (better(t, best)) best = t;
    }
    if (best >= 0) return best;
    for (const [lo, hi] of this.wakeRange) {
      const pos = this.wake.firstFit(probe.cpu, probe.mem, (i) => fits(this.wakeOrder[i]!), lo, hi);
      const t = pos >= 0 ? this.wakeOrder[pos]! : -1;
      if (better(t, best)) best = t;
    }
    return best;
  }

  /** Records a new VM on host h (its load counts from now on). */
  placeProbe(h: number, probe: Probe): void {
    this.level[h] = this.level[h]! + probe.cpu;
    this.mem[h] = this.mem[h]! + probe.mem;
    this.probes[h]!++;
    this.refresh(h);
  }

  // ---- moving --------------------------------------------------------------------------------

  /** Takes `item`'s VMs off their hosts' sums for a what-if (no move is recorded); `restore` puts them back. */
  lift(item: Item): number[] {
    const from = item.members.map((v) => this.hostOf[v]!);
    item.members.forEach((v, i) => this.remove(v, from[i]!));
    return from;
  }

  restore(item: Item, from: readonly number[]): void {
    item.members.forEach((v, i) => this.add(v, from[i]!));
    for (const h of new Set(from)) this.refresh(h);
  }

  /** Marks h as shedding VMs in this plan (it receives none). */
  markSource(h: number): void {
    this.source[h] = 1;
    this.refresh(h);
  }

  unmarkSource(h: number): void {
    this.source[h] = 0;
    this.refresh(h);
  }

  /** Moves every member of `item` not on `to` there, recorded as one group. */
  moveItem(item: Item, to: number, cause: MoveCause): void {
    const group = this.groups++;
    const touched = new Set<number>([to]);
    for (const v of item.members) {
      const from = this.hostOf[v]!;
      if (from === to) continue;
      this.remove(v, from);
      this.add(v, to);
      this.received[to]!++;
      this.moves.push({ vm: v, from, to, cause, group });
      touched.add(from);
    }
    for (const h of touched) this.refresh(h);
  }

  /** Undoes the moves made after `mark` (a length of `moves`), newest first. */
  rollback(mark: number): void {
    const touched = new Set<number>();
    while (this.moves.length > mark) {
      const m = this.moves.pop()!;
      this.remove(m.vm, m.to);
      this.add(m.vm, m.from);
      this.received[m.to]!--;
      touched.add(m.to).add(m.from);
    }
    for (const h of touched) this.refresh(h);
  }

  /** Items with a VM on host h now, in item order. */
  itemsOn(h: number): Item[] {
    const seen = new Set<number>();
    for (const v of this.lists[h]!) seen.add(this.fleet.vms[v]!.item);
    return [...seen].sort((a, b) => a - b).map((i) => this.fleet.items[i]!);
  }

  /** Items in order of decreasing level (ties: id), as they are best placed. */
  largestFirst(items: readonly Item[]): Item[] {
    const lv = new Map(items.map((it) => [it, this.itemLevel(it)]));
    return [...items].sort((a, b) => lv.get(b)! - lv.get(a)! || compareIds(a.id, b.id));
  }
}
