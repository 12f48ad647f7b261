import { ruleViolations } from './constraints.ts';
import { compareIds, withinCapacity, type Fleet, type Host, type VmRec } from './fleet-model.ts';
import { hostWatts, wattsPerCore } from './migration-cost.ts';
import type { Packing } from './pack.ts';
import type { ResolvedPolicy } from './policy.ts';
import type {
  ConsolidationPlan,
  ConsolidationPolicy,
  DeferredMove,
  FleetSnapshot,
  HostLoad,
  HostPeak,
  MigrateAction,
  MoveCause,
  PlannedAction,
  PowerOffAction,
  RuleViolation,
} from './types.ts';
import type { MoveGroup, Schedule } from './waves.ts';

/** Everything the planner decided, for turning into a plan a person can approve. */
export interface PlanInput {
  snapshot: FleetSnapshot;
  policy: ConsolidationPolicy;
  resolved: ResolvedPolicy;
  fleet: Fleet;
  packing: Packing;
  groups: readonly MoveGroup[];
  causes: readonly MoveCause[];
  schedule: Schedule;
  allowed: number;
}

const GIB = 1024 ** 3;
const cores = (x: number) => x.toFixed(2);
const gib = (x: number) => (x / GIB).toFixed(2);
const pct = (x: number) => `${Math.round(x * 100)}%`;
const watts = (x: number) => `${Math.round(x)} W`;
const rate = (bytesPerSec: number) => `${(bytesPerSec / 1e6).toFixed(0)} MB/s`;

/** a/b, where a share of nothing is infinite unless there is nothing to share. */
function share(amount: number, capacity: number): number {
  if (capacity > 0) return amount / capacity;
  return amount > 0 ? Infinity : 0;
}

