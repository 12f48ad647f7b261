import { compileRules, type CompiledRules } from './constraints.ts';
import { forecastDemand, type DemandModel } from './demand.ts';
import { recentHistory, type RecentHistory } from './hysteresis.ts';
import { powerWatts, type LoadCurve } from './cost/model.ts';
import { estimateMigration } from './migration-cost.ts';
import { clusterTargets, type ResolvedPolicy } from './policy.ts';
import type { FleetSnapshot } from './types.ts';

/** Relative slack on capacity checks, so the order floats are summed in never flips a decision. */
export const CAPACITY_TOLERANCE = 1e-9;

/** True when `load` does not exceed `capacity` (up to CAPACITY_TOLERANCE). */
export function withinCapacity(load: number, capacity: number): boolean {
  return load <= capacity + Math.abs(capacity) * CAPACITY_TOLERANCE;
}

/** Code-unit order, independent of locale, so every process sorts ids the same way. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** One host as the planner sees it (hosts are indexed in id order). */
export interface HostRec {
  index: number;
  id: string;
  /** Index into Fleet.clusters. */
  cluster: number;
  clusterName: string | undefined;
  maintenance: boolean;
  /** Raw capacity. */
  cpu: number;
  mem: number;
  cpuTarget: number;
  memTarget: number;
  /** Capacity under the targets. */
  cpuCap: number;
  memCap: number;
  /** CPU of one core (a VM with n vCPUs uses at most n of them). */
  coreCapacity: number;
  /** Its draw against CPU utilisation (the cost model's load curve). */
  curve: LoadCurve;
  /** Watts per core at full load: lower is more efficient, and filled first. */
  wattsPerCore: number;
  /** Live-migration bandwidth of its link, bytes per second. */
  bandwidth: number;
  /** VMs on it in the snapshot. */
  vmCount: number;
  /** It received a VM within the policy's settle time: it is not emptied yet. */
  settling: boolean;
}

/** One VM as the planner sees it (VMs are indexed in id order). */
export interface VmRec {
  index: number;
  id: string;
  /** Host it runs on in the snapshot. */
  host: number;
  mem: number;
  /** vCPUs (Infinity when the snapshot gives none: no per-core limit). */
  vcpus: number;
  dirtyRate: number;
  /** Estimated live migration: seconds, and its cost in Wh. */
  seconds: number;
  costWh: number;
  nonConverging: boolean;
  /** Index into Fleet.items of the item it belongs to. */
  item: number;
}

/** Rules binding an item, with hosts as indices. */
export interface ItemRules {
  mustHosts: Set<number> | null;
  /** mustHosts in host order, for searching only them. */
  mustHostList: number[] | null;
  mustNotHosts: Set<number> | null;
  /** Hosts a member left within the hysteresis window (the item must not go back). */
  noReturn: Set<number> | null;
  mustAnti: number[];
  shouldHosts: Set<number> | null;
  shouldNotHosts: Set<number> | null;
  shouldAnti: number[];
  shouldWith: number[];
  hasShould: boolean;
}

/** What moves as one: a VM, or the VMs a must-affinity binds to one host (a unit). */
export interface Item {
  index: number;
  /** Smallest member id. */
  id: string;
  /** VM indices, in id order. */
  members: number[];
  /** Host holding most of its memory now. */
  home: number;
  /** Members run on several hosts: the plan must bring them together. */
  split: boolean;
  cluster: number;
  /** Members in different clusters: no move may bring them together, so none moves. */
  stuck: boolean;
  /** Moved within the hysteresis window and breaking nothing: it stays unless its host is overloaded. */
  pinned: boolean;
  /** Why it must move whatever the load: 'maintenance', 'must-rule', or null. */
  forced: 'maintenance' | 'must-rule' | null;
  rules: ItemRules | null;
}

/** The planner's view of a validated snapshot under a policy. */
export interface Fleet {
  snapshot: FleetSnapshot;
  policy: ResolvedPolicy;
  hosts: HostRec[];
  vms: VmRec[];
  items: Item[];
  demand: DemandModel;
  rules: CompiledRules;
  history: RecentHistory;
  /** Cluster names in id order ('' for hosts without one). */
  clusters: string[];
}

/**
 * Builds the planner's view of a validated snapshot. Hosts and VMs are taken in id order and
 * everything is summed in that order, never the input's, so a permuted snapshot gives the same
 * plan bit for bit.
 */
