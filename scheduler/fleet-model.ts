import { compileRules, type CompiledRules } from './constraints.ts';
import { recentHistory, type RecentHistory } from './hysteresis.ts';
import { migrationCostWh, migrationSeconds } from './migration-cost.ts';
import { clusterTargets, cpuAtQuantile, type ResolvedPolicy } from './policy.ts';
import type { FleetSnapshot } from './types.ts';

/** Relative slack on capacity checks, so the order floats are summed in never flips a decision. */
export const CAPACITY_TOLERANCE = 1e-9;

/** True when `load` does not exceed `capacity` (up to CAPACITY_TOLERANCE). */
export function withinCapacity(load: number, capacity: number): boolean {
  return load <= capacity + Math.abs(capacity) * CAPACITY_TOLERANCE;
}

/** One VM as the planner sees it. */
export interface VmRec {
  /** Position in Fleet.vms. */
  index: number;
  id: string;
  /** Index of the host it runs on now. */
  host: number;
  /** Demand at the policy's quantile, and memory reserved. */
  cpu: number;
  mem: number;
  source: string | undefined;
  dirtyRate: number;
  /** Estimated live migration. */
  seconds: number;
  costWh: number;
  nonConverging: boolean;
  /** Must-anti-affinity rules it belongs to (indices into the compiled rules). */
  mustAnti: number[];
}

/** Rules binding a packing item, with hosts as indices. */
export interface ItemRules {
  mustHosts: Set<number> | null;
  /** mustHosts in host order, for searching only them. */
  mustHostList: number[] | null;
  mustNotHosts: Set<number> | null;
  /** Hosts a member left within the hysteresis window (the item must not go there). */
  noReturn: Set<number> | null;
  mustAnti: number[];
  shouldHosts: Set<number> | null;
  shouldHostList: number[] | null;
  shouldNotHosts: Set<number> | null;
  shouldAnti: number[];
  shouldWith: number[];
  hasShould: boolean;
}

/**
 * What the packer places: one VM, or the VMs a must-affinity binds to one host (a unit).
 * A unit whose members run on several hosts is `split`; placing it moves the others to it.
 */
export interface Item {
  /** Position in first-fit-decreasing order. */
  index: number;
  /** Smallest member id. */
  id: string;
  members: VmRec[];
  /** Home: the host holding most of its memory now. */
  host: number;
  split: boolean;
  cpu: number;
  mem: number;
  cluster: number;
  /** Fits no (non-maintenance) host of its cluster even empty: it stays where it is. */
  oversized: boolean;
  /** A unit the plan cannot bring together (members in different clusters): its VMs stay where they are. */
  stuck: boolean;
  /** Moved within the hysteresis window and not forced to move: it stays. */
  pinned: boolean;
  /** It may not stay at its home (maintenance, a must host-rule, hysteresis for a split unit). */
  mustLeave: boolean;
  /** Order of treatment: 0 maintenance evacuation, 1 must-rule fix, 2 the rest. */
  priority: number;
  rules: ItemRules | null;
}

/** One host as the planner sees it. */
export interface Host {
  id: string;
  /** Position in keep-preference order: cluster, then most loaded first. */
  index: number;
  cluster: number;
  clusterName: string | undefined;
  maintenance: boolean;
  cpuCores: number;
  memBytes: number;
  cpuTarget: number;
  memTarget: number;
  cpuCap: number;
  memCap: number;
  /** Items whose home it is, in first-fit-decreasing order. */
  items: Item[];
  /** VMs running on it now. */
  vmCount: number;
  cpuBefore: number;
  memBefore: number;
  overloaded: boolean;
  idleWatts: number;
  maxWatts: number;
}

