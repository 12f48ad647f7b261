import type { ForcedOutcome } from './budget.ts';
import { ruleViolations } from './constraints.ts';
import { compareIds, withinCapacity, type Fleet, type HostRec, type VmRec } from './fleet-model.ts';
import type { FleetState, Move } from './fleet-state.ts';
import type {
  ConsolidationPlan,
  ConsolidationPolicy,
  DeferredMove,
  HostLoad,
  HostPeak,
  MigrateAction,
  PlanRisk,
  PlanSavings,
  PowerOffAction,
  RuleViolation,
} from './types.ts';

/** Per host, what the snapshot had before the plan. */
export interface LoadsBefore {
  level: Float64Array;
  /** Predicted quantile of demand / raw CPU. */
  utilization: Float64Array;
  /** CPU used now / raw CPU. */
  nowShare: Float64Array;
  mem: Float64Array;
  watts: Float64Array;
  /** Each host's relief trigger, for explanations. */
  overloadWhy: (string | null)[];
}

/** Everything the planner decided, for turning into a plan a person can approve. */
export interface PlanInput {
  fleet: Fleet;
  state: FleetState;
  before: LoadsBefore;
  waves: number[][];
  forced: ForcedOutcome;
  /** Consolidation's emptied hosts and what each saves. */
  emptiedValue: ReadonlyMap<number, { savedWatts: number; costWh: number }>;
  allowed: number;
  policy: ConsolidationPolicy;
}

const GIB = 1024 ** 3;
const cores = (x: number) => x.toFixed(2);
const gib = (x: number) => (x / GIB).toFixed(2);
const pct = (x: number) => `${Math.round(x * 100)}%`;
const watts = (x: number) => `${Math.round(x)} W`;

/** Records the loads of every host before the plan moves anything. */
export function loadsBefore(state: FleetState): LoadsBefore {
  const { hosts, policy } = state.fleet;
  const H = hosts.length;
  const out: LoadsBefore = { level: new Float64Array(H), utilization: new Float64Array(H), nowShare: new Float64Array(H), mem: new Float64Array(H), watts: new Float64Array(H), overloadWhy: [] };
  for (const host of hosts) {
    const h = host.index;
    out.level[h] = state.level[h]!;
    out.utilization[h] = state.utilization(h, policy.z);
    out.nowShare[h] = host.cpu > 0 ? state.claims[h]! / host.cpu : 0;
    out.mem[h] = state.mem[h]!;
    out.watts[h] = state.watts(h);
    out.overloadWhy.push(state.overloaded(h) ? overloadReason(state, host) : null);
  }
  return out;
}

function overloadReason(state: FleetState, host: HostRec): string {
  const h = host.index;
  const p = state.fleet.policy;
  if (!withinCapacity(state.claims[h]!, host.cpu)) return `${host.id} is short of CPU now (its VMs use ${cores(state.claims[h]!)} of ${cores(host.cpu)} cores)`;
  if (!withinCapacity(state.mem[h]!, host.memCap)) return `${host.id} has ${gib(state.mem[h]!)} GiB reserved, over its ${gib(host.memCap)} GiB target`;
  const relief = state.utilization(h, p.reliefZ);
  if (relief > 1) return `${host.id} is predicted short of CPU (${p.reliefQuantile} of its next-interval demand ${pct(relief)} of its cores)`;
  return `a VM on ${host.id} needs more CPU than its vCPUs get from ${host.id}'s cores`;
}

