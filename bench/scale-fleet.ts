import { forecast } from '../models/index.ts';
import type { FleetSnapshot } from '../scheduler/index.ts';

const GIB = 1024 ** 3;
const HOST_SHAPES = [
  { cpuCores: 32, memBytes: 128 * GIB },
  { cpuCores: 48, memBytes: 192 * GIB },
  { cpuCores: 64, memBytes: 256 * GIB },
  { cpuCores: 96, memBytes: 512 * GIB },
];
const VM_SHAPES = [
  { vcpus: 1, memBytes: 2 * GIB },
  { vcpus: 2, memBytes: 4 * GIB },
  { vcpus: 2, memBytes: 8 * GIB },
  { vcpus: 4, memBytes: 8 * GIB },
  { vcpus: 4, memBytes: 16 * GIB },
  { vcpus: 8, memBytes: 32 * GIB },
  { vcpus: 16, memBytes: 64 * GIB },
];

/** History samples per VM: as many as the planner's forecaster reads. */
const HISTORY_STEPS = forecast.historyNeeded();

/** A seeded fleet where every host starts within its targets (VMs round-robin, light load), each VM with its CPU history. */
export function scaleFleet(hostCount: number, vmCount: number, rand: () => number): FleetSnapshot {
  const hosts = Array.from({ length: hostCount }, (_, i) => ({ hostId: `h${String(i).padStart(6, '0')}`, ...HOST_SHAPES[Math.floor(rand() * HOST_SHAPES.length)]! }));
  const cpuFree = hosts.map((h) => h.cpuCores * 0.8);
  const memFree = hosts.map((h) => h.memBytes);
  const vms = [];
  for (let i = 0; i < vmCount; i++) {
    const shape = VM_SHAPES[Math.floor(rand() * VM_SHAPES.length)]!;
    const cpu = shape.vcpus * (0.05 + 0.35 * rand() * rand());
    let h = i % hostCount;
    for (let tries = 0; tries < hostCount && (cpuFree[h]! < cpu || memFree[h]! < shape.memBytes); tries++) h = (h + 1) % hostCount;
    cpuFree[h]! -= cpu;
    memFree[h]! -= shape.memBytes;
    // Five hours of 5-minute history (what the live cycle reads): jitter around the VM's level.
    const cpuHistory = Array.from({ length: HISTORY_STEPS }, () => Math.min(shape.vcpus, cpu * (0.8 + 0.4 * rand())));
    vms.push({ vmId: `v${String(i).padStart(7, '0')}`, hostId: hosts[h]!.hostId, cpuCores: cpuHistory[HISTORY_STEPS - 1]!, cpuHistory, vcpus: shape.vcpus, memBytes: shape.memBytes });
  }
  return { takenAt: 0, stepSeconds: 300, hosts, vms };
}

/**
 * The textbook baseline: sort VMs by size, put each on the first host (in id order) where it
 * fits, ignoring where it runs now. Linear scan per VM with an early skip of full hosts.
 */
export function plainFirstFitDecreasing(snapshot: FleetSnapshot, cpuTarget: number): { hostsAfter: number; migrations: number } {
  const hosts = snapshot.hosts;
  const cpu = new Float64Array(hosts.length);
  const mem = new Float64Array(hosts.length);
  const index = new Map(hosts.map((h, i) => [h.hostId, i]));
  const order = [...snapshot.vms].sort((a, b) => b.cpuCores - a.cpuCores || b.memBytes - a.memBytes);
  let migrations = 0;
  let firstOpen = 0;
  const used = new Uint8Array(hosts.length);
  for (const v of order) {
    let placed = -1;
    for (let h = firstOpen; h < hosts.length; h++) {
      if (cpu[h]! + v.cpuCores <= hosts[h]!.cpuCores * cpuTarget && mem[h]! + v.memBytes <= hosts[h]!.memBytes) {
        placed = h;
        break;
      }
    }
    if (placed < 0) placed = index.get(v.hostId)!;
    cpu[placed]! += v.cpuCores;
    mem[placed]! += v.memBytes;
    used[placed] = 1;
    if (hosts[placed]!.hostId !== v.hostId) migrations++;
    while (firstOpen < hosts.length && hosts[firstOpen]!.cpuCores * cpuTarget - cpu[firstOpen]! < 0.05) firstOpen++;
  }
  return { hostsAfter: used.reduce((s, u) => s + u, 0), migrations };
}