export function buildFleet(snapshot: FleetSnapshot, policy: ResolvedPolicy): Fleet {
  const rules = compileRules(snapshot);
  const history = recentHistory(snapshot.recentMoves, snapshot.takenAt, policy.hysteresisMs);
  const hosts = buildHosts(snapshot, policy);
  const clusters = [...new Set(hosts.map((h) => h.clusterName ?? ''))].sort(compareIds);
  const clusterOf = new Map(clusters.map((c, i) => [c, i]));
  for (const h of hosts) h.cluster = clusterOf.get(h.clusterName ?? '')!;
  const hostIndex = new Map(hosts.map((h) => [h.id, h.index]));

  const snapVms = [...snapshot.vms].sort((a, b) => compareIds(a.vmId, b.vmId));
  const demand = forecastDemand(snapVms, policy);
  const vms: VmRec[] = snapVms.map((v, index) => {
    const host = hosts[hostIndex.get(v.hostId)!]!;
    const dirty = v.dirtyRateBytesPerSec ?? 0;
    const model = { bandwidth: host.bandwidth, maxSeconds: policy.maxMigrationSeconds, degradationWatts: policy.degradationWatts };
    const m = estimateMigration(v.transferBytes ?? v.memBytes, dirty, model);
    host.vmCount++;
    return { index, id: v.vmId, host: host.index, mem: v.memBytes, vcpus: v.vcpus ?? Infinity, dirtyRate: dirty, seconds: m.seconds, costWh: m.costWh, nonConverging: m.nonConverging, item: -1 };
  });
  const items = buildItems(vms, hosts, rules, history);
  return { snapshot, policy, hosts, vms, items, demand, rules, history, clusters };
}

function buildHosts(snapshot: FleetSnapshot, policy: ResolvedPolicy): HostRec[] {
  // Hosts that received a VM within the settle time are not emptied yet (lets placements settle).
  const settling = new Set<string>();
  for (const m of snapshot.recentMoves ?? []) if (snapshot.takenAt - m.at <= policy.settleMs) settling.add(m.toHost);
  return [...snapshot.hosts]
    .sort((a, b) => compareIds(a.hostId, b.hostId))
    .map((h, index) => {
      const t = clusterTargets(policy, h.cluster);
      // A measured curve (SPECpower's 11 points), else the straight line from idle to max.
      const curve: LoadCurve = h.powerCurveWatts
        ? { kind: 'points', points: h.powerCurveWatts.map((watts, i) => ({ utilization: i / 10, watts })) }
        : { kind: 'linear', idleWatts: h.idleWatts ?? policy.hostIdleWatts, maxWatts: h.maxWatts ?? policy.hostMaxWatts };
      return {
        index,
        id: h.hostId,
        cluster: -1,
        clusterName: h.cluster,
        maintenance: h.maintenance === true,
        cpu: h.cpuCores,
        mem: h.memBytes,
        cpuTarget: t.cpu,
        memTarget: t.mem,
        cpuCap: h.cpuCores * t.cpu,
        memCap: h.memBytes * t.mem,
        coreCapacity: h.coreCapacity ?? 1,
        curve,
        wattsPerCore: h.cpuCores > 0 ? powerWatts(curve, 1) / h.cpuCores : Infinity,
        bandwidth: h.migrationBandwidthBytesPerSec ?? policy.bandwidth,
        vmCount: 0,
        settling: settling.has(h.hostId),
      };
    });
}

/** Groups VMs into items (must-affinity units, else one VM each) and works out what binds each. */
function buildItems(vms: VmRec[], hosts: readonly HostRec[], rules: CompiledRules, history: RecentHistory): Item[] {
  const groups: number[][] = [];
  const unitGroup = new Map<string, number>();
  for (const v of vms) {
    const unit = rules.unitOf.get(v.id);
    const at = unit === undefined ? undefined : unitGroup.get(unit);
    if (at !== undefined) {
      groups[at]!.push(v.index);
      continue;
    }
    if (unit !== undefined) unitGroup.set(unit, groups.length);
    groups.push([v.index]);
  }
  const hostIndex = new Map(hosts.map((h) => [h.id, h.index]));
  const antiMovers = antiAffinityMovers(rules, vms);
  return groups.map((members, index) => {
    for (const m of members) vms[m]!.item = index;
    const home = homeOf(members, vms);
    const homeHost = hosts[home]!;
    const itemRules = compileItemRules(members, vms, rules, history, hostIndex);
    const split = members.some((m) => vms[m]!.host !== home);
    const stuck = members.some((m) => hosts[vms[m]!.host]!.cluster !== homeHost.cluster);
    const offRule = itemRules !== null && ((itemRules.mustHosts !== null && !itemRules.mustHosts.has(home)) || itemRules.mustNotHosts?.has(home) === true);
    const mustRule = !stuck && (offRule || split || members.some((m) => antiMovers.has(m)));
    const onMaintenance = members.some((m) => hosts[vms[m]!.host]!.maintenance);
    const forced = stuck ? null : onMaintenance ? 'maintenance' : mustRule ? 'must-rule' : null;
    return {
      index,
      id: vms[members[0]!]!.id,
      members,
      home,
      split,
      cluster: homeHost.cluster,
      stuck,
      // Hysteresis yields to maintenance and must-rules (and, in relief, to overload): those moves fix something.
      pinned: forced === null && members.some((m) => history.movedRecently.has(vms[m]!.id)),
      forced,
      rules: itemRules,
    };
  });
}

