import { NovaError } from '../core/index.ts';
import { worthIt } from './benefit-gate.ts';
import { withinBudget } from './budget.ts';
import { buildFleet, type Fleet } from './fleet-model.ts';
import { pack, type Packing } from './pack.ts';
import { compareScore, moveGroups, score, usedHosts } from './packing-summary.ts';
import { buildPlan } from './plan-report.ts';
import { resolvePolicy, type ResolvedPolicy } from './policy.ts';
import { DEFAULT_POLICY, type ConsolidationPlan, type ConsolidationPolicy, type FleetSnapshot } from './types.ts';
import { scheduleWaves } from './waves.ts';

export { CAPACITY_TOLERANCE, withinCapacity } from './fleet-model.ts';

/**
 * Consolidates VMs onto as few hosts as their predicted demand, the rules and the migration
 * budget allow (first-fit decreasing on CPU and memory), preferring to keep loaded hosts and to
 * leave VMs where they are; empties a host only when the energy saved beats the cost of moving
 * its VMs. Deterministic.
 */
export function planConsolidation(snapshot: FleetSnapshot, policy: ConsolidationPolicy = DEFAULT_POLICY): ConsolidationPlan {
  const resolved = resolvePolicy(policy);
  validate(snapshot, resolved);
  const fleet = buildFleet(snapshot, resolved);
  const horizon = resolved.horizonHours;

  // Greedy opening keeps loaded hosts, but it may move a VM off a host it opens later; a second
  // pass that keeps that host set from the start lets those VMs stay. The current placement is
  // a candidate too, so a feasible fleet never ends up on more hosts or with pointless moves.
  const greedy = pack(fleet, []);
  const settled = pack(fleet, usedHosts(fleet, greedy));
  const identity = fleet.currentlyValid ? identityPacking(fleet) : undefined;
  const candidates = [...(identity ? [identity] : []), settled, greedy];
  let best = candidates[0]!;
  for (const c of candidates.slice(1)) if (compareScore(score(fleet, c), score(fleet, best)) < 0) best = c;
  // A host is emptied only when switching it off saves more energy than moving its VMs costs.
  best = worthIt(fleet, best, horizon);
  if (identity && compareScore(score(fleet, identity), score(fleet, best)) < 0) best = identity;

  // Every migration of this plan falls in the hour ahead: the hourly budget is what the last hour left.
  const allowed = Math.min(resolved.maxMigrationsPerPlan, Math.max(0, resolved.maxMigrationsPerHour - fleet.history.inLastHour));
  best = withinBudget(fleet, best, allowed, horizon);

  // Waves order the moves so no host exceeds its target and no must-rule breaks at any moment.
  const { groups, causes } = moveGroups(fleet, best);
  const schedule = scheduleWaves(fleet.hosts, fleet.vms, groups, allowed, resolved.maxConcurrentMigrations);
  return buildPlan({ snapshot, policy, resolved, fleet, packing: best, groups, causes, schedule, allowed });
}

function validate(snapshot: FleetSnapshot, policy: ResolvedPolicy): void {
  const bad = (what: string): never => {
    throw new NovaError('SCHEDULER_INVALID_SNAPSHOT', `${what}; rebuild the snapshot from consistent samples`);
  };
  const hostIds = new Set<string>();
  for (const h of snapshot.hosts) {
    if (hostIds.has(h.hostId)) bad(`host ${h.hostId} appears twice`);
    hostIds.add(h.hostId);
    if (!(isNonNegative(h.cpuCores) && isNonNegative(h.memBytes))) bad(`host ${h.hostId} has an invalid capacity (${h.cpuCores} cores, ${h.memBytes} bytes)`);
    for (const w of [h.idleWatts, h.maxWatts]) if (w !== undefined && !isNonNegative(w)) bad(`host ${h.hostId} has an invalid power figure (${w} W)`);
    if ((h.idleWatts ?? policy.hostIdleWatts) > (h.maxWatts ?? policy.hostMaxWatts)) bad(`host ${h.hostId} draws more idle (${h.idleWatts} W) than at full load (${h.maxWatts} W)`);
  }
  const vmIds = new Set<string>();
  for (const v of snapshot.vms) {
    if (vmIds.has(v.vmId)) bad(`VM ${v.vmId} appears twice`);
    vmIds.add(v.vmId);
    if (!hostIds.has(v.hostId)) bad(`VM ${v.vmId} runs on host ${v.hostId}, which the snapshot does not list`);
    if (!(isNonNegative(v.cpuCores) && isNonNegative(v.memBytes))) bad(`VM ${v.vmId} has an invalid demand (${v.cpuCores} cores, ${v.memBytes} bytes)`);
    if (v.dirtyRateBytesPerSec !== undefined && !isNonNegative(v.dirtyRateBytesPerSec)) bad(`VM ${v.vmId} has an invalid dirty rate (${v.dirtyRateBytesPerSec} B/s)`);
    for (const [q, c] of Object.entries(v.cpuQuantiles ?? {})) if (!isNonNegative(c)) bad(`VM ${v.vmId} has an invalid ${q} CPU forecast (${c} cores)`);
  }
  for (const m of snapshot.recentMoves ?? []) if (!Number.isFinite(m.at)) bad(`recent move of ${m.vmId} has no valid time (${m.at})`);
}

function isNonNegative(x: number): boolean {
  return Number.isFinite(x) && x >= 0;
}

function identityPacking(fleet: Fleet): Packing {
  return { hostOf: Int32Array.from(fleet.items, (it) => it.host), moves: [], unplaced: [] };
}