/** Builds the plan: actions with their reasons, waves, savings, risk, violations and budget. */
export function buildPlan(input: PlanInput): ConsolidationPlan {
  const { fleet, schedule, resolved, packing } = input;
  const hosts = fleet.hosts;
  const n = hosts.length;
  // Host of every VM after the plan (by VmRec.index); -1 for a VM that stays.
  const movedTo = new Int32Array(fleet.vms.length).fill(-1);
  for (const m of schedule.moves) movedTo[m.vm.index] = m.to;

  // Loads once the executed moves are done: stayers in first-fit-decreasing order, then arrivals
  // in execution order, so the figures do not depend on the input's order.
  const cpu = new Float64Array(n);
  const mem = new Float64Array(n);
  const count = new Int32Array(n);
  const leaving = new Map<number, VmRec[]>();
  for (const it of fleet.items) {
    for (const m of it.members) {
      if (movedTo[m.index]! >= 0) {
        const list = leaving.get(m.host);
        if (list) list.push(m);
        else leaving.set(m.host, [m]);
      } else {
        cpu[m.host]! += m.cpu;
        mem[m.host]! += m.mem;
        count[m.host]! += 1;
      }
    }
  }
  for (const m of schedule.moves) {
    cpu[m.to]! += m.vm.cpu;
    mem[m.to]! += m.vm.mem;
    count[m.to]! += 1;
  }
  const emptied = hosts.filter((h) => h.vmCount > 0 && count[h.index] === 0);
  const poweredOff = emptied.filter((h) => !h.maintenance).sort((a, b) => compareIds(a.id, b.id));
  const hostsBefore = hosts.filter((h) => h.vmCount > 0).length;
  const hostsAfter = hosts.filter((h) => count[h.index]! > 0).length;

  // Per emptied host: its draw, less what its VMs add where they go; and what moving them costs.
  const offValue = new Map<number, { savedWatts: number; costWh: number }>();
  for (const h of emptied) {
    let added = 0;
    let costWh = 0;
    for (const m of leaving.get(h.index)!) {
      const to = hosts[movedTo[m.index]!]!;
      added += wattsPerCore(to.idleWatts, to.maxWatts, to.cpuCores) * m.cpu;
      costWh += m.costWh;
    }
    offValue.set(h.index, { savedWatts: Math.max(0, hostWatts(h.idleWatts, h.maxWatts, h.cpuBefore, h.cpuCores) - added), costWh });
  }
  const horizon = resolved.horizonHours;
  const offText = (h: Host) => {
    const v = offValue.get(h.index)!;
    return `saves ${watts(v.savedWatts)}, ${((v.savedWatts * horizon) / 1000).toFixed(2)} kWh over ${horizon} h, against ${v.costWh.toFixed(2)} Wh to move its VMs`;
  };

  const quantile = resolved.cpuQuantile;
  const whyOf = mustRuleReasons(fleet);
  const bandwidth = rate(resolved.bandwidth);
  // Per-host text, formatted once: a large plan sends thousands of VMs to the same few hosts.
  const capText: (string | undefined)[] = new Array(n);
  const cpuCapText = (h: Host) =>
    (capText[h.index] ??= `${cores(h.cpuCap)} cores (${pct(h.cpuTarget)} of ${cores(h.cpuCores)})\u0000${gib(h.memCap)} GiB (${pct(h.memTarget)} of ${gib(h.memBytes)})`);
  const whyText: (string | undefined)[] = new Array(n);
  const actions: PlannedAction[] = [];
  for (const s of schedule.moves) {
    const v = s.vm;
    const from = hosts[s.from]!;
    const to = hosts[s.to]!;
    const cause = input.causes[s.group]!;
    const item = input.groups[s.group]!;
    const why = from.maintenance
      ? `${from.id} is in maintenance and must be evacuated`
      : cause === 'maintenance'
        ? `it must share a host with ${item.moves.filter((m) => hosts[m.from]!.maintenance).map((m) => m.vm.id).join(', ')} (must-affinity), evacuated from maintenance`
        : cause === 'must-rule'
          ? whyOf(v)
          : (whyText[from.index] ??=
              count[from.index] === 0
                ? `${from.id} is being emptied so it can be powered off (${from.maintenance ? 'in maintenance' : offText(from)})`
                : cause === 'overload'
                  ? `${from.id} is over its target (${cores(from.cpuBefore)}/${cores(from.cpuCap)} cores, ${gib(from.memBefore)}/${gib(from.memCap)} GiB)`
                  : cause === 'consolidate'
                    ? `${from.id} was to be emptied, but some of its moves are deferred`
                    : `first-fit decreasing repacks it`);
    const together = item.moves.length > 1 ? `; it moves with ${item.moves.filter((m) => m.vm !== v).map((m) => m.vm.id).join(', ')} (must-affinity)` : '';
    const [cpuCap, memCap] = cpuCapText(to).split('\u0000') as [string, string];
    const memGib = gib(v.mem);
    const action: MigrateAction = {
      kind: 'migrate',
      vmId: v.id,
      fromHost: from.id,
      toHost: to.id,
      cpuCores: v.cpu,
      memBytes: v.mem,
      reason:
        `${v.id}: predicted ${quantile} CPU ${cores(v.cpu)} cores (${v.source ?? 'forecast'}), ${memGib} GiB reserved; ${why}${together}; ` +
        `${to.id} goes from ${cores(s.cpuBefore)} to ${cores(s.cpuAfter)} of ${cpuCap} and from ${gib(s.memBefore)} to ${gib(s.memAfter)} of ${memCap}; ` +
        `migration ≈ ${v.seconds.toFixed(1)} s${v.dirtyRate > 0 ? ` (dirtying ${rate(v.dirtyRate)} of ${bandwidth}${v.nonConverging ? ': does not converge, capped' : ''})` : ''}, ` +
        `${v.costWh.toFixed(2)} Wh of degraded hosts`,
      cause,
      estimatedSeconds: v.seconds,
      costWh: v.costWh,
      wave: s.wave,
    };
    actions.push(action);
  }
  for (const h of poweredOff) {
    const v = offValue.get(h.index)!;
    const action: PowerOffAction = {
      kind: 'power-off',
      hostId: h.id,
      reason:
        `${h.id} runs no VMs after the plan: its ${leaving.get(h.index)!.length} VM(s) (predicted ${quantile} CPU ${cores(h.cpuBefore)} of ${cores(h.cpuCap)} target cores, ` +
        `${gib(h.memBefore)} of ${gib(h.memCap)} target GiB) move to kept hosts; switching it off ${offText(h)}; ` +
        `hosts running VMs go from ${hostsBefore} to ${hostsAfter}`,
      savedWatts: v.savedWatts,
      migrationCostWh: v.costWh,
    };
    actions.push(action);
  }

  const running = hosts.filter((h) => count[h.index]! > 0).sort((a, b) => compareIds(a.id, b.id));
  const loadAfter: HostLoad[] = running.map((h) => ({ hostId: h.id, cpuCores: cpu[h.index]!, memBytes: mem[h.index]!, cpuCapacity: h.cpuCores, memCapacity: h.memBytes, vmCount: count[h.index]! }));

  // Savings: the fleet's draw before minus after (hosts without VMs count as idle in both).
  const off = new Set(poweredOff.map((h) => h.index));
  let savedWatts = 0;
  for (const h of hosts) {
    const before = hostWatts(h.idleWatts, h.maxWatts, h.cpuBefore, h.cpuCores);
    const after = off.has(h.index) ? 0 : hostWatts(h.idleWatts, h.maxWatts, cpu[h.index]!, h.cpuCores);
    savedWatts += before - after;
  }
  let migrationCostWh = 0;
  let migrationSeconds = 0;
  for (const m of schedule.moves) {
    migrationCostWh += m.vm.costWh;
    migrationSeconds += m.vm.seconds;
  }
  let durationSeconds = 0;
  for (const w of schedule.waves) durationSeconds += Math.max(0, ...w.map((i) => schedule.moves[i]!.vm.seconds));

  const peak = (load: Float64Array, capOf: (h: Host) => number, rawOf: (h: Host) => number, targetOf: (h: Host) => number): HostPeak | null => {
    let best: Host | null = null;
    let bestRatio = -Infinity;
    for (const h of running) {
      const r = share(load[h.index]!, capOf(h));
      if (r > bestRatio) {
        best = h;
        bestRatio = r;
      }
    }
    return best === null ? null : { hostId: best.id, utilization: share(load[best.index]!, rawOf(best)), target: targetOf(best) };
  };

  const violations: RuleViolation[] = [];
  if (fleet.rules.rules.length > 0) {
    const vmById = new Map(fleet.vms.map((v) => [v.id, v]));
    const before = ruleViolations(fleet.rules.rules, (id) => hosts[vmById.get(id)!.host]!.id);
    const after = ruleViolations(fleet.rules.rules, (id) => {
      const vm = vmById.get(id)!;
      return hosts[movedTo[vm.index]! >= 0 ? movedTo[vm.index]! : vm.host]!.id;
    });
    after.forEach((v, i) => {
      if (v !== null) violations.push({ ...v, preExisting: before[i] !== null });
    });
  }

  const deferred: DeferredMove[] = schedule.deferred
    .flatMap((d) => input.groups[d.group]!.moves.map((m) => ({ vmId: m.vm.id, fromHost: hosts[m.from]!.id, toHost: hosts[m.to]!.id, why: d.why })))
    .sort((a, b) => compareIds(a.vmId, b.vmId));

  return {
    createdAt: input.snapshot.takenAt,
    policy: echoPolicy(input.policy),
    actions,
    hostsBefore,
    hostsAfter,
    hostsSaved: hostsBefore - hostsAfter,
    loadAfter,
    unplaced: packing.unplaced.flatMap((it) => it.members.map((m) => m.id)).sort(compareIds),
    waves: schedule.waves.map((w) => [...w]),
    expectedSavings: {
      hosts: poweredOff.length,
      watts: savedWatts,
      horizonHours: horizon,
      kWh: (savedWatts * horizon) / 1000,
      migrationCostWh,
      netKWh: (savedWatts * horizon - migrationCostWh) / 1000,
    },
    risk: {
      peakCpu: peak(cpu, (h) => h.cpuCap, (h) => h.cpuCores, (h) => h.cpuTarget),
      peakMem: peak(mem, (h) => h.memCap, (h) => h.memBytes, (h) => h.memTarget),
      hostsOverTarget: running.filter((h) => !(withinCapacity(cpu[h.index]!, h.cpuCap) && withinCapacity(mem[h.index]!, h.memCap))).map((h) => h.id),
      maintenanceNotEvacuated: running.filter((h) => h.maintenance).map((h) => h.id),
      mustViolations: violations.filter((v) => v.strength === 'must').length,
      shouldViolations: violations.filter((v) => v.strength === 'should').length,
      migrationSeconds,
      durationSeconds,
      nonConverging: schedule.moves.filter((m) => m.vm.nonConverging).map((m) => m.vm.id).sort(compareIds),
    },
    violations,
    deferred,
    budget: {
      allowed: Number.isFinite(input.allowed) ? input.allowed : null,
      used: schedule.moves.length,
      recentInLastHour: fleet.history.inLastHour,
      maxConcurrent: Number.isFinite(resolved.maxConcurrentMigrations) ? resolved.maxConcurrentMigrations : null,
    },
  };
}

/** The caller's policy as given (its defined fields, in a fixed order), so a stored plan records what it was asked. */
export function echoPolicy(p: ConsolidationPolicy): ConsolidationPolicy {
  const out: Record<string, unknown> = { cpuTargetUtilization: p.cpuTargetUtilization, memTargetUtilization: p.memTargetUtilization };
  const optional = [
    'cpuQuantile', 'maxMigrationsPerPlan', 'maxConcurrentMigrations', 'maxMigrationsPerHour', 'hysteresisMinutes', 'migrationBandwidthBytesPerSec',
    'maxMigrationSeconds', 'hostIdleWatts', 'hostMaxWatts', 'degradationWatts', 'horizonHours',
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
