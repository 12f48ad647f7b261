import type { Experiment } from './experiment.ts';

/**
 * CloudSim's PowerVmAllocationPolicySimple at t = 0 (DVFS, NPA): each VM, in id order, goes to
 * the first host that fits its full MIPS on one core, in free MIPS, RAM and bandwidth.
 */
export function firstFitPlacement(exp: Experiment): Int32Array {
  const { hostCount: H, vmCount: N } = exp;
  const available = Float64Array.from(exp.hostMips);
  const ram = Float64Array.from(exp.hostRamMb);
  const bw = Float64Array.from(exp.hostBw);
  const out = new Int32Array(N).fill(-1);
  for (let v = 0; v < N; v++) {
    const mips = exp.vmMips[v]!;
    for (let h = 0; h < H; h++) {
      if (exp.hostCoreMips[h]! >= mips && available[h]! >= mips && ram[h]! >= exp.vmRamMb[v]! && bw[h]! >= exp.vmBw[v]!) {
        available[h] = available[h]! - mips;
        ram[h] = ram[h]! - exp.vmRamMb[v]!;
        bw[h] = bw[h]! - exp.vmBw[v]!;
        out[v] = h;
        break;
      }
    }
  }
  return out;
}

/**
 * CloudSim's PABFD at t = 0 (migration policies): the host whose power rises least, with every
 * host's current power taken as its idle power (nothing runs yet), ties to the lowest id. With
 * no workload attached, VMs already placed request nothing, so the policy's overload test
 * reduces to MIPS_v / C_h > `overloadThreshold` on hosts that already hold a VM.
 */
export function powerAwarePlacement(exp: Experiment, overloadThreshold: number): Int32Array {
  const { hostCount: H, vmCount: N } = exp;
  const available = Float64Array.from(exp.hostMips);
  const allocated = new Float64Array(H);
  const ram = Float64Array.from(exp.hostRamMb);
  const bw = Float64Array.from(exp.hostBw);
  const idle = exp.hostPower.map((p) => p.power(0));
  const out = new Int32Array(N).fill(-1);
  for (let v = 0; v < N; v++) {
    const mips = exp.vmMips[v]!;
    let best = -1;
    let min = Number.MAX_VALUE;
    for (let h = 0; h < H; h++) {
      if (!(exp.hostCoreMips[h]! >= mips && available[h]! >= mips && ram[h]! >= exp.vmRamMb[v]! && bw[h]! >= exp.vmBw[v]!)) continue;
      const C = exp.hostMips[h]!;
      if (allocated[h] !== 0 && mips / C > overloadThreshold) continue;
      const diff = exp.hostPower[h]!.power((allocated[h]! + mips) / C) - idle[h]!;
      if (diff < min) {
        min = diff;
        best = h;
      }
    }
    if (best >= 0) {
      available[best] = available[best]! - mips;
      allocated[best] = allocated[best]! + mips;
      ram[best] = ram[best]! - exp.vmRamMb[v]!;
      bw[best] = bw[best]! - exp.vmBw[v]!;
      out[v] = best;
    }
  }
  return out;
}
