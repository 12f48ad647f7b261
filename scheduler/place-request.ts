import { cheapestPlacement, type CloudConstraints, type InstanceCatalog } from './cost/index.ts';
import type { PlacementState } from './placement.ts';

/** A request for a new VM: its size, its predicted demand, and where it may go. */
export interface VmPlacementRequest extends CloudConstraints {
  vmId: string;
  vcpus: number;
  memBytes: number;
  /** Predicted p95 CPU in cores; the full vCPU count when nothing better is known (no overcommit risk). */
  expectedCpuCores?: number;
  antiAffinityGroup?: string;
  allowedHosts?: readonly string[];
  /** 'on-prem' or 'cloud' only; both (on-prem first) by default. */
  target?: 'on-prem' | 'cloud' | 'any';
}

export type PlacementOutcome =
  | { target: 'host'; hostId: string; reason: string }
  | { target: 'cloud'; provider: string; region: string; zone?: string; instanceType: string; pricing: string; pricePerHour: number; currency: string; reason: string }
  | { target: 'none'; reason: string };

/**
 * One placement decision over the whole estate: an on-prem host under the policy's targets
 * (best fit on predicted demand) when one may take the VM, else the cheapest cloud offer that
 * holds it and is allowed, else none — each with the reason and its numbers.
 */
export function placeRequest(state: PlacementState | null, req: VmPlacementRequest, catalog?: InstanceCatalog): PlacementOutcome {
  const where = req.target ?? 'any';
  const reasons: string[] = [];
  if (where !== 'cloud') {
    if (!state) reasons.push('no on-prem inventory yet');
    else {
      const decision = state.place({ vmId: req.vmId, cpuCores: req.expectedCpuCores ?? req.vcpus, memBytes: req.memBytes, antiAffinityGroup: req.antiAffinityGroup, allowedHosts: req.allowedHosts });
      if (decision) return { target: 'host', hostId: decision.hostId, reason: decision.reason };
      reasons.push(`no on-prem host takes ${req.vmId} under the policy's targets${req.allowedHosts ? ' among the allowed hosts' : ''}`);
    }
  }
  if (where !== 'on-prem') {
    if (!catalog) reasons.push('no cloud catalog is configured (NOVACRON_CLOUD_CATALOG)');
    else {
      const cloud = cheapestPlacement({ vmId: req.vmId, vcpus: req.vcpus, memBytes: req.memBytes, allowedProviders: req.allowedProviders, allowedRegions: req.allowedRegions, allowedZones: req.allowedZones, spotAllowed: req.spotAllowed }, catalog, { spotAllowed: req.spotAllowed ?? false });
      if (cloud.choice) {
        const it = cloud.choice.instance;
        return {
          target: 'cloud', provider: it.provider, region: it.region, zone: it.zone, instanceType: it.instanceType,
          pricing: cloud.choice.pricing, pricePerHour: cloud.choice.pricePerHour, currency: catalog.currency,
          reason: [...reasons, cloud.reason].join('; '),
        };
      }
      reasons.push(cloud.reason);
    }
  }
  return { target: 'none', reason: reasons.join('; ') };
}
