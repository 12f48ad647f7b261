import { NovaError, questdbTable, type Config, type QuestDbClient } from '../core/index.ts';
import type { VmForecast } from '../models/index.ts';
import type { FleetSnapshot, HostCapacity, VmDemand } from './types.ts';

interface HostRow {
  host_id: string;
  cpu_capacity_cores: number;
  mem_total_bytes: string;
}

/**
 * Fleet snapshot for planning: every host's capacity from its latest host_samples row at or
 * before `now`, and each forecast as a VM demand (p95 CPU; memory reserved at the VM's full size).
 */
export async function buildSnapshot(questdb: QuestDbClient, config: Config, forecasts: readonly VmForecast[], now: number = Date.now()): Promise<FleetSnapshot> {
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
  const orphans = forecasts.filter((f) => !known.has(f.hostId));
  if (orphans.length > 0) {
    // Inventing a capacity could power off a host we know nothing about; refuse instead.
    const hostIds = [...new Set(orphans.map((f) => f.hostId))].sort(compareIds);
    throw new NovaError(
      'SCHEDULER_HOST_CAPACITY_MISSING',
      `no host_samples row with a capacity for host(s) ${hostIds.join(', ')} (running ${orphans.length} forecast VM(s)); ingest host samples for them or leave their VMs out of the forecasts`,
      { retriable: true, details: { hostIds, vmIds: orphans.map((f) => f.vmId) } },
    );
  }

  const vms: VmDemand[] = forecasts
    .map((f) => ({ vmId: f.vmId, hostId: f.hostId, cpuCores: f.p95CpuCores, memBytes: f.memTotalBytes, source: f.method }))
    .sort((a, b) => compareIds(a.vmId, b.vmId));
  return { takenAt: now, hosts, vms };
}

// Code-unit order, independent of locale, so every process sorts ids the same way.
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
