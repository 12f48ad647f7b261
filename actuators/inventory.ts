import type { FleetSnapshot } from '../scheduler/index.ts';
import { isActive, type HypervisorDirectory } from './hypervisor.ts';

/** A host to read, and what the planner should know of it that libvirt does not say. */
export interface InventoryHost {
  hostId: string;
  maintenance?: boolean;
}

/**
 * A fleet snapshot read from the hypervisors alone: each host's CPUs and memory, each running
 * domain with its vCPUs and memory. Without telemetry a VM's CPU is not known; it is taken as
 * `cpuPerVcpu` of each vCPU (a what-if, stated in each VM's source). For hosts that send no
 * samples yet (new hosts, the test hosts); the live cycle plans from telemetry instead.
 */
export async function snapshotFromHypervisors(directory: HypervisorDirectory, hosts: readonly InventoryHost[], opts: { takenAt: number; cpuPerVcpu?: number }): Promise<FleetSnapshot> {
  const perVcpu = opts.cpuPerVcpu ?? 0.1;
  const read = await Promise.all(
    hosts.map(async (h) => {
      const hv = directory.forHost(h.hostId);
      const [node, domains] = await Promise.all([hv.nodeInfo(), hv.listDomains()]);
      return { h, node, domains: domains.filter(isActive) };
    }),
  );
  return {
    takenAt: opts.takenAt,
    hosts: read.map(({ h, node }) => ({ hostId: h.hostId, cpuCores: node.cpus, memBytes: node.memoryBytes, ...(h.maintenance ? { maintenance: true } : {}) })),
    vms: read.flatMap(({ h, domains }) =>
      domains.map((d) => ({ vmId: d.name, hostId: h.hostId, cpuCores: d.vcpus * perVcpu, memBytes: d.memoryBytes, vcpus: d.vcpus, source: `libvirt inventory, CPU assumed ${perVcpu} of each vCPU` })),
    ),
  };
}