/** The planner's view of a snapshot under a policy. */
export interface Fleet {
  hosts: Host[];
  /** All items in first-fit-decreasing order. */
  items: Item[];
  /** All VMs, in first-fit-decreasing order of their items. */
  vms: VmRec[];
  /** Hosts of cluster c are hosts[clusterRange[c][0] .. clusterRange[c][1]). */
  clusterRange: [number, number][];
  rules: CompiledRules;
  history: RecentHistory;
  /** The current placement breaks nothing: every host within target, no must-rule broken, no VM on a maintenance host. */
  currentlyValid: boolean;
  /** Any rule, maintenance, cluster or recent move: the packer takes its slower, rule-aware paths. */
  constrained: boolean;
}

/** Code-unit order, independent of locale, so every process breaks ties the same way. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const NO_RULES: number[] = [];

/** a/b, where a share of nothing is infinite unless there is nothing to share. */
function share(amount: number, capacity: number): number {
  if (capacity > 0) return amount / capacity;
  return amount > 0 ? Infinity : 0;
}

/** Comparator putting larger numbers first. */
export function descending(a: number, b: number): number {
  return a === b ? 0 : a > b ? -1 : 1;
}

function sum(values: readonly number[]): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

/**
 * Builds the planner's view of a validated snapshot. Everything is summed and sorted in orders
 * derived from ids and sizes, never from the input's order, so a permuted snapshot yields the
 * same plan bit for bit (float sums depend on their order).
 */
