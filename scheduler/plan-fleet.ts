import { NovaError } from '../core/index.ts';
import type { MoveBudget } from './budget.ts';
import { costContext, planCost } from './cost/plan-cost.ts';
import { consolidate } from './consolidate.ts';
import { evacuate } from './evacuate.ts';
import { buildFleet } from './fleet-model.ts';
import { FleetState } from './fleet-state.ts';
import { buildPlan, loadsBefore } from './plan-report.ts';
import { resolvePolicy, type ResolvedPolicy } from './policy.ts';
import { relieve } from './relieve.ts';
import { DEFAULT_POLICY, type ConsolidationPlan, type ConsolidationPolicy, type FleetSnapshot } from './types.ts';
import { scheduleWaves } from './waves.ts';

/**
 * NovaCron's one decision function: a fleet snapshot in, an action plan out. The live planning
 * cycle, every replay (PlanetLab, Bitbrains), the benchmarks and what-if calls all call this, with
 * the same defaults; it reads no clock and no server, so a saved snapshot replans to the
 * identical plan.
 *
 * Steps: forecast each VM's next-interval demand (models' forecaster, from its cpuHistory);
 * evacuate hosts in maintenance and fix broken must-rules; relieve overloaded hosts; empty
 * under-used hosts that are worth emptying; group the moves into waves; explain it all; then,
 * when the snapshot carries cost inputs or memory histories, the cost recommendations
 * (rightsizing, burst-out, repatriation, spot vs on-demand) in `plan.cost`.
 */
export function planFleet(snapshot: FleetSnapshot, policy: ConsolidationPolicy = DEFAULT_POLICY): ConsolidationPlan {
  // Cost inputs are checked first, so a bad one fails before any planning; null when there are none.
  const costInputs = costContext(snapshot, policy);
  const plan = planMoves(snapshot, policy);
  // The cost recommendations sit beside the moves and never change them; a snapshot without cost inputs gets no `cost` at all.
  return costInputs ? { ...plan, cost: planCost(costInputs, snapshot, plan) } : plan;
}

/** The moves part of the decision (everything but the cost recommendations); the cost model's what-ifs call it. */
export function planMoves(snapshot: FleetSnapshot, policy: ConsolidationPolicy = DEFAULT_POLICY): ConsolidationPlan {
  const resolved = resolvePolicy(policy);
  validateSnapshot(snapshot, resolved);
  const fleet = buildFleet(snapshot, resolved);
  const state = new FleetState(fleet);
  const before = loadsBefore(state);

  // Every migration of this plan falls in the hour ahead: the hourly budget is what the last hour left.
  const allowed = Math.min(resolved.maxMigrationsPerPlan, Math.max(0, resolved.maxMigrationsPerHour - fleet.history.inLastHour));
  const budget: MoveBudget = { left: allowed };
  const evacuated = evacuate(state, budget);
  const relieved = relieve(state, budget);
  const emptied = consolidate(state, budget);

  const waves = scheduleWaves(state.moves, resolved.maxConcurrentMigrations);
  return buildPlan({
    fleet,
    state,
    before,
    waves,
    forced: { unplaced: [...evacuated.unplaced, ...relieved.unplaced], deferred: [...evacuated.deferred, ...relieved.deferred] },
    emptiedValue: new Map(emptied.map((e) => [e.host, e])),
    allowed,
    policy,
  });
}

