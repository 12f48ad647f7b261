import { NovaError } from '../core/index.ts';
import { buildFleet } from './fleet-model.ts';
import { FleetState } from './fleet-state.ts';
import { resolvePolicy } from './policy.ts';
import { DEFAULT_POLICY, type ConsolidationPolicy, type FleetSnapshot } from './types.ts';

/** A new VM to place: its predicted demand and the rules it must obey. */
export interface PlacementRequest {
  vmId: string;
  /** Predicted CPU in cores (the vCPU count when nothing better is known). */
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
 * Placement of new VMs over a fleet snapshot, by the planner's own rules (FleetState): the
 * running VMs count at their forecast (level and spread, as the planner sees them), a host takes
 * a VM while its predicted quantile stays under its cluster's target, the most efficient class of
 * running hosts is filled first, fullest host first, and an empty host is woken only when no
 * running host fits. `place` records each decision, so a burst of requests sees the earlier ones.
 */
export class PlacementState {
  private readonly state: FleetState;
  private readonly hostIndex = new Map<string, number>();
  private readonly groups = new Map<string, Set<number>>();

  constructor(snapshot: FleetSnapshot, policy: ConsolidationPolicy = DEFAULT_POLICY, opts: { maintenance?: readonly string[]; groupOf?: (vmId: string) => string | undefined } = {}) {
    const inMaintenance = new Set(opts.maintenance ?? []);
    const hosts = snapshot.hosts.map((h) => (inMaintenance.has(h.hostId) ? { ...h, maintenance: true } : h));
    this.state = new FleetState(buildFleet({ ...snapshot, hosts, recentMoves: [] }, resolvePolicy(policy)));
    for (const h of this.state.fleet.hosts) this.hostIndex.set(h.id, h.index);
    for (const v of this.state.fleet.vms) {
      const g = opts.groupOf?.(v.id);
      if (g !== undefined) this.join(g, v.host);
    }
  }

  private join(group: string, h: number): void {
    let at = this.groups.get(group);
    if (!at) this.groups.set(group, (at = new Set()));
    at.add(h);
  }

  /** The host for a new VM (recorded), or null when no host may take it. Deterministic. */
  place(req: PlacementRequest): PlacementDecision | null {
    if (!(Number.isFinite(req.cpuCores) && req.cpuCores >= 0 && Number.isFinite(req.memBytes) && req.memBytes >= 0)) {
      throw new NovaError('SCHEDULER_INVALID_REQUEST', `VM ${req.vmId}: cpuCores and memBytes must be non-negative numbers`);
    }
    const banned = req.antiAffinityGroup !== undefined ? this.groups.get(req.antiAffinityGroup) : undefined;
    const allowed = req.allowedHosts ? new Set(req.allowedHosts.map((id) => this.hostIndex.get(id)).filter((h): h is number => h !== undefined)) : undefined;
    const probe = { cpu: req.cpuCores, mem: req.memBytes };
    const s = this.state;
    const h = s.targetForProbe(probe, (h) => !banned?.has(h) && (allowed === undefined || allowed.has(h)) && s.fitsProbe(h, probe));
    if (h < 0) return null;
    const host = s.fleet.hosts[h]!;
    const z = s.fleet.policy.z;
    const running = s.isRunning(h);
    const before = s.utilization(h, z);
    s.placeProbe(h, probe);
    if (req.antiAffinityGroup !== undefined) this.join(req.antiAffinityGroup, h);
    return {
      hostId: host.id,
      reason:
        `${req.vmId} (${req.cpuCores.toFixed(2)} cores, ${(req.memBytes / 1024 ** 3).toFixed(1)} GiB) on ${host.id}: ` +
        `${running ? 'the fullest running host of the most efficient class that takes it' : 'no running host had room, so the most efficient empty one'}; ` +
        `predicted ${s.fleet.policy.cpuQuantile} ${(before * 100).toFixed(0)}% → ${(s.utilization(h, z) * 100).toFixed(0)}% of ${host.cpu.toFixed(2)} cores (target ${(host.cpuTarget * 100).toFixed(0)}%)`,
    };
  }
}