export function buildFleet(snapshot: FleetSnapshot, policy: ResolvedPolicy): Fleet {
  const rules = compileRules(snapshot);
  const history = recentHistory(snapshot.recentMoves, snapshot.takenAt, policy.hysteresisMs);
  const byId = [...snapshot.hosts].sort((a, b) => compareIds(a.hostId, b.hostId));
  const caps = byId.map((h) => {
    const t = clusterTargets(policy, h.cluster);
    return {
      id: h.hostId,
      clusterName: h.cluster,
      maintenance: h.maintenance === true,
      cpuCores: h.cpuCores,
      memBytes: h.memBytes,
      cpuTarget: t.cpu,
      memTarget: t.mem,
      cpuCap: h.cpuCores * t.cpu,
      memCap: h.memBytes * t.mem,
      idleWatts: h.idleWatts ?? policy.hostIdleWatts,
      maxWatts: h.maxWatts ?? policy.hostMaxWatts,
    };
  });

  const model = { bandwidth: policy.bandwidth, maxSeconds: policy.maxMigrationSeconds, degradationWatts: policy.degradationWatts };
  const hostPos = new Map(caps.map((h, i) => [h.id, i]));
  // Must-affinity units gather their members (sorted by id below); every other VM is an item of its own.
  const groups: VmRec[][] = [];
  const unitIndex = new Map<string, number>();
  const plainCpu = policy.cpuQuantile === 'p95';
  for (const v of snapshot.vms) {
    const dirty = v.dirtyRateBytesPerSec ?? 0;
    const seconds = migrationSeconds(v.memBytes, dirty, model);
    const rec: VmRec = {
      index: -1,
      id: v.vmId,
      host: hostPos.get(v.hostId)!, // position in `caps` for now, host index below
      cpu: plainCpu && v.cpuQuantiles === undefined ? v.cpuCores : cpuAtQuantile(v.cpuCores, v.cpuQuantiles, policy.cpuQuantile),
      mem: v.memBytes,
      source: v.source,
      dirtyRate: dirty,
      seconds,
      costWh: migrationCostWh(seconds, model),
      nonConverging: dirty >= model.bandwidth,
      mustAnti: rules.perVm.get(v.vmId)?.mustAnti ?? NO_RULES,
    };
    const unit = rules.unitOf.get(v.vmId);
    if (unit === undefined) {
      groups.push([rec]);
      continue;
    }
    const at = unitIndex.get(unit);
    if (at === undefined) {
      unitIndex.set(unit, groups.length);
      groups.push([rec]);
    } else groups[at]!.push(rec);
  }
  for (const at of unitIndex.values()) groups[at]!.sort((a, b) => compareIds(a.id, b.id));

  // Sizes are shares of the whole fleet's target capacity, so CPU and memory weigh alike.
  const fleetCpu = sum(caps.map((h) => h.cpuCap));
  const fleetMem = sum(caps.map((h) => h.memCap));
  const gCpu = new Float64Array(groups.length);
  const gMem = new Float64Array(groups.length);
  const gSize = new Float64Array(groups.length);
  groups.forEach((members, i) => {
    gCpu[i] = members.length === 1 ? members[0]!.cpu : sum(members.map((m) => m.cpu));
    gMem[i] = members.length === 1 ? members[0]!.mem : sum(members.map((m) => m.mem));
    gSize[i] = Math.max(share(gCpu[i]!, fleetCpu), share(gMem[i]!, fleetMem));
  });
  const ffd = Array.from(groups, (_, i) => i).sort((a, b) => descending(gSize[a]!, gSize[b]!) || compareIds(groups[a]![0]!.id, groups[b]![0]!.id));

  // Loads in first-fit-decreasing order of the VMs, as the packer sums them.
  const cpuBefore = new Float64Array(caps.length);
  const memBefore = new Float64Array(caps.length);
  const vmCount = new Int32Array(caps.length);
  const recs: VmRec[] = [];
  for (const g of ffd) {
    for (const m of groups[g]!) {
      cpuBefore[m.host]! += m.cpu;
      memBefore[m.host]! += m.mem;
      vmCount[m.host]! += 1;
      m.index = recs.length;
      recs.push(m);
    }
  }
  const clusterNames = [...new Set(caps.map((h) => h.clusterName ?? ''))].sort(compareIds);
  const clusterOf = new Map(clusterNames.map((c, i) => [c, i]));
  const keyed = caps.map((h, i) => ({ i, cluster: clusterOf.get(h.clusterName ?? '')!, share: Math.max(share(cpuBefore[i]!, h.cpuCap), share(memBefore[i]!, h.memCap)) }));
  keyed.sort((a, b) => a.cluster - b.cluster || descending(a.share, b.share) || compareIds(caps[a.i]!.id, caps[b.i]!.id));
  const hosts: Host[] = keyed.map(({ i, cluster }, index) => {
    const h = caps[i]!;
    // A literal, not a spread: spread objects this wide fall into slow (dictionary) mode.
    return {
      id: h.id,
      clusterName: h.clusterName,
      maintenance: h.maintenance,
      cpuCores: h.cpuCores,
      memBytes: h.memBytes,
      cpuTarget: h.cpuTarget,
      memTarget: h.memTarget,
      cpuCap: h.cpuCap,
      memCap: h.memCap,
      idleWatts: h.idleWatts,
      maxWatts: h.maxWatts,
      index,
      cluster,
      items: [],
      vmCount: vmCount[i]!,
      cpuBefore: cpuBefore[i]!,
      memBefore: memBefore[i]!,
      overloaded: !(withinCapacity(cpuBefore[i]!, h.cpuCap) && withinCapacity(memBefore[i]!, h.memCap)),
    };
  });
  const indexOf = new Map(hosts.map((h) => [h.id, h.index]));
  const indexOfPos = new Int32Array(caps.length);
  keyed.forEach(({ i }, index) => (indexOfPos[i] = index));
  for (const r of recs) r.host = indexOfPos[r.host]!;
  const clusterRange: [number, number][] = clusterNames.map(() => [0, 0]);
  for (let c = 0, h = 0; c < clusterNames.length; c++) {
    const lo = h;
    while (h < hosts.length && hosts[h]!.cluster === c) h++;
    clusterRange[c] = [lo, h];
  }

  // A VM fits some host of its cluster iff it fits a host on the cluster's Pareto frontier of
  // (CPU, memory) targets: a handful of shapes, instead of every host for every VM.
  const frontiers = clusterRange.map(([lo, hi]) => paretoFrontier(hosts.slice(lo, hi).filter((h) => !h.maintenance)));
  const constrained = rules.rules.length > 0 || history.movedRecently.size > 0 || clusterNames.length > 1 || hosts.some((h) => h.maintenance);
  const antiConflicted = constrained ? presentAntiConflicts(rules, recs) : new Set<string>();

  const items: Item[] = ffd.map((gi, index) => {
    const members = groups[gi]!;
    const g = { id: members[0]!.id, cpu: gCpu[gi]!, mem: gMem[gi]! };
    if (!constrained && members.length === 1) {
      // Without rules, maintenance, clusters or history a VM is a plain item: skip the rule work.
      const host = members[0]!.host;
      const f = frontiers[0]!;
      let fits = false;
      for (let i = 0; i < f.length && !fits; i++) fits = withinCapacity(g.cpu, f[i]!.cpuCap) && withinCapacity(g.mem, f[i]!.memCap);
      return { index, id: g.id, members, host, split: false, cpu: g.cpu, mem: g.mem, cluster: 0, oversized: !fits, stuck: false, pinned: false, mustLeave: false, priority: 2, rules: null };
    }
    const home = members.length === 1 ? members[0]!.host : homeOf(members);
    const homeHost = hosts[home]!;
    const split = members.some((m) => m.host !== home);
    const cluster = homeHost.cluster;
    const itemRules = constrained ? compileItemRules(members, rules, history, indexOf) : null;
    const mustLeave =
      homeHost.maintenance ||
      (itemRules !== null && ((itemRules.mustHosts !== null && !itemRules.mustHosts.has(home)) || itemRules.mustNotHosts?.has(home) === true || itemRules.noReturn?.has(home) === true));
    const stuck = members.some((m) => hosts[m.host]!.cluster !== cluster);
    const onMaintenance = members.some((m) => hosts[m.host]!.maintenance);
    const violating = mustLeave || split || members.some((m) => antiConflicted.has(m.id));
    const movedRecently = members.some((m) => history.movedRecently.has(m.id));
    return {
      index,
      id: g.id,
      members,
      host: home,
      split,
      cpu: g.cpu,
      mem: g.mem,
      cluster,
      oversized: !stuck && !frontiers[cluster]!.some((h) => withinCapacity(g.cpu, h.cpuCap) && withinCapacity(g.mem, h.memCap)),
      stuck,
      // Hysteresis yields to overload, maintenance and must-rules: those moves fix something.
      pinned: movedRecently && !violating && !homeHost.overloaded,
      mustLeave,
      priority: onMaintenance ? 0 : violating ? 1 : 2,
      rules: itemRules,
    };
  });
  // A split unit that cannot come together keeps each VM where it is, as items of their own.
  const expanded: Item[] = constrained ? [] : items;
  for (const it of constrained ? items : []) {
    if (!it.stuck || !it.split) {
      expanded.push(it);
      continue;
    }
    for (const m of it.members) {
      expanded.push({ ...it, id: m.id, members: [m], host: m.host, split: false, cpu: m.cpu, mem: m.mem, cluster: hosts[m.host]!.cluster, mustLeave: false, rules: compileItemRules([m], rules, history, indexOf) });
    }
  }
  expanded.forEach((it, i) => (it.index = i));
  for (const it of expanded) hosts[it.host]!.items.push(it);

  const currentlyValid = hosts.every((h) => !h.overloaded && !(h.maintenance && h.vmCount > 0)) && expanded.every((it) => it.priority === 2);
  return { hosts, items: expanded, vms: recs, clusterRange, rules, history, currentlyValid, constrained };
}

