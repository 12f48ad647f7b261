import { NovaError } from '../core/index.ts';
import {
  DEFAULT_POLICY,
  type ActionPlan,
  type ConsolidationPolicy,
  type FleetSnapshot,
  type HostLoad,
  type MigrateAction,
  type PlannedAction,
  type PowerOffAction,
  type VmDemand,
} from './types.ts';
import { FirstFitIndex } from './fit-index.ts';

/** Relative slack on capacity checks, so the order floats are summed in never flips a decision. */
export const CAPACITY_TOLERANCE = 1e-9;

/** True when `load` does not exceed `capacity` (up to CAPACITY_TOLERANCE). */
export function withinCapacity(load: number, capacity: number): boolean {
  return load <= capacity + Math.abs(capacity) * CAPACITY_TOLERANCE;
}

interface Host {
  id: string;
  /** Position in keep-preference order: most loaded first. */
  index: number;
  cpuCores: number;
  memBytes: number;
  cpuCap: number;
  memCap: number;
  /** Its VMs, largest first. */
  vms: Vm[];
  cpuBefore: number;
  memBefore: number;
}

interface Vm {
  id: string;
  host: number;
  cpu: number;
  mem: number;
  source: string | undefined;
  /** Fits no host of the fleet even empty: it stays where it is, whatever the plan. */
  oversized: boolean;
}

interface Fleet {
  hosts: Host[];
  /** All VMs in first-fit-decreasing order. */
  vms: Vm[];
}

/** Outcome of one packing pass: where every VM ends up, and in which order moves were decided. */
interface Packing {
  hostOf: Map<string, number>;
  moves: Vm[];
  unplaced: Vm[];
}

/**
 * Consolidates VMs onto as few hosts as their predicted demand allows (first-fit decreasing on
 * CPU and memory), preferring to keep loaded hosts and to leave VMs where they are. Deterministic.
 */
export function planConsolidation(snapshot: FleetSnapshot, policy: ConsolidationPolicy = DEFAULT_POLICY): ActionPlan {
  validate(snapshot, policy);
  const fleet = prepare(snapshot, policy);

  // Greedy opening keeps loaded hosts, but it may move a VM off a host it opens later; a second
  // pass that keeps that host set from the start lets those VMs stay. The current placement is
  // a candidate too, so a feasible fleet never ends up on more hosts or with pointless moves.
  const greedy = pack(fleet, []);
  const settled = pack(fleet, usedHosts(greedy));
  const candidates: Packing[] = [];
  if (fleet.hosts.every((h) => withinCapacity(h.cpuBefore, h.cpuCap) && withinCapacity(h.memBefore, h.memCap))) {
    candidates.push(identity(fleet));
  }
  candidates.push(settled, greedy);
  let best = candidates[0]!;
  for (const c of candidates.slice(1)) if (compareScore(score(c), score(best)) < 0) best = c;
  return toPlan(snapshot, policy, fleet, best);
}

function validate(snapshot: FleetSnapshot, policy: ConsolidationPolicy): void {
  for (const [name, value] of Object.entries({ cpuTargetUtilization: policy.cpuTargetUtilization, memTargetUtilization: policy.memTargetUtilization })) {
    if (!(Number.isFinite(value) && value > 0)) {
      throw new NovaError('SCHEDULER_INVALID_POLICY', `policy.${name} must be a positive number (e.g. 0.8), got ${value}`);
    }
  }
  const bad = (what: string): never => {
    throw new NovaError('SCHEDULER_INVALID_SNAPSHOT', `${what}; rebuild the snapshot from consistent samples`);
  };
  const hostIds = new Set<string>();
  for (const h of snapshot.hosts) {
    if (hostIds.has(h.hostId)) bad(`host ${h.hostId} appears twice`);
    hostIds.add(h.hostId);
    if (!(isNonNegative(h.cpuCores) && isNonNegative(h.memBytes))) bad(`host ${h.hostId} has an invalid capacity (${h.cpuCores} cores, ${h.memBytes} bytes)`);
  }
  const vmIds = new Set<string>();
  for (const v of snapshot.vms) {
    if (vmIds.has(v.vmId)) bad(`VM ${v.vmId} appears twice`);
    vmIds.add(v.vmId);
    if (!hostIds.has(v.hostId)) bad(`VM ${v.vmId} runs on host ${v.hostId}, which the snapshot does not list`);
    if (!(isNonNegative(v.cpuCores) && isNonNegative(v.memBytes))) bad(`VM ${v.vmId} has an invalid demand (${v.cpuCores} cores, ${v.memBytes} bytes)`);
  }
}

function isNonNegative(x: number): boolean {
  return Number.isFinite(x) && x >= 0;
}