/** The host holding most of a unit's memory (ties: lower index). */
function homeOf(members: readonly number[], vms: readonly VmRec[]): number {
  if (members.length === 1) return vms[members[0]!]!.host;
  const mem = new Map<number, number>();
  for (const m of members) mem.set(vms[m]!.host, (mem.get(vms[m]!.host) ?? 0) + vms[m]!.mem);
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

/** VMs that share a host with an earlier (by id) VM of one of their must-anti-affinity rules: they must leave. */
function antiAffinityMovers(rules: CompiledRules, vms: readonly VmRec[]): Set<number> {
  const out = new Set<number>();
  const seen = new Set<string>();
  for (const v of vms) {
    for (const g of rules.perVm.get(v.id)?.mustAnti ?? []) {
      const key = `${g}@${v.host}`;
      if (seen.has(key)) out.add(v.index);
      else seen.add(key);
    }
  }
  return out;
}

function compileItemRules(members: readonly number[], vms: readonly VmRec[], rules: CompiledRules, history: RecentHistory, hostIndex: ReadonlyMap<string, number>): ItemRules | null {
  const toIdx = (ids: Iterable<string>) => {
    const out = new Set<number>();
    for (const id of ids) {
      const h = hostIndex.get(id);
      if (h !== undefined) out.add(h);
    }
    return out;
  };
  const intersect = (a: Set<number> | null, b: Set<number>) => (a === null ? b : new Set([...a].filter((h) => b.has(h))));
  const union = (a: Set<number> | null, b: Set<number>) => new Set([...(a ?? []), ...b]);
  let mustHosts: Set<number> | null = null;
  let mustNotHosts: Set<number> | null = null;
  let shouldHosts: Set<number> | null = null;
  let shouldNotHosts: Set<number> | null = null;
  let noReturn: Set<number> | null = null;
  const mustAnti = new Set<number>();
  const shouldAnti = new Set<number>();
  const shouldWith = new Set<number>();
  for (const m of members) {
    const vm = vms[m]!;
    const r = rules.perVm.get(vm.id);
    if (r) {
      if (r.mustHosts) mustHosts = intersect(mustHosts, toIdx(r.mustHosts));
      if (r.mustNotHosts) mustNotHosts = union(mustNotHosts, toIdx(r.mustNotHosts));
      if (r.shouldHosts) shouldHosts = intersect(shouldHosts, toIdx(r.shouldHosts));
      if (r.shouldNotHosts) shouldNotHosts = union(shouldNotHosts, toIdx(r.shouldNotHosts));
      for (const g of r.mustAnti) mustAnti.add(g);
      for (const g of r.shouldAnti) shouldAnti.add(g);
      for (const g of r.shouldWith) shouldWith.add(g);
    }
    const left = history.leftRecently.get(vm.id);
    // Returning is only a move for a member that is elsewhere now.
    if (left) for (const h of toIdx(left)) if (h !== vm.host) (noReturn ??= new Set()).add(h);
  }
  const hasShould = shouldHosts !== null || shouldNotHosts !== null || shouldAnti.size > 0 || shouldWith.size > 0;
  if (mustHosts === null && mustNotHosts === null && noReturn === null && mustAnti.size === 0 && !hasShould) return null;
  return {
    mustHosts,
    mustHostList: mustHosts === null ? null : [...mustHosts].sort((a, b) => a - b),
    mustNotHosts,
    noReturn,
    mustAnti: [...mustAnti].sort((a, b) => a - b),
    shouldHosts,
    shouldNotHosts,
    shouldAnti: [...shouldAnti].sort((a, b) => a - b),
    shouldWith: [...shouldWith].sort((a, b) => a - b),
    hasShould,
  };
}