/** Refuses a snapshot the planner cannot trust, naming what is wrong (SCHEDULER_INVALID_SNAPSHOT). */
export function validateSnapshot(snapshot: FleetSnapshot, policy: ResolvedPolicy): void {
  const bad = (what: string): never => {
    throw new NovaError('SCHEDULER_INVALID_SNAPSHOT', `${what}; rebuild the snapshot from consistent samples`);
  };
  if (!Number.isFinite(snapshot.takenAt)) bad(`takenAt must be epoch milliseconds, got ${snapshot.takenAt}`);
  if (snapshot.stepSeconds !== undefined && !(Number.isFinite(snapshot.stepSeconds) && snapshot.stepSeconds > 0)) bad(`stepSeconds must be positive, got ${snapshot.stepSeconds}`);
  const hostIds = new Set<string>();
  for (const h of snapshot.hosts) {
    if (hostIds.has(h.hostId)) bad(`host ${h.hostId} appears twice`);
    hostIds.add(h.hostId);
    if (!(isNonNegative(h.cpuCores) && isNonNegative(h.memBytes))) bad(`host ${h.hostId} has an invalid capacity (${h.cpuCores} cores, ${h.memBytes} bytes)`);
    for (const w of [h.idleWatts, h.maxWatts]) if (w !== undefined && !isNonNegative(w)) bad(`host ${h.hostId} has an invalid power figure (${w} W)`);
    if ((h.idleWatts ?? policy.hostIdleWatts) > (h.maxWatts ?? policy.hostMaxWatts)) bad(`host ${h.hostId} draws more idle (${h.idleWatts} W) than at full load (${h.maxWatts} W)`);
    if (h.powerCurveWatts !== undefined && !isValidCurve(h.powerCurveWatts)) bad(`host ${h.hostId} has an invalid powerCurveWatts (need 11 non-decreasing watts at 0 %, 10 %, …, 100 %)`);
    if (h.coreCapacity !== undefined && !(isNonNegative(h.coreCapacity) && h.coreCapacity > 0)) bad(`host ${h.hostId} has an invalid coreCapacity (${h.coreCapacity})`);
    if (h.migrationBandwidthBytesPerSec !== undefined && !(isNonNegative(h.migrationBandwidthBytesPerSec) && h.migrationBandwidthBytesPerSec > 0)) bad(`host ${h.hostId} has an invalid migration bandwidth (${h.migrationBandwidthBytesPerSec} B/s)`);
  }
  const vmIds = new Set<string>();
  for (const v of snapshot.vms) {
    if (vmIds.has(v.vmId)) bad(`VM ${v.vmId} appears twice`);
    vmIds.add(v.vmId);
    if (!hostIds.has(v.hostId)) bad(`VM ${v.vmId} runs on host ${v.hostId}, which the snapshot does not list`);
    if (!(isNonNegative(v.cpuCores) && isNonNegative(v.memBytes))) bad(`VM ${v.vmId} has an invalid demand (${v.cpuCores} cores, ${v.memBytes} bytes)`);
    for (const [field, x] of [['dirtyRateBytesPerSec', v.dirtyRateBytesPerSec], ['transferBytes', v.transferBytes], ['cpuSizeCores', v.cpuSizeCores]] as const) {
      if (x !== undefined && !isNonNegative(x)) bad(`VM ${v.vmId} has an invalid ${field} (${x})`);
    }
    if (v.vcpus !== undefined && !(Number.isFinite(v.vcpus) && v.vcpus > 0)) bad(`VM ${v.vmId} has an invalid vcpus (${v.vcpus})`);
    if (v.cpuHistory !== undefined && !v.cpuHistory.every(isNonNegative)) bad(`VM ${v.vmId} has an invalid cpuHistory (every sample must be a non-negative number of cores)`);
    for (const [q, c] of Object.entries(v.cpuQuantiles ?? {})) if (!isNonNegative(c)) bad(`VM ${v.vmId} has an invalid ${q} CPU forecast (${c} cores)`);
  }
  for (const m of snapshot.recentMoves ?? []) if (!Number.isFinite(m.at)) bad(`recent move of ${m.vmId} has no valid time (${m.at})`);
}

/** 11 finite, non-negative, non-decreasing watts (0 %, 10 %, …, 100 % CPU). */
function isValidCurve(points: readonly number[]): boolean {
  return points.length === 11 && points.every((w, i) => isNonNegative(w) && (i === 0 || w >= points[i - 1]!));
}

function isNonNegative(x: number): boolean {
  return Number.isFinite(x) && x >= 0;
}