/** Builds the plan: actions with their reasons, waves, savings, risk, violations and budget. */
export function buildPlan(input: PlanInput): ConsolidationPlan {
  const { fleet, state } = input;
  const moves = state.moves;
  const emptied = fleet.hosts.filter((h) => h.vmCount > 0 && state.lists[h.index]!.length === 0);
  const poweredOff = emptied.filter((h) => !h.maintenance);
  const hostsBefore = fleet.hosts.filter((h) => h.vmCount > 0).length;
  const hostsAfter = fleet.hosts.filter((h) => state.lists[h.index]!.length > 0).length;
  const waveOf = new Int32Array(moves.length);
  input.waves.forEach((w, i) => w.forEach((m) => (waveOf[m] = i)));
  const actions = [...migrateActions(input, waveOf), ...poweredOff.map((h) => powerOffAction(input, h, hostsBefore, hostsAfter))];
  const violations = violationsAfter(fleet, state);
  return {
    createdAt: fleet.snapshot.takenAt,
    policy: echoPolicy(input.policy),
    actions,
    hostsBefore,
    hostsAfter,
    hostsSaved: hostsBefore - hostsAfter,
    loadAfter: loadAfter(state),
    unplaced: input.forced.unplaced.flatMap((it) => it.members.map((v) => fleet.vms[v]!.id)).sort(compareIds),
    waves: input.waves.map((w) => [...w]),
    expectedSavings: savings(input, poweredOff.length),
    risk: risk(input, violations),
    violations,
    deferred: deferredMoves(input),
    budget: {
      allowed: Number.isFinite(input.allowed) ? input.allowed : null,
      used: moves.length,
      recentInLastHour: fleet.history.inLastHour,
      maxConcurrent: Number.isFinite(fleet.policy.maxConcurrentMigrations) ? fleet.policy.maxConcurrentMigrations : null,
    },
  };
}

function migrateActions(input: PlanInput, waveOf: Int32Array): MigrateAction[] {
  const { fleet, state, before } = input;
  const p = fleet.policy;
  const d = fleet.demand;
  const whyOf = mustRuleReasons(fleet);
  // Each target's load is reported as it ends up after the plan; formatted once per host.
  const targetText = new Map<number, string>();
  const toText = (h: number) => {
    let t = targetText.get(h);
    if (t === undefined) {
      const host = fleet.hosts[h]!;
      t = `${host.id}'s predicted ${p.cpuQuantile} goes from ${pct(before.utilization[h]!)} to ${pct(state.utilization(h, p.z))} of its cores (target ${pct(host.cpuTarget)}), memory ${gib(before.mem[h]!)} → ${gib(state.mem[h]!)} of ${gib(host.memCap)} GiB`;
      targetText.set(h, t);
    }
    return t;
  };
  const groupSize = new Map<number, VmRec[]>();
  for (const m of state.moves) groupSize.set(m.group, [...(groupSize.get(m.group) ?? []), fleet.vms[m.vm]!]);
  return state.moves.map((m, i) => {
    const v = fleet.vms[m.vm]!;
    const from = fleet.hosts[m.from]!;
    const quantileCores = d.level[m.vm]! + p.z * d.spread[m.vm]!;
    const mates = groupSize.get(m.group)!.filter((o) => o !== v).map((o) => o.id);
    const together = mates.length > 0 ? `; it moves with ${mates.join(', ')} (must-affinity)` : '';
    return {
      kind: 'migrate',
      vmId: v.id,
      fromHost: from.id,
      toHost: fleet.hosts[m.to]!.id,
      cpuCores: quantileCores,
      memBytes: v.mem,
      reason:
        `${v.id}: predicted ${p.cpuQuantile} CPU ${cores(quantileCores)} cores (${d.method[m.vm]}), ${gib(v.mem)} GiB; ${causeText(input, m, whyOf)}${together}; ` +
        `${toText(m.to)}; migration ≈ ${v.seconds.toFixed(1)} s${v.nonConverging ? ' (dirties memory faster than the link: capped, may need post-copy)' : ''}, ${v.costWh.toFixed(2)} Wh of degraded hosts`,
      cause: m.cause,
      estimatedSeconds: v.seconds,
      costWh: v.costWh,
      wave: waveOf[i]!,
    };
  });
}

function causeText(input: PlanInput, m: Move, whyOf: (vm: VmRec) => string): string {
  const { fleet, before } = input;
  const from = fleet.hosts[m.from]!;
  const p = fleet.policy;
  switch (m.cause) {
    case 'maintenance':
      return `${from.id} is in maintenance and must be evacuated`;
    case 'must-rule':
      return whyOf(fleet.vms[m.vm]!);
    case 'overload':
      return before.overloadWhy[m.from] ?? `${from.id} is overloaded`;
    case 'consolidate': {
      const value = input.emptiedValue.get(m.from);
      const saving = value ? `saves ${watts(value.savedWatts)} against ${value.costWh.toFixed(2)} Wh to move its VMs` : 'its VMs fit elsewhere';
      return `${from.id} is being emptied so it can be powered off (predicted ${p.cpuQuantile} ${pct(before.utilization[m.from]!)} of its cores, under the ${pct(p.underloadUtilization)} underload line; ${saving})`;
    }
  }
}

