import { NovaError } from '../core/index.ts';
import type { FleetSnapshot } from './types.ts';
import { DEFAULT_POLICY, type ConsolidationPolicy } from './types.ts';

/** A new VM to place: its predicted demand and the rules it must obey. */
export interface PlacementRequest {
  vmId: string;
  /** Predicted p95 CPU in cores (the vCPU count when nothing better is known). */
  cpuCores: number;
  memBytes: number;
  /** VMs of one anti-affinity group never share a host (a must-rule). */
  antiAffinityGroup?: string;
  /** When given, only these hosts are candidates (VM-host affinity, zones). */
  allowedHosts?: readonly string[];
}

export interface PlacementDecision {
  hostId: string;
  /** Why this host, with the numbers. */
  reason: string;
}

/**
 * Live placement state over a fleet snapshot: per-host predicted load, hosts in maintenance, and
 * anti-affinity groups. `place` picks a host and records the VM, so a burst of requests sees
 * each earlier decision.
 */
export class PlacementState {
  private readonly ids: string[];
  private readonly cpuCap: Float64Array;
  private readonly memCap: Float64Array;
  private readonly cpu: Float64Array;
  private readonly mem: Float64Array;
  private readonly vmCount: Int32Array;
  private readonly index = new Map<string, number>();
  private readonly groups = new Map<string, Set<number>>();
  private readonly maintenance: Set<number>;

  constructor(snapshot: FleetSnapshot, private readonly policy: ConsolidationPolicy = DEFAULT_POLICY, opts: { maintenance?: readonly string[]; groupOf?: (vmId: string) => string | undefined } = {}) {
    const n = snapshot.hosts.length;
    this.ids = snapshot.hosts.map((h) => h.hostId);
    // Each host under its cluster's targets (its overcommit ratios), as the consolidation planner does.
    const targets = (h: FleetSnapshot['hosts'][number]) => (h.cluster !== undefined ? policy.clusters?.[h.cluster] : undefined);
    this.cpuCap = Float64Array.from(snapshot.hosts, (h) => h.cpuCores * (targets(h)?.cpuTargetUtilization ?? policy.cpuTargetUtilization));
    this.memCap = Float64Array.from(snapshot.hosts, (h) => h.memBytes * (targets(h)?.memTargetUtilization ?? policy.memTargetUtilization));
    this.cpu = new Float64Array(n);
    this.mem = new Float64Array(n);
    this.vmCount = new Int32Array(n);
    this.ids.forEach((id, i) => this.index.set(id, i));
    for (const v of snapshot.vms) {
      const h = this.index.get(v.hostId);
      if (h === undefined) throw new NovaError('SCHEDULER_INVALID_SNAPSHOT', `VM ${v.vmId} runs on unknown host ${v.hostId}`);
      this.record(h, v.cpuCores, v.memBytes, opts.groupOf?.(v.vmId));
    }
    const inMaintenance = [...(opts.maintenance ?? []), ...snapshot.hosts.filter((h) => h.maintenance).map((h) => h.hostId)];
    this.maintenance = new Set(inMaintenance.map((id) => this.index.get(id)).filter((h): h is number => h !== undefined));
  }

  private record(h: number, cpu: number, mem: number, group: string | undefined): void {
    this.cpu[h]! += cpu;
    this.mem[h]! += mem;
    this.vmCount[h]! += 1;
    if (group !== undefined) {
      let hosts = this.groups.get(group);
      if (!hosts) this.groups.set(group, (hosts = new Set()));
      hosts.add(h);
    }
  }

  /**
   * Best fit: among running hosts where the VM fits under the policy's targets, the one left
   * with the least CPU room (packs tightly, keeps empty hosts off); an empty host only when no
   * running host fits. Returns null when no host may take it. Deterministic (ties: host order).
   */
  place(req: PlacementRequest): PlacementDecision | null {
    if (!(req.cpuCores >= 0 && req.memBytes >= 0)) throw new NovaError('SCHEDULER_INVALID_REQUEST', `VM ${req.vmId}: cpuCores and memBytes must be non-negative numbers`);
    const banned = req.antiAffinityGroup !== undefined ? this.groups.get(req.antiAffinityGroup) : undefined;
    const allowed = req.allowedHosts ? new Set(req.allowedHosts.map((id) => this.index.get(id)).filter((h): h is number => h !== undefined)) : undefined;
    let best = -1;
    let bestRoom = Infinity;
    let bestRunning = false;
    for (let h = 0; h < this.ids.length; h++) {
      if (this.maintenance.has(h) || banned?.has(h) || (allowed && !allowed.has(h))) continue;
      const cpuAfter = this.cpu[h]! + req.cpuCores;
      if (cpuAfter > this.cpuCap[h]! || this.mem[h]! + req.memBytes > this.memCap[h]!) continue;
      const running = this.vmCount[h]! > 0;
      const room = (this.cpuCap[h]! - cpuAfter) / this.cpuCap[h]!;
      if ((running && !bestRunning) || (running === bestRunning && room < bestRoom)) {
        best = h;
        bestRoom = room;
        bestRunning = running;
      }
    }
    if (best < 0) return null;
    const before = this.cpu[best]!;
    this.record(best, req.cpuCores, req.memBytes, req.antiAffinityGroup);
    return {
      hostId: this.ids[best]!,
      reason: `${req.vmId} (${req.cpuCores.toFixed(2)} cores predicted p95, ${(req.memBytes / 1024 ** 3).toFixed(1)} GiB) on ${this.ids[best]}: ` +
        `${bestRunning ? 'the running host it fits most tightly' : 'no running host had room, so an empty one'}; CPU ${before.toFixed(2)} → ${this.cpu[best]!.toFixed(2)} of ${this.cpuCap[best]!.toFixed(2)} target cores`,
    };
  }
}
