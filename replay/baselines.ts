import { hostsByEfficiency, type Experiment } from './experiment.ts';
import type { BacktestPolicy } from './policy.ts';

/**
 * Each VM's peak requested MIPS over the whole trace: the largest sample times its MIPS
 * (interpolated demand never exceeds the samples around it). Looks at the future on purpose:
 * only the clairvoyant static baseline may use it.
 */
export function peakDemandMips(exp: Experiment): Float64Array {
  const out = new Float64Array(exp.vmCount);
  for (let v = 0; v < exp.vmCount; v++) {
    const u = exp.workload.utilization[v]!;
    let peak = 0;
    for (let k = 0; k < u.length; k++) if (u[k]! > peak) peak = u[k]!;
    out[v] = peak * exp.vmMips[v]!;
  }
  return out;
}

/**
 * First-fit-decreasing on peaks: VMs by peak demand (largest first, ids ascending on ties) go to
 * the first host, most energy-efficient first, whose one core holds the VM's peak and whose
 * summed peaks stay within its MIPS. Such a host can never be oversubscribed, so a VM that no
 * host takes is left unplaced (−1) rather than squeezed in.
 */
export function staticPeakFfdPlacement(exp: Experiment, peaks: Float64Array = peakDemandMips(exp)): Int32Array {
  const order = Array.from({ length: exp.vmCount }, (_, v) => v).sort((a, b) => peaks[b]! - peaks[a]! || a - b);
  const hosts = hostsByEfficiency(exp);
  const used = new Float64Array(exp.hostCount);
  const out = new Int32Array(exp.vmCount).fill(-1);
  for (const v of order) {
    const peak = peaks[v]!;
    for (const h of hosts) {
      if (peak <= exp.hostCoreMips[h]! && used[h]! + peak <= exp.hostMips[h]!) {
        used[h] = used[h]! + peak;
        out[v] = h;
        break;
      }
    }
  }
  return out;
}

/**
 * Static peak-based FFD, an offline baseline: VMs are placed once at t = 0 on their peak demand
 * over the whole trace (clairvoyant sizing, which no online policy has) and never migrate; hosts
 * left without demand are off, as in every power-model run. RAM is not packed, because no
 * policy of this experiment is held to RAM after t = 0 (CloudSim's rule).
 */
export function staticPeakFfdPolicy(): BacktestPolicy {
  return { name: 'static peak FFD (clairvoyant)', energyModel: 'power-model', placeInitial: (exp) => staticPeakFfdPlacement(exp), plan: () => [] };
}