function powerOffAction(input: PlanInput, h: HostRec, hostsBefore: number, hostsAfter: number): PowerOffAction {
  const value = input.emptiedValue.get(h.index);
  const savedWatts = value?.savedWatts ?? input.before.watts[h.index]!;
  const costWh = value?.costWh ?? 0;
  const horizon = input.fleet.policy.horizonHours;
  return {
    kind: 'power-off',
    hostId: h.id,
    reason:
      `${h.id} runs no VMs after the plan (its ${h.vmCount} VM(s) move to running hosts); switching it off saves ${watts(savedWatts)}, ` +
      `${((savedWatts * horizon) / 1000).toFixed(2)} kWh over ${horizon} h, against ${costWh.toFixed(2)} Wh to move its VMs; hosts running VMs go from ${hostsBefore} to ${hostsAfter}`,
    savedWatts,
    migrationCostWh: costWh,
  };
}

function loadAfter(state: FleetState): HostLoad[] {
  const { hosts, policy } = state.fleet;
  return hosts
    .filter((h) => state.lists[h.index]!.length > 0)
    .map((h) => ({ hostId: h.id, cpuCores: state.utilization(h.index, policy.z) * h.cpu, memBytes: state.mem[h.index]!, cpuCapacity: h.cpu, memCapacity: h.mem, vmCount: state.lists[h.index]!.length }));
}

function savings(input: PlanInput, hostsOff: number): PlanSavings {
  const { fleet, state, before } = input;
  let saved = 0;
  for (const host of fleet.hosts) {
    const h = host.index;
    saved += before.watts[h]! - state.watts(h);
  }
  let migrationCostWh = 0;
  for (const m of state.moves) migrationCostWh += fleet.vms[m.vm]!.costWh;
  const horizon = fleet.policy.horizonHours;
  return { hosts: hostsOff, watts: saved, horizonHours: horizon, kWh: (saved * horizon) / 1000, migrationCostWh, netKWh: (saved * horizon - migrationCostWh) / 1000 };
}

function risk(input: PlanInput, violations: readonly RuleViolation[]): PlanRisk {
  const { fleet, state } = input;
  const p = fleet.policy;
  const running = fleet.hosts.filter((h) => state.lists[h.index]!.length > 0);
  const peak = (share: (h: HostRec) => number, target: (h: HostRec) => number): HostPeak | null => {
    let best: HostPeak | null = null;
    let bestRatio = -Infinity;
    for (const h of running) {
      const u = share(h);
      const ratio = target(h) > 0 ? u / target(h) : Infinity;
      if (ratio > bestRatio) {
        bestRatio = ratio;
        best = { hostId: h.id, utilization: u, target: target(h) };
      }
    }
    return best;
  };
  let migrationSeconds = 0;
  for (const m of state.moves) migrationSeconds += fleet.vms[m.vm]!.seconds;
  let durationSeconds = 0;
  for (const w of input.waves) durationSeconds += Math.max(0, ...w.map((i) => fleet.vms[state.moves[i]!.vm]!.seconds));
  return {
    peakCpu: peak((h) => state.utilization(h.index, p.z), (h) => h.cpuTarget),
    peakMem: peak((h) => (h.mem > 0 ? state.mem[h.index]! / h.mem : 0), (h) => h.memTarget),
    hostsOverTarget: running.filter((h) => !withinCapacity(state.utilization(h.index, p.z), h.cpuTarget) || !withinCapacity(state.mem[h.index]!, h.memCap)).map((h) => h.id),
    hostsOverloaded: running.filter((h) => state.overloaded(h.index)).map((h) => h.id),
    maintenanceNotEvacuated: running.filter((h) => h.maintenance).map((h) => h.id),
    mustViolations: violations.filter((v) => v.strength === 'must').length,
    shouldViolations: violations.filter((v) => v.strength === 'should').length,
    migrationSeconds,
    durationSeconds,
    nonConverging: state.moves.filter((m) => fleet.vms[m.vm]!.nonConverging).map((m) => fleet.vms[m.vm]!.id).sort(compareIds),
  };
}

