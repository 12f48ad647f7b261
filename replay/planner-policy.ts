import { forecast } from '../models/index.ts';
import { DEFAULT_POLICY, planFleet, resolvePolicy, type ConsolidationPlan, type ConsolidationPolicy, type FleetSnapshot, type HostCapacity, type RecentMove, type VmDemand } from '../scheduler/index.ts';
import type { Experiment } from './experiment.ts';
import { powerAwarePlacement } from './placement.ts';
import type { BacktestPolicy, Migration, TickView } from './policy.ts';

/**
 * NovaCron's policy in the replay: at every tick the simulator's state becomes a FleetSnapshot,
 * exactly what the live cycle builds from telemetry, and the scheduler's one decision function
 * (`planFleet`, default policy) plans it; its migrations are started in plan order. Nothing of the
 * policy lives here: this is the adapter between simulated time and the product.
 *
 * How the simulated world reads as a snapshot (facts of the experiment, not policy):
 * - CPU is in units of 1,000 MIPS, so a host's cpuCores is its MIPS / 1000 and one core's
 *   coreCapacity its core MIPS / 1000; VMs have one vCPU (CloudSim caps a VM at one core).
 * - A VM's cpuHistory is its utilisation samples times its MIPS, the last ones the forecaster reads.
 * - Memory reserved is 0: CloudSim's VMs follow the null RAM model after t = 0, so RAM never binds;
 *   a migration still sends the VM's RAM (transferBytes) at the target's 62.5 MB/s.
 * - Hosts carry their SPECpower curves; recent moves are the migrations this run started.
 */
export interface PlannerPolicyOptions {
  /** Called after each tick's plan with the snapshot it was made from (e.g. to save both for `novacron plan --snapshot`). */
  onPlan?: (tick: number, snapshot: FleetSnapshot, plan: ConsolidationPlan) => void;
  /** Epoch milliseconds of simulated time 0 (default 0); snapshots are stamped with it plus the tick time. */
  startMs?: number;
  /** A what-if policy instead of the product's (default DEFAULT_POLICY, as the live cycle runs). */
  policy?: ConsolidationPolicy;
  /** Adds what a replay knows beyond CPU (e.g. the cost inputs of a Bitbrains fleet) to each tick's snapshot. */
  extendSnapshot?: (snapshot: FleetSnapshot, view: TickView) => FleetSnapshot;
}

/** CPU unit of the replay's snapshots, in MIPS. */
export const MIPS_PER_CORE = 1000;
const MB = 1e6;
const HOUR_MS = 3_600_000;

export function plannerPolicy(options: PlannerPolicyOptions = {}): BacktestPolicy {
  const history = forecast.historyNeeded();
  // Recent moves are kept as long as the policy looks back at them (hysteresis, settle time, hourly budget).
  const resolved = resolvePolicy(options.policy ?? DEFAULT_POLICY);
  const memoryMs = Math.max(HOUR_MS, resolved.hysteresisMs, resolved.settleMs);
  let hosts: HostCapacity[] = [];
  let moves: RecentMove[] = [];
  return {
    name: 'NovaCron',
    energyModel: 'power-model',
    // Same start as the CloudSim migration policies, so the comparison is about the policy alone.
    placeInitial: (exp) => powerAwarePlacement(exp, 0.7),
    plan(view) {
      const exp = view.experiment;
      if (hosts.length !== exp.hostCount) hosts = hostsOf(exp);
      const takenAt = (options.startMs ?? 0) + Math.round(view.time * 1000);
      moves = moves.filter((m) => takenAt - m.at < memoryMs);
      const base: FleetSnapshot = { takenAt, stepSeconds: exp.interval, hosts, vms: vmsOf(view, history), recentMoves: moves };
      const snapshot = options.extendSnapshot ? options.extendSnapshot(base, view) : base;
      const plan = planFleet(snapshot, options.policy);
      options.onPlan?.(view.tick, snapshot, plan);
      const out: Migration[] = [];
      for (const a of plan.actions) {
        if (a.kind !== 'migrate') continue;
        out.push({ vm: vmIndex(a.vmId), target: hostIndex(a.toHost), reason: a.cause ?? 'plan' });
        moves.push({ vmId: a.vmId, fromHost: a.fromHost, toHost: a.toHost, at: takenAt });
      }
      return out;
    },
  };
}

// Fixed-width ids, so the planner's id order is the simulator's index order.
const hostId = (h: number) => `h${String(h).padStart(5, '0')}`;
const vmId = (v: number) => `v${String(v).padStart(6, '0')}`;
const hostIndex = (id: string) => Number(id.slice(1));
const vmIndex = (id: string) => Number(id.slice(1));

function hostsOf(exp: Experiment): HostCapacity[] {
  return Array.from({ length: exp.hostCount }, (_, h) => ({
    hostId: hostId(h),
    cpuCores: exp.hostMips[h]! / MIPS_PER_CORE,
    memBytes: exp.hostRamMb[h]! * MB,
    coreCapacity: exp.hostCoreMips[h]! / MIPS_PER_CORE,
    powerCurveWatts: exp.hostPower[h]!.points,
    // CloudSim: RAM over half the target's bandwidth (BW units of 1 kbit/s → MB/s: / (2 × 8000)).
    migrationBandwidthBytesPerSec: (exp.hostBw[h]! / (2 * 8000)) * MB,
  }));
}

function vmsOf(view: TickView, historySamples: number): VmDemand[] {
  const exp = view.experiment;
  const out: VmDemand[] = [];
  for (let v = 0; v < exp.vmCount; v++) {
    const h = view.vmHost[v]!;
    if (h < 0) continue;
    const size = exp.vmMips[v]! / MIPS_PER_CORE;
    const past = view.pastUtilization(v);
    const from = Math.max(0, past.length - historySamples);
    const cpuHistory: number[] = [];
    for (let i = from; i < past.length; i++) cpuHistory.push(past[i]! * size);
    out.push({
      vmId: vmId(v),
      hostId: hostId(h),
      cpuCores: view.requestedMips[v]! / MIPS_PER_CORE,
      cpuHistory,
      memBytes: 0,
      transferBytes: exp.vmRamMb[v]! * MB,
      vcpus: 1,
      cpuSizeCores: size,
    });
  }
  return out;
}