// Code-unit order, independent of locale, so every process breaks ties the same way.
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** a/b, where a share of nothing is infinite unless there is nothing to share. */
function share(amount: number, capacity: number): number {
  if (capacity > 0) return amount / capacity;
  return amount > 0 ? Infinity : 0;
}

function descending(a: number, b: number): number {
  return a === b ? 0 : a > b ? -1 : 1;
}

function prepare(snapshot: FleetSnapshot, policy: ConsolidationPolicy): Fleet {
  // Everything is summed and sorted in id order, so a permuted snapshot yields the same plan
  // bit for bit (float sums depend on their order).
  const byId = [...snapshot.hosts].sort((a, b) => compareIds(a.hostId, b.hostId));
  const caps = byId.map((h) => ({ id: h.hostId, cpuCores: h.cpuCores, memBytes: h.memBytes, cpuCap: h.cpuCores * policy.cpuTargetUtilization, memCap: h.memBytes * policy.memTargetUtilization }));

  // Sizes are shares of the whole fleet's target capacity, so CPU and memory weigh alike.
  const fleetCpu = sum(caps.map((h) => h.cpuCap));
  const fleetMem = sum(caps.map((h) => h.memCap));
  const size = (v: VmDemand) => Math.max(share(v.cpuCores, fleetCpu), share(v.memBytes, fleetMem));
  const sorted = [...snapshot.vms].sort((a, b) => descending(size(a), size(b)) || compareIds(a.vmId, b.vmId));

  const load = new Map(caps.map((h) => [h.id, { cpu: 0, mem: 0 }]));
  for (const v of sorted) {
    const l = load.get(v.hostId)!;
    l.cpu += v.cpuCores;
    l.mem += v.memBytes;
  }
  const raw = caps.map((h) => ({ ...h, cpuBefore: load.get(h.id)!.cpu, memBefore: load.get(h.id)!.mem }));
  const loadShare = (h: (typeof raw)[number]) => Math.max(share(h.cpuBefore, h.cpuCap), share(h.memBefore, h.memCap));
  raw.sort((a, b) => descending(loadShare(a), loadShare(b)) || compareIds(a.id, b.id));
  const hosts: Host[] = raw.map((h, index) => ({ ...h, index, vms: [] }));
  const indexOf = new Map(hosts.map((h) => [h.id, h.index]));

  // A VM fits some host iff it fits a host on the Pareto frontier of (CPU, memory) targets:
  // a handful of shapes, instead of every host for every VM.
  const frontier = paretoFrontier(hosts);
  const fitsSomeHost = (v: VmDemand) => frontier.some((h) => withinCapacity(v.cpuCores, h.cpuCap) && withinCapacity(v.memBytes, h.memCap));
  const vms: Vm[] = sorted.map((v) => ({ id: v.vmId, host: indexOf.get(v.hostId)!, cpu: v.cpuCores, mem: v.memBytes, source: v.source, oversized: !fitsSomeHost(v) }));
  for (const v of vms) hosts[v.host]!.vms.push(v);
  return { hosts, vms };
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

function sum(values: readonly number[]): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

/**
 * One first-fit-decreasing pass. Keeping a host lets its own VMs stay while they fit. A host
 * takes arrivals only once kept, and a kept host that cannot hold all of its own VMs
 * ("shedding") takes none: so each host's departures are decided before its arrivals, and
 * executing the moves in decision order never puts a host over its target on the way.
 */
function pack(fleet: Fleet, initiallyKept: readonly number[]): Packing {
  const n = fleet.hosts.length;
  const cpu = new Array<number>(n).fill(0);
  const mem = new Array<number>(n).fill(0);
  const kept = new Array<boolean>(n).fill(false);
  const shedding = new Array<boolean>(n).fill(false);
  // Kept hosts that take arrivals (kept, not shedding), searchable in host order.
  const open = new FirstFitIndex(n);
  const refresh = (h: number) => {
    const host = fleet.hosts[h]!;
    open.set(h, host.cpuCap - cpu[h]!, host.memCap - mem[h]!, kept[h]! && !shedding[h]);
  };
  const hostOf = new Map<string, number>();
  const moves: Vm[] = [];
  const unplaced: Vm[] = [];

  const fitsRaw = (h: number, c: number, m: number, v: Vm) => {
    const host = fleet.hosts[h]!;
    return withinCapacity(c + v.cpu, host.cpuCap) && withinCapacity(m + v.mem, host.memCap);
  };
  const place = (h: number, v: Vm) => {
    cpu[h]! += v.cpu;
    mem[h]! += v.mem;
    hostOf.set(v.id, h);
    if (kept[h]) refresh(h);
    if (v.host !== h && !kept[v.host]) refreshResidual(v.host);
  };
  // Keeps host h: VMs that must stay (`forced`) go first, then its other VMs stay while they fit.
  const keep = (h: number, forced: readonly Vm[] = []) => {
    kept[h] = true;
    closed.set(h, 0, 0, false);
    for (const v of forced) {
      place(h, v);
      unplaced.push(v);
    }
    for (const v of fleet.hosts[h]!.vms) {
      if (hostOf.has(v.id)) continue;
      if (fitsRaw(h, cpu[h]!, mem[h]!, v)) place(h, v);
      else shedding[h] = true;
    }
    refresh(h);
  };
  // Unkept hosts, searchable by the room left once their own unplaced VMs stay (residual).
  // The residual of a host changes only when one of its VMs is placed elsewhere.
  const residualCpu = new Float64Array(n);
  const residualMem = new Float64Array(n);
  const closed = new FirstFitIndex(n);
  const refreshResidual = (h: number) => {
    const host = fleet.hosts[h]!;
    let c = 0;
    let m = 0;
    let shed = false;
    for (const u of host.vms) {
      if (hostOf.has(u.id)) continue;
      if (fitsRaw(h, c, m, u)) {
        c += u.cpu;
        m += u.mem;
      } else shed = true;
    }
    residualCpu[h] = c;
    residualMem[h] = m;
    closed.set(h, host.cpuCap - c, host.memCap - m, !kept[h] && !shed);
  };
  // Would keeping unkept host `h` (its own VMs staying first) leave `v` on it?
  const openingHolds = (h: number, v: Vm): boolean => {
    let c = 0;
    let m = 0;
    let shed = false;
    let stays = false;
    for (const u of fleet.hosts[h]!.vms) {
      if (hostOf.has(u.id)) continue;
      if (fitsRaw(h, c, m, u)) {
        c += u.cpu;
        m += u.mem;
        if (u === v) stays = true;
      } else shed = true;
    }
    return v.host === h ? stays : !shed && fitsRaw(h, c, m, v);
  };

  // Hosts of oversized VMs are kept whatever happens, so their other VMs are judged against
  // a host that already holds them (and typically move away).
  for (const h of fleet.hosts) {
    const pinned = h.vms.filter((v) => v.oversized);
    if (pinned.length > 0) keep(h.index, pinned);
  }
  for (const h of [...initiallyKept].sort((a, b) => a - b)) if (!kept[h]) keep(h);
  for (let h = 0; h < n; h++) if (!kept[h]) refreshResidual(h);
  for (const v of fleet.vms) {
    if (hostOf.has(v.id)) continue;
    // v's own host, if kept, already refused it (it sheds), so first fit only looks elsewhere.
    const found = open.firstFit(v.cpu, v.mem, (h) => fitsRaw(h, cpu[h]!, mem[h]!, v));
    let target = found >= 0 ? found : undefined;
    if (target === undefined) {
      // First unkept host, in order, whose keeping would hold v: another host with room left by
      // its own VMs, or v's own host if v would stay there.
      const other = closed.firstFit(v.cpu, v.mem, (h) => h !== v.host && fitsRaw(h, residualCpu[h]!, residualMem[h]!, v));
      const own = !kept[v.host] && openingHolds(v.host, v) ? v.host : -1;
      const h = other < 0 ? own : own < 0 ? other : Math.min(other, own);
      if (h >= 0) {
        keep(h);
        if (!hostOf.has(v.id)) target = h;
      }
    }
    if (hostOf.has(v.id)) continue;
    if (target !== undefined) {
      place(target, v);
      moves.push(v);
    } else if (kept[v.host]) {
      // Fits nowhere: it stays, even though its host is (and remains) over target.
      place(v.host, v);
      unplaced.push(v);
    } else {
      keep(v.host, [v]);
    }
  }
  // A host judged too full for a VM may have been emptied afterwards (its own VMs found room
  // elsewhere): such a host is better used for the VM than left off while another is overloaded.
  for (const v of [...unplaced]) {
    if (v.oversized) continue;
    const h = fleet.hosts.findIndex((host) => !kept[host.index] && fitsRaw(host.index, 0, 0, v));
    if (h < 0) continue;
    keep(h);
    cpu[v.host]! -= v.cpu;
    mem[v.host]! -= v.mem;
    place(h, v);
    unplaced.splice(unplaced.indexOf(v), 1);
    moves.push(v);
  }
  return { hostOf, moves, unplaced };
}

function identity(fleet: Fleet): Packing {
  return { hostOf: new Map(fleet.vms.map((v) => [v.id, v.host])), moves: [], unplaced: [] };
}

function usedHosts(p: Packing): number[] {
  return [...new Set(p.hostOf.values())];
}

function score(p: Packing): [number, number, number] {
  return [p.unplaced.length, usedHosts(p).length, p.moves.length];
}

function compareScore(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

const GIB = 1024 ** 3;
const cores = (x: number) => x.toFixed(2);
const gib = (x: number) => (x / GIB).toFixed(2);
const pct = (x: number) => `${Math.round(x * 100)}%`;

function toPlan(snapshot: FleetSnapshot, policy: ConsolidationPolicy, fleet: Fleet, packing: Packing): ActionPlan {
  const n = fleet.hosts.length;
  const cpu = new Array<number>(n).fill(0);
  const mem = new Array<number>(n).fill(0);
  const count = new Array<number>(n).fill(0);
  const movedFrom = new Array<Vm[]>(n);
  for (let h = 0; h < n; h++) movedFrom[h] = [];
  // Loads before any move executes, minus what leaves: stayers only. Moves are added in order.
  for (const v of fleet.vms) {
    const to = packing.hostOf.get(v.id)!;
    if (to === v.host) {
      cpu[to]! += v.cpu;
      mem[to]! += v.mem;
      count[to]! += 1;
    } else movedFrom[v.host]!.push(v);
  }
  const finalCount = [...count];
  for (const v of packing.moves) finalCount[packing.hostOf.get(v.id)!]! += 1;

  const actions: PlannedAction[] = [];
  for (const v of packing.moves) {
    const from = fleet.hosts[v.host]!;
    const to = fleet.hosts[packing.hostOf.get(v.id)!]!;
    const why =
      finalCount[from.index] === 0
        ? `${from.id} is being emptied so it can be powered off`
        : !(withinCapacity(from.cpuBefore, from.cpuCap) && withinCapacity(from.memBefore, from.memCap))
          ? `${from.id} is over its target (${cores(from.cpuBefore)}/${cores(from.cpuCap)} cores, ${gib(from.memBefore)}/${gib(from.memCap)} GiB)`
          : `first-fit decreasing repacks it`;
    const before = { cpu: cpu[to.index]!, mem: mem[to.index]! };
    cpu[to.index]! += v.cpu;
    mem[to.index]! += v.mem;
    const action: MigrateAction = {
      kind: 'migrate',
      vmId: v.id,
      fromHost: from.id,
      toHost: to.id,
      cpuCores: v.cpu,
      memBytes: v.mem,
      reason:
        `${v.id}: predicted p95 CPU ${cores(v.cpu)} cores (${v.source ?? 'forecast'}), ${gib(v.mem)} GiB reserved; ${why}; ` +
        `${to.id} goes from ${cores(before.cpu)} to ${cores(cpu[to.index]!)} of ${cores(to.cpuCap)} cores ` +
        `(${pct(policy.cpuTargetUtilization)} of ${cores(to.cpuCores)}) and from ${gib(before.mem)} to ${gib(mem[to.index]!)} ` +
        `of ${gib(to.memCap)} GiB (${pct(policy.memTargetUtilization)} of ${gib(to.memBytes)})`,
    };
    actions.push(action);
  }

  const hostsBefore = fleet.hosts.filter((h) => h.vms.length > 0).length;
  const hostsAfter = finalCount.filter((c) => c > 0).length;
  const emptied = fleet.hosts.filter((h) => h.vms.length > 0 && finalCount[h.index] === 0).sort((a, b) => compareIds(a.id, b.id));
  for (const h of emptied) {
    const leaving = movedFrom[h.index]!;
    const action: PowerOffAction = {
      kind: 'power-off',
      hostId: h.id,
      reason:
        `${h.id} runs no VMs after the plan: its ${leaving.length} VM(s) (predicted p95 CPU ${cores(h.cpuBefore)} of ${cores(h.cpuCap)} target cores, ` +
        `${gib(h.memBefore)} of ${gib(h.memCap)} target GiB) move to kept hosts; hosts running VMs go from ${hostsBefore} to ${hostsAfter}`,
    };
    actions.push(action);
  }

  const loadAfter: HostLoad[] = fleet.hosts
    .filter((h) => finalCount[h.index]! > 0)
    .sort((a, b) => compareIds(a.id, b.id))
    .map((h) => ({ hostId: h.id, cpuCores: cpu[h.index]!, memBytes: mem[h.index]!, cpuCapacity: h.cpuCores, memCapacity: h.memBytes, vmCount: finalCount[h.index]! }));

  return {
    createdAt: snapshot.takenAt,
    policy: { cpuTargetUtilization: policy.cpuTargetUtilization, memTargetUtilization: policy.memTargetUtilization },
    actions,
    hostsBefore,
    hostsAfter,
    hostsSaved: hostsBefore - hostsAfter,
    loadAfter,
    unplaced: packing.unplaced.map((v) => v.id).sort(compareIds),
  };
}