function violationsAfter(fleet: Fleet, state: FleetState): RuleViolation[] {
  if (fleet.rules.rules.length === 0) return [];
  const vmIndex = new Map(fleet.vms.map((v) => [v.id, v.index]));
  const before = ruleViolations(fleet.rules.rules, (id) => fleet.hosts[fleet.vms[vmIndex.get(id)!]!.host]!.id);
  const after = ruleViolations(fleet.rules.rules, (id) => fleet.hosts[state.hostOf[vmIndex.get(id)!]!]!.id);
  const out: RuleViolation[] = [];
  after.forEach((v, i) => {
    if (v !== null) out.push({ ...v, preExisting: before[i] !== null });
  });
  return out;
}

function deferredMoves(input: PlanInput): DeferredMove[] {
  const { fleet } = input;
  return input.forced.deferred
    .flatMap(({ item, to }) => item.members.map((v) => ({ vmId: fleet.vms[v]!.id, fromHost: fleet.hosts[fleet.vms[v]!.host]!.id, toHost: fleet.hosts[to]!.id, why: 'budget' as const })))
    .filter((m) => m.fromHost !== m.toHost)
    .sort((a, b) => compareIds(a.vmId, b.vmId));
}

/** The caller's policy as given (its defined fields, in a fixed order), so a stored plan records what it was asked. */
export function echoPolicy(p: ConsolidationPolicy): ConsolidationPolicy {
  const out: Record<string, unknown> = { cpuTargetUtilization: p.cpuTargetUtilization, memTargetUtilization: p.memTargetUtilization };
  const optional = [
    'cpuQuantile', 'reliefQuantile', 'underloadUtilization', 'settleMinutes', 'maxMigrationsPerPlan', 'maxConcurrentMigrations', 'maxMigrationsPerHour',
    'hysteresisMinutes', 'migrationBandwidthBytesPerSec', 'maxMigrationSeconds', 'hostIdleWatts', 'hostMaxWatts', 'degradationWatts', 'horizonHours',
  ] as const;
  if (p.clusters !== undefined) {
    out.clusters = Object.fromEntries(Object.keys(p.clusters).sort(compareIds).map((k) => [k, { ...p.clusters![k] }]));
  }
  for (const k of optional) if (p[k] !== undefined) out[k] = p[k];
  return out as unknown as ConsolidationPolicy;
}

/** Explains, for a VM moved to fix a must-rule, which rule it breaks where it runs now. */
function mustRuleReasons(fleet: Fleet): (vm: VmRec) => string {
  // Indexed on first use: most plans move no VM for a must-rule.
  let index: { byVm: Map<string, number[]>; vmById: Map<string, VmRec> } | undefined;
  const hostId = (h: number) => fleet.hosts[h]!.id;
  return (vm) => {
    if (index === undefined) {
      const byVm = new Map<string, number[]>();
      for (const [i, r] of fleet.rules.rules.entries()) if (r.strength === 'must') for (const v of r.vms) byVm.set(v, [...(byVm.get(v) ?? []), i]);
      index = { byVm, vmById: new Map(fleet.vms.map((v) => [v.id, v])) };
    }
    const { byVm, vmById } = index;
    const here = hostId(vm.host);
    for (const i of byVm.get(vm.id) ?? []) {
      const r = fleet.rules.rules[i]!;
      if (r.scope === 'host') {
        const listed = r.hosts.includes(here);
        if (r.kind === 'affinity' && !listed) return `it must run on one of ${r.hosts.join(', ')} (must-rule ${r.id}), not on ${here}`;
        if (r.kind === 'anti-affinity' && listed) return `it must not run on ${here} (must-rule ${r.id})`;
        continue;
      }
      const others = r.vms.filter((o) => o !== vm.id);
      if (r.kind === 'affinity') {
        if (others.some((o) => vmById.get(o)!.host !== vm.host)) return `it must share a host with ${others.join(', ')} (must-affinity ${r.id}), which run apart now`;
      } else {
        const beside = others.filter((o) => vmById.get(o)!.host === vm.host);
        if (beside.length > 0) return `it shares ${here} with ${beside.join(', ')} (must-anti-affinity ${r.id})`;
      }
    }
    return `it must join the other VMs of its must-affinity unit`;
  };
}
