import { NovaError, questdbTable, type Config, type QuestDbClient } from '../core/index.ts';
import { usageSteps, type VmHistory } from '../models/index.ts';
import { compareIds } from './fleet-model.ts';
import type { CostInputs, FleetSnapshot, HostCapacity, VmDemand } from './types.ts';

interface HostRow {
  host_id: string;
  cpu_capacity_cores: number;
  mem_total_bytes: string;
}

/** Options of buildSnapshot. */
export interface SnapshotOptions {
  /** Spacing of the VMs' cpuHistory (default 5 minutes, the planner's horizon). */
  stepMs?: number;
  /** Steps of history per VM (the forecaster reads no more than models' historyNeeded()). */
  steps: number;
  /** What the cost recommendations need beyond telemetry (the configured instance catalog …); absent = no cost section. */
  cost?: CostInputs;
}

/**
 * The live fleet as the planner sees it: every host's capacity from its latest host_samples row
 * at or before `now`, and every VM with its CPU now (latest sample), its CPU history in steps,
 * its size and memory. The replays build the same shape from simulated time.
 */
export async function buildSnapshot(questdb: QuestDbClient, config: Config, histories: readonly VmHistory[], now: number, opts: SnapshotOptions): Promise<FleetSnapshot> {
  const stepMs = opts.stepMs ?? 300_000;
  const table = questdbTable(config, 'host_samples');
  // Rows missing a capacity are skipped so LATEST ON picks the newest row that has one.
  const rows = await questdb.query<HostRow>(
    `SELECT host_id, cpu_capacity_cores, mem_total_bytes
     FROM ${table}
     WHERE ts <= cast($1 AS TIMESTAMP) AND cpu_capacity_cores IS NOT NULL AND mem_total_bytes IS NOT NULL
     LATEST ON ts PARTITION BY host_id`,
    [(BigInt(Math.trunc(now)) * 1000n).toString()],
  );
  const hosts: HostCapacity[] = rows
    .map((r) => ({ hostId: r.host_id, cpuCores: r.cpu_capacity_cores, memBytes: Number(r.mem_total_bytes) }))
    .sort((a, b) => compareIds(a.hostId, b.hostId));

  const known = new Set(hosts.map((h) => h.hostId));
  const orphans = histories.filter((h) => !known.has(h.hostId));
  if (orphans.length > 0) {
    // Inventing a capacity could power off a host we know nothing about; refuse instead.
    const hostIds = [...new Set(orphans.map((h) => h.hostId))].sort(compareIds);
    throw new NovaError(
      'SCHEDULER_HOST_CAPACITY_MISSING',
      `no host_samples row with a capacity for host(s) ${hostIds.join(', ')} (running ${orphans.length} VM(s)); ingest host samples for them or leave their VMs out`,
      { retriable: true, details: { hostIds, vmIds: orphans.map((h) => h.vmId) } },
    );
  }

  const vms: VmDemand[] = histories
    .map((h) => {
      const latest = h.points[h.points.length - 1]!;
      const steps = usageSteps(h.points, now, stepMs, opts.steps);
      const history = steps.cpu.length > 0 ? { cpuHistory: steps.cpu, memUsedHistory: steps.mem } : {};
      return { vmId: h.vmId, hostId: h.hostId, cpuCores: latest.cpuCores, ...history, memBytes: h.memTotalBytes, vcpus: h.vcpus, source: 'telemetry' };
    })
    .sort((a, b) => compareIds(a.vmId, b.vmId));
  return { takenAt: now, stepSeconds: stepMs / 1000, hosts, vms, ...(opts.cost ? { cost: opts.cost } : {}) };
}
