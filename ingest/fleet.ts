import type { HostSample, VmSample } from '../schemas/index.ts';

export const GIB = 1024 ** 3;

export interface SimHost {
  hostId: string;
  cpuCores: number;
  memBytes: number;
}

export interface SimVm {
  vmId: string;
  hostId: string;
  vcpus: number;
  memBytes: number;
}

/** One sampling instant of a whole fleet. */
export interface FleetTick {
  ts: number;
  hosts: HostSample[];
  vms: VmSample[];
}

/** Something that can say what every VM did at step k (synthetic model or trace replay). */
export interface FleetSource {
  readonly hosts: readonly SimHost[];
  readonly vms: readonly SimVm[];
  readonly stepMs: number;
  /** Steps available; Infinity for generators. */
  readonly steps: number;
  tick(step: number, ts: number): FleetTick;
}

/** Hypervisor overhead on top of the VMs' own use: what the host sample adds. */
const HOST_OVERHEAD_CORES = 0.2;
const HOST_OVERHEAD_MEM = 2 * GIB;

/** Host samples are the sum of their VMs' samples plus hypervisor overhead. */
export function hostSamplesFor(hosts: readonly SimHost[], vms: readonly VmSample[], ts: number): HostSample[] {
  const byHost = new Map<string, HostSample>();
  for (const h of hosts) {
    byHost.set(h.hostId, {
      ts, hostId: h.hostId, cpuUsedCores: HOST_OVERHEAD_CORES, cpuCapacityCores: h.cpuCores,
      memUsedBytes: HOST_OVERHEAD_MEM, memTotalBytes: h.memBytes,
      diskReadBps: 0, diskWriteBps: 0, netRxBps: 0, netTxBps: 0, cpuStealPct: 0,
    });
  }
  for (const v of vms) {
    const h = byHost.get(v.hostId);
    if (!h) continue;
    h.cpuUsedCores += v.cpuUsedCores;
    h.memUsedBytes += v.memUsedBytes;
    h.diskReadBps += v.diskReadBps;
    h.diskWriteBps += v.diskWriteBps;
    h.netRxBps += v.netRxBps;
    h.netTxBps += v.netTxBps;
  }
  for (const h of byHost.values()) {
    const over = h.cpuUsedCores - h.cpuCapacityCores;
    // Demand beyond capacity shows up as steal, not as more than 100 % use.
    h.cpuStealPct = over > 0 ? Math.min(100, (100 * over) / h.cpuCapacityCores) : 0;
    h.cpuUsedCores = Math.min(h.cpuUsedCores, h.cpuCapacityCores);
    h.memUsedBytes = Math.min(h.memUsedBytes, h.memTotalBytes);
  }
  return [...byHost.values()];
}
