import { forecastDemand } from './demand.ts';
import { compareIds } from './fleet-model.ts';
import { cpuAtQuantile, resolvePolicy } from './policy.ts';
import { DEFAULT_POLICY, type ConsolidationPolicy, type FleetSnapshot } from './types.ts';

/** Quantiles a forecast band shows by default. */
export const BAND_QUANTILES = ['p50', 'p90', 'p99'] as const;

/** One VM's next-interval CPU forecast (cores) at several quantiles. */
export interface VmCpuBand {
  vmId: string;
  hostId: string;
  /** CPU used at the snapshot's time (latest sample), cores. */
  cpuNow: number;
  /** Cores at each quantile key asked for ('p50', 'p90', …). */
  quantiles: Record<string, number>;
  /** What the figures came from (the planner's explanation text). */
  method: string;
}

/**
 * Every VM's forecast band exactly as planFleet sees it: the same forecaster on the same VMs in
 * the same (id) order, so the fleet-pooled spread is the planner's, and each quantile is
 * level + z·spread with the z the policy resolves for that key (a moved VM's p90 equals the
 * cpuCores of its migrate action under the default policy). A VM without history is taken at its
 * stated figures. For dashboards and explanations; the plan itself never reads this.
 */
export function forecastBands(snapshot: FleetSnapshot, policy: ConsolidationPolicy = DEFAULT_POLICY, keys: readonly string[] = BAND_QUANTILES): VmCpuBand[] {
  const resolved = resolvePolicy(policy);
  // resolvePolicy checks each key and turns it into the z the planner would use for it.
  const zs = keys.map((k) => resolvePolicy({ ...policy, cpuQuantile: k }).z);
  const vms = [...snapshot.vms].sort((a, b) => compareIds(a.vmId, b.vmId));
  const demand = forecastDemand(vms, resolved);
  return vms.map((v, i) => {
    const forecast = v.cpuHistory !== undefined && v.cpuHistory.length > 0;
    const quantiles: Record<string, number> = {};
    keys.forEach((k, j) => {
      quantiles[k] = forecast ? demand.level[i]! + zs[j]! * demand.spread[i]! : cpuAtQuantile(v.cpuCores, v.cpuQuantiles, k);
    });
    return { vmId: v.vmId, hostId: v.hostId, cpuNow: v.cpuCores, quantiles, method: demand.method[i]! };
  });
}
