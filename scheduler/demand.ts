import { forecast } from '../models/index.ts';
import { cpuAtQuantile, type ResolvedPolicy } from './policy.ts';
import type { VmDemand } from './types.ts';

/** Fewest one-step errors a host's own spread is measured from; below that only the independent sum counts. */
export const MIN_SHARED_ERRORS = 4;

/**
 * Every VM's next-interval CPU demand, in cores: a level and a spread, and the VM's recent
 * one-step forecast errors (aligned in time, newest first) so that VMs peaking together are
 * seen to. VMs with a cpuHistory are forecast by models' next-interval forecaster, all in one
 * call (errors pool across the fleet); a VM without one is taken at its stated demand (level =
 * its figure at the policy's quantile, no spread).
 */
export interface DemandModel {
  level: Float64Array;
  spread: Float64Array;
  /** CPU used now (latest sample), cores. */
  now: Float64Array;
  /** `window` error slots per VM. */
  errors: Float64Array;
  window: number;
  /** Error slots a host's summed errors are measured over; 0 when there are too few to trust. */
  sharedErrors: number;
  /** What the figures came from, per VM, for explanations. */
  method: string[];
}

/** Forecasts the VMs, given in the planner's order. */
export function forecastDemand(vms: readonly VmDemand[], policy: ResolvedPolicy): DemandModel {
  const N = vms.length;
  const level = new Float64Array(N);
  const spread = new Float64Array(N);
  const now = new Float64Array(N);
  const method: string[] = new Array(N);
  const withHistory: number[] = [];
  for (let i = 0; i < N; i++) {
    const v = vms[i]!;
    now[i] = v.cpuCores;
    if (v.cpuHistory !== undefined && v.cpuHistory.length > 0) withHistory.push(i);
    else {
      level[i] = cpuAtQuantile(v.cpuCores, v.cpuQuantiles, policy.cpuQuantile);
      method[i] = v.source ?? (v.cpuQuantiles ? 'stated forecast' : 'stated demand');
    }
  }
  const f = forecast.forecastNextInterval(withHistory.map((i) => ({ history: vms[i]!.cpuHistory!, size: sizeOf(vms[i]!) })));
  const W = f.window;
  const errors = new Float64Array(N * W);
  withHistory.forEach((i, k) => {
    level[i] = f.level[k]!;
    spread[i] = f.spread[k]!;
    errors.set(f.errors.subarray(k * W, (k + 1) * W), i * W);
    method[i] = `next-interval forecast of ${vms[i]!.cpuHistory!.length} samples${vms[i]!.source ? `, ${vms[i]!.source}` : ''}`;
  });
  return { level, spread, now, errors, window: W, sharedErrors: f.errorCount >= MIN_SHARED_ERRORS ? Math.min(W, f.errorCount) : 0, method };
}

/** The VM's configured CPU, which its forecast errors are measured against. */
function sizeOf(v: VmDemand): number {
  if (v.cpuSizeCores !== undefined && v.cpuSizeCores > 0) return v.cpuSizeCores;
  if (v.vcpus !== undefined && v.vcpus > 0) return v.vcpus;
  let peak = v.cpuCores;
  for (const x of v.cpuHistory!) if (x > peak) peak = x;
  // A VM that never used any CPU still needs a scale: one core.
  return peak > 0 ? peak : 1;
}
