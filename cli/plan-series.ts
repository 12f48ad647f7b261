import type { Config, Logger, QuestDbClient } from '../core/index.ts';
import { forecastBands, type ConsolidationPlan, type ConsolidationPolicy, type FleetSnapshot } from '../scheduler/index.ts';
import { writePlanSeries, type PlanSavingsRow, type VmForecastRow } from '../streams/index.ts';

/** The rows a planning cycle leaves for the dashboards: each VM's forecast band and the plan's expected savings. */
export function planSeriesRows(planId: number, plan: ConsolidationPlan, snapshot: FleetSnapshot, policy: ConsolidationPolicy): { forecasts: VmForecastRow[]; savings: PlanSavingsRow } {
  // The planner forecasts the next step: the interval that ends one step after the snapshot.
  const ts = snapshot.takenAt + (snapshot.stepSeconds ?? 300) * 1000;
  const vcpus = new Map(snapshot.vms.map((v) => [v.vmId, v.vcpus]));
  const forecasts = forecastBands(snapshot, policy).map((b) => ({
    ts, madeAt: snapshot.takenAt, vmId: b.vmId, hostId: b.hostId, planId, cpuNow: b.cpuNow,
    p50: b.quantiles.p50!, p90: b.quantiles.p90!, p99: b.quantiles.p99!, vcpus: vcpus.get(b.vmId),
  }));
  const s = plan.expectedSavings;
  const migrations = plan.actions.filter((a) => a.kind === 'migrate').length;
  const summary = plan.cost?.summary;
  return {
    forecasts,
    savings: {
      ts: plan.createdAt, planId, hostsBefore: plan.hostsBefore, hostsAfter: plan.hostsAfter, hostsSaved: plan.hostsSaved,
      migrations, powerOffs: plan.actions.length - migrations,
      watts: s.watts, kWh: s.kWh, netKWh: s.netKWh, migrationCostWh: s.migrationCostWh, horizonHours: s.horizonHours,
      ...(summary?.currency ? { monthlySavings: summary.monthlySavings.total, currency: summary.currency } : {}),
    },
  };
}

/**
 * Writes the cycle's forecasts and savings to QuestDB (streams/plan-series.ts). A failure is
 * logged, not thrown: the plan is already stored and registered, and only the dashboards miss it.
 */
export async function recordPlanSeries(deps: { config: Config; questdb: QuestDbClient; log: Logger }, planId: number, plan: ConsolidationPlan, snapshot: FleetSnapshot, policy: ConsolidationPolicy): Promise<boolean> {
  try {
    await writePlanSeries(deps.config, deps.questdb, planSeriesRows(planId, plan, snapshot, policy));
    return true;
  } catch (err) {
    deps.log.warn({ planId, code: (err as { code?: string }).code, err: err instanceof Error ? err.message : String(err) }, 'forecasts and savings not written to QuestDB');
    return false;
  }
}
