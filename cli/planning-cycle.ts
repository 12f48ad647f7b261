import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Config, Logger, PgPool, QuestDbClient } from '../core/index.ts';
import { dryRunPlan, recordDryRun, UriTemplateDirectory, VirshHypervisor, writeTestNode, type DryRunReport, type HypervisorDirectory } from '../actuators/index.ts';
import { forecast, forecastFleet, type VmForecast } from '../models/index.ts';
import { buildSnapshot, planConsolidation, saveInventory, savePlan, DEFAULT_POLICY, type ActionPlan, type ConsolidationPolicy, type FleetSnapshot } from '../scheduler/index.ts';

/** Registry name of the VM demand forecaster (`./novacron train` registers under it). */
export const FORECAST_MODEL_NAME = 'vm-demand';

export interface CycleResult {
  planId: number;
  plan: ActionPlan;
  forecasts: VmForecast[];
  snapshot: FleetSnapshot;
  dryRun: DryRunReport;
}

/** The hypervisors named by the configured URI template, reached through virsh. */
export function hypervisorDirectory(config: Config): HypervisorDirectory {
  return new UriTemplateDirectory(config.libvirtUriTemplate, (uri) => new VirshHypervisor(uri));
}

/**
 * For simulated fleets: writes one libvirt test-driver node per host, holding the VMs the
 * snapshot says run there, so the dry run checks the plan against hypervisors that agree
 * with the telemetry. Only for `test://` templates.
 */
export async function mirrorFleetToTestNodes(config: Config, snapshot: FleetSnapshot, forecasts: readonly VmForecast[]): Promise<void> {
  const template = config.libvirtUriTemplate;
  if (!template.startsWith('test://')) return;
  const vcpus = new Map(forecasts.map((f) => [f.vmId, f.vcpus]));
  for (const host of snapshot.hosts) {
    const path = template.slice('test://'.length).replace('{host}', host.hostId);
    mkdirSync(dirname(path), { recursive: true });
    const domains = snapshot.vms.filter((v) => v.hostId === host.hostId).map((v) => ({ name: v.vmId, vcpus: Math.max(1, Math.round(vcpus.get(v.vmId) ?? 1)), memBytes: v.memBytes, running: true }));
    await writeTestNode(dirname(path), { hostId: host.hostId, cpus: Math.max(1, Math.round(host.cpuCores)), memBytes: host.memBytes }, domains);
  }
}

/** forecast → snapshot → consolidation plan → store → dry-run against libvirt → audit. */
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
  // The registry's promoted quantile model when there is one; the baselines otherwise.
  const serving = await forecast.servingModel(deps.pool, FORECAST_MODEL_NAME);
  const forecasts = await forecastFleet(deps.questdb, deps.config, { horizonMinutes: 60, now, model: serving?.model, quantile: 0.9 });
  const snapshot = await buildSnapshot(deps.questdb, deps.config, forecasts, now);
  const plan = planConsolidation(snapshot, deps.policy ?? DEFAULT_POLICY);
  const planId = await savePlan(deps.pool, plan);
  await saveInventory(deps.pool, snapshot);
  if (deps.mirrorTestNodes) await mirrorFleetToTestNodes(deps.config, snapshot, forecasts);
  const dryRun = await dryRunPlan(plan, hypervisorDirectory(deps.config));
  await recordDryRun(deps.pool, planId, dryRun);
  deps.log.info({ planId, actions: plan.actions.length, hostsBefore: plan.hostsBefore, hostsAfter: plan.hostsAfter, dryRunOk: dryRun.ok, dryRunBlocked: dryRun.blocked }, 'plan stored');
  return { planId, plan, forecasts, snapshot, dryRun };
}