/** The host holding most of a unit's memory (ties: the more loaded host, i.e. lower index, then id). */
function homeOf(members: readonly VmRec[]): number {
  const mem = new Map<number, number>();
  for (const m of members) mem.set(m.host, (mem.get(m.host) ?? 0) + m.mem);
  let best = -1;
  let bestMem = -Infinity;
  for (const [h, m] of [...mem].sort((a, b) => a[0] - b[0])) {
    if (m > bestMem) {
      best = h;
      bestMem = m;
    }
  }
  return best;
}

/** VMs sharing a host with another VM of one of their must-anti-affinity rules right now. */
function presentAntiConflicts(rules: CompiledRules, vms: readonly VmRec[]): Set<string> {
  const out = new Set<string>();
  const byRule = new Map<number, Map<number, string[]>>();
  for (const v of vms) {
    for (const g of v.mustAnti) {
      let hosts = byRule.get(g);
      if (!hosts) byRule.set(g, (hosts = new Map()));
      const list = hosts.get(v.host) ?? [];
      list.push(v.id);
      hosts.set(v.host, list);
    }
  }
  for (const hosts of byRule.values()) for (const list of hosts.values()) if (list.length > 1) for (const id of list) out.add(id);
  return out;
}

function compileItemRules(members: readonly VmRec[], rules: CompiledRules, history: RecentHistory, indexOf: ReadonlyMap<string, number>): ItemRules | null {
  const toIdx = (ids: Iterable<string>) => {
    const out = new Set<number>();
    for (const id of ids) {
      const h = indexOf.get(id);
      if (h !== undefined) out.add(h);
    }
    return out;
  };
  const intersect = (a: Set<number> | null, b: Set<number>) => (a === null ? b : new Set([...a].filter((h) => b.has(h))));
  let mustHosts: Set<number> | null = null;
  let mustNotHosts: Set<number> | null = null;
  let shouldHosts: Set<number> | null = null;
  let shouldNotHosts: Set<number> | null = null;
  let noReturn: Set<number> | null = null;
  const mustAnti = new Set<number>();
  const shouldAnti = new Set<number>();
  const shouldWith = new Set<number>();
  for (const m of members) {
    const r = rules.perVm.get(m.id);
    if (r) {
      if (r.mustHosts) mustHosts = intersect(mustHosts, toIdx(r.mustHosts));
      if (r.mustNotHosts) mustNotHosts = new Set([...(mustNotHosts ?? []), ...toIdx(r.mustNotHosts)]);
      if (r.shouldHosts) shouldHosts = intersect(shouldHosts, toIdx(r.shouldHosts));
      if (r.shouldNotHosts) shouldNotHosts = new Set([...(shouldNotHosts ?? []), ...toIdx(r.shouldNotHosts)]);
      for (const g of r.mustAnti) mustAnti.add(g);
      for (const g of r.shouldAnti) shouldAnti.add(g);
      for (const g of r.shouldWith) shouldWith.add(g);
    }
    const left = history.leftRecently.get(m.id);
    if (left) {
      // Returning is only a move for a member that is elsewhere now.
      for (const h of toIdx(left)) if (h !== m.host) (noReturn ??= new Set()).add(h);
    }
  }
  const byIndex = (s: Set<number> | null) => (s === null ? null : [...s].sort((a, b) => a - b));
  const hasShould = shouldHosts !== null || shouldNotHosts !== null || shouldAnti.size > 0 || shouldWith.size > 0;
  if (mustHosts === null && mustNotHosts === null && noReturn === null && mustAnti.size === 0 && !hasShould) return null;
  return {
    mustHosts,
    mustHostList: byIndex(mustHosts),
    mustNotHosts,
    noReturn,
    mustAnti: [...mustAnti].sort((a, b) => a - b),
    shouldHosts,
    shouldHostList: byIndex(shouldHosts),
    shouldNotHosts,
    shouldAnti: [...shouldAnti].sort((a, b) => a - b),
    shouldWith: [...shouldWith].sort((a, b) => a - b),
    hasShould,
  };
}

/** Hosts not dominated in both CPU and memory target by another host (one per distinct shape). */
function paretoFrontier(hosts: readonly Host[]): Host[] {
  const byCpu = [...hosts].sort((a, b) => descending(a.cpuCap, b.cpuCap) || descending(a.memCap, b.memCap));
  const out: Host[] = [];
  let bestMem = -Infinity;
  for (const h of byCpu) {
    if (h.memCap > bestMem) {
      out.push(h);
      bestMem = h.memCap;
    }
  }
  return out;
}
