import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Config, Logger, PgPool, QuestDbClient } from '../core/index.ts';
import { dryRunPlan, hypervisorFactory, recordDryRun, UriTemplateDirectory, writeTestNode, type DryRunReport, type HypervisorDirectory, type PlanState } from '../actuators/index.ts';
import { registerPlan } from './execution.ts';
import { recordPlanSeries } from './plan-series.ts';
import { forecast, loadVmHistory } from '../models/index.ts';
import { buildSnapshot, loadCatalogFile, planFleet, saveInventory, savePlan, DEFAULT_POLICY, type ConsolidationPlan, type ConsolidationPolicy, type FleetSnapshot } from '../scheduler/index.ts';

/** Registry name of the VM demand forecaster (`./novacron train` registers under it). */
export const FORECAST_MODEL_NAME = 'vm-demand';

/** Spacing of the history the planner forecasts from: its horizon, the replays' tick. */
export const PLANNING_STEP_MS = 300_000;

export interface CycleResult {
  planId: number;
  plan: ConsolidationPlan;
  snapshot: FleetSnapshot;
  dryRun: DryRunReport;
  /** The plan's execution state once registered: approved (full automation) or proposed. */
  execution: PlanState;
}

/** The hypervisors named by the configured URIs (explicit ones, else the template), through the configured adapter. */
export function hypervisorDirectory(config: Config): HypervisorDirectory {
  return new UriTemplateDirectory(config.libvirtUriTemplate, hypervisorFactory(config.hypervisorAdapter), config.libvirtUris);
}

/**
 * For simulated fleets: writes one libvirt test-driver node per host, holding the VMs the
 * snapshot says run there, so the dry run checks the plan against hypervisors that agree
 * with the telemetry. Only for `test://` templates.
 */
export async function mirrorFleetToTestNodes(config: Config, snapshot: FleetSnapshot): Promise<void> {
  const template = config.libvirtUriTemplate;
  if (!template.startsWith('test://')) return;
  for (const host of snapshot.hosts) {
    const path = template.slice('test://'.length).replace('{host}', host.hostId);
    mkdirSync(dirname(path), { recursive: true });
    const domains = snapshot.vms.filter((v) => v.hostId === host.hostId).map((v) => ({ name: v.vmId, vcpus: Math.max(1, Math.round(v.vcpus ?? 1)), memBytes: v.memBytes, running: true }));
    await writeTestNode(dirname(path), { hostId: host.hostId, cpus: Math.max(1, Math.round(host.cpuCores)), memBytes: host.memBytes }, domains);
  }
}

/**
 * The live fleet from QuestDB as of `now`: host capacities and each VM's recent CPU and memory use
 * in planning steps, plus the configured instance catalog (NOVACRON_CLOUD_CATALOG) for the plan's
 * cost recommendations.
 */
export async function liveSnapshot(questdb: QuestDbClient, config: Config, now: number): Promise<FleetSnapshot> {
  const steps = forecast.historyNeeded();
  const histories = await loadVmHistory(questdb, config, { lookbackMinutes: (steps * PLANNING_STEP_MS) / 60_000, until: now });
  const catalog = config.cloudCatalogPath ? await loadCatalogFile(config.cloudCatalogPath) : undefined;
  return buildSnapshot(questdb, config, histories, now, { stepMs: PLANNING_STEP_MS, steps, ...(catalog ? { cost: { catalog } } : {}) });
}

/** snapshot → the one decision function → store → dry-run against libvirt → audit. */
export async function runPlanningCycle(deps: {
  config: Config;
  questdb: QuestDbClient;
  pool: PgPool;
  log: Logger;
  now?: number;
  policy?: ConsolidationPolicy;
  mirrorTestNodes?: boolean;
}): Promise<CycleResult> {
  const now = deps.now ?? Date.now();
  const snapshot = await liveSnapshot(deps.questdb, deps.config, now);
  const policy = deps.policy ?? DEFAULT_POLICY;
  const plan = planFleet(snapshot, policy);
  const planId = await savePlan(deps.pool, plan);
  // For the dashboards (grafana/): the forecast band and expected savings as QuestDB series.
  await recordPlanSeries(deps, planId, plan, snapshot, policy);
  // Registered for execution: approved where the automation levels allow, else waiting for a person.
  const execution = await registerPlan(deps.pool, deps.config, planId, plan.actions, 'planner');
  await saveInventory(deps.pool, snapshot);
  if (deps.mirrorTestNodes) await mirrorFleetToTestNodes(deps.config, snapshot);
  const dryRun = await dryRunPlan(plan, hypervisorDirectory(deps.config));
  await recordDryRun(deps.pool, planId, dryRun);
  deps.log.info({ planId, actions: plan.actions.length, hostsBefore: plan.hostsBefore, hostsAfter: plan.hostsAfter, dryRunOk: dryRun.ok, dryRunBlocked: dryRun.blocked }, 'plan stored');
  return { planId, plan, snapshot, dryRun, execution: execution.state };
}
