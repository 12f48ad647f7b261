import { NovaError } from '../core/index.ts';
import { HP_PROLIANT_ML110_G4, HP_PROLIANT_ML110_G5, type PowerModel } from './power.ts';
import { vmKeyHashes } from './java-hash-order.ts';
import type { Workload } from './workload.ts';

/** A kind of physical host. */
export interface HostType {
  readonly name: string;
  readonly cores: number;
  readonly coreMips: number;
  readonly ramMb: number;
  /** Network bandwidth in CloudSim units (1,000,000 = 1 Gbit/s). */
  readonly bw: number;
  readonly power: PowerModel;
}

/** A kind of VM (1 vCPU in the PlanetLab experiment). */
export interface VmType {
  readonly name: string;
  readonly mips: number;
  readonly ramMb: number;
  readonly bw: number;
}

/** CloudSim power examples: host i has type i mod 2. */
export const PLANETLAB_HOST_TYPES: readonly HostType[] = [
  { name: 'HP ML110 G4', cores: 2, coreMips: 1860, ramMb: 4096, bw: 1_000_000, power: HP_PROLIANT_ML110_G4 },
  { name: 'HP ML110 G5', cores: 2, coreMips: 2660, ramMb: 4096, bw: 1_000_000, power: HP_PROLIANT_ML110_G5 },
];

/** CloudSim power examples: EC2-like types with halved RAM; VM i gets floor(i / ceil(N/4)). */
export const PLANETLAB_VM_TYPES: readonly VmType[] = [
  { name: 'high-cpu medium', mips: 2500, ramMb: 870, bw: 100_000 },
  { name: 'extra large', mips: 2000, ramMb: 1740, bw: 100_000 },
  { name: 'small', mips: 1000, ramMb: 1740, bw: 100_000 },
  { name: 'micro', mips: 500, ramMb: 613, bw: 100_000 },
];

/**
 * Everything a run needs that does not depend on the policy, flattened into typed arrays
 * (the simulator and planners index them in hot loops).
 */
export interface Experiment {
  readonly workload: Workload;
  readonly hostCount: number;
  readonly vmCount: number;
  readonly hostTypes: readonly HostType[];
  readonly vmTypes: readonly VmType[];
  readonly hostType: Uint8Array;
  readonly hostCoreMips: Float64Array;
  /** Total MIPS C of each host (sum over its cores). */
  readonly hostMips: Float64Array;
  readonly hostRamMb: Float64Array;
  readonly hostBw: Float64Array;
  readonly hostPower: readonly PowerModel[];
  /** Index into `vmTypes` of each VM (a trace replay may give every VM its own type). */
  readonly vmType: Uint16Array;
  readonly vmMips: Float64Array;
  readonly vmRamMb: Float64Array;
  readonly vmBw: Float64Array;
  /** Seconds between decision ticks (and between trace samples). */
  readonly interval: number;
  /** Time the workload is attached; tick k happens at attach + k·interval. */
  readonly attachTime: number;
  /** Number of decision ticks (287 for a 288-sample day: 300.1 s … 86,100.1 s). */
  readonly ticks: number;
  /**
   * Order in which a host's CPU claims are re-granted after a VM leaves and summed when it is
   * oversubscribed. 'java-hashmap' (default) reproduces CloudSim's HashMap order and so its
   * rounding: every published row matches, THR-MMT 1.0 included. 'list' uses the VM list order,
   * as the spec's re-implementation does: THR 1.0 then drifts from tick 189 (168.33 kWh).
   */
  readonly cpuMapOrder: 'list' | 'java-hashmap';
  /** HashMap hash of each VM's CloudSim uid (used in 'java-hashmap' order). */
  readonly vmKeyHash: Int32Array;
}

/** Options of the PlanetLab setup; defaults are CloudSim's. */
export interface ExperimentOptions {
  hosts?: number;
  hostTypes?: readonly HostType[];
  vmTypes?: readonly VmType[];
  /** Type index of each VM; default CloudSim's contiguous quarters, floor(i / ceil(N / types)). */
  vmTypeOf?: ArrayLike<number>;
  cpuMapOrder?: Experiment['cpuMapOrder'];
}

/** The CloudSim 3.0.3 PlanetLab experiment over a workload: 800 hosts, one VM per trace. */
export function planetLabExperiment(workload: Workload, options: ExperimentOptions = {}): Experiment {
  const hostCount = options.hosts ?? 800;
  const hostTypes = options.hostTypes ?? PLANETLAB_HOST_TYPES;
  const vmTypes = options.vmTypes ?? PLANETLAB_VM_TYPES;
  const vmCount = workload.utilization.length;
  if (!Number.isInteger(hostCount) || hostCount < 1) throw new NovaError('BACKTEST_OPTION_INVALID', `hosts must be a positive integer, got ${hostCount}`);
  if (vmCount === 0) throw new NovaError('BACKTEST_OPTION_INVALID', 'the workload has no VMs');
  const samples = workload.utilization[0]!.length - 1;
  if (workload.utilization.some((u) => u.length !== samples + 1)) throw new NovaError('BACKTEST_TRACE_INVALID', 'all traces of a workload must have the same length');
  const hostType = new Uint8Array(hostCount);
  const hostCoreMips = new Float64Array(hostCount);
  const hostMips = new Float64Array(hostCount);
  const hostRamMb = new Float64Array(hostCount);
  const hostBw = new Float64Array(hostCount);
  const hostPower: PowerModel[] = [];
  for (let h = 0; h < hostCount; h++) {
    const ty = h % hostTypes.length;
    const t = hostTypes[ty]!;
    hostType[h] = ty;
    hostCoreMips[h] = t.coreMips;
    let total = 0;
    for (let c = 0; c < t.cores; c++) total += t.coreMips;
    hostMips[h] = total;
    hostRamMb[h] = t.ramMb;
    hostBw[h] = t.bw;
    hostPower.push(t.power);
  }
  const quarter = Math.ceil(vmCount / vmTypes.length);
  const typeOf = options.vmTypeOf;
  if (typeOf !== undefined && typeOf.length !== vmCount) throw new NovaError('BACKTEST_OPTION_INVALID', `vmTypeOf has ${typeOf.length} entries for ${vmCount} VMs`);
  if (vmTypes.length > 0xffff) throw new NovaError('BACKTEST_OPTION_INVALID', `at most 65,535 VM types, got ${vmTypes.length}`);
  const vmType = new Uint16Array(vmCount);
  const vmMips = new Float64Array(vmCount);
  const vmRamMb = new Float64Array(vmCount);
  const vmBw = new Float64Array(vmCount);
  for (let v = 0; v < vmCount; v++) {
    const ty = typeOf === undefined ? Math.floor(v / quarter) : typeOf[v]!;
    const t = vmTypes[ty];
    if (t === undefined) throw new NovaError('BACKTEST_OPTION_INVALID', `VM ${v} has type ${ty}, but there are ${vmTypes.length} VM types`);
    vmType[v] = ty;
    vmMips[v] = t.mips;
    vmRamMb[v] = t.ramMb;
    vmBw[v] = t.bw;
  }
  const interval = workload.interval;
  const attachTime = 0.1;
  // The run ends at samples·interval; the last tick is the last one strictly before it.
  const ticks = Math.floor((samples * interval - attachTime) / interval);
  const cpuMapOrder = options.cpuMapOrder ?? 'java-hashmap';
  const vmKeyHash = vmKeyHashes(vmCount);
  return { workload, hostCount, vmCount, hostTypes, vmTypes, hostType, hostCoreMips, hostMips, hostRamMb, hostBw, hostPower, vmType, vmMips, vmRamMb, vmBw, interval, attachTime, ticks, cpuMapOrder, vmKeyHash };
}

/** Seconds a live migration of VM v to host h takes: RAM over half the target's bandwidth (CloudSim). */
export function migrationSeconds(exp: Experiment, v: number, target: number): number {
  return exp.vmRamMb[v]! / (exp.hostBw[target]! / (2 * 8000));
}

/** Host ids from most to least energy-efficient at full load (watts per MIPS), ids ascending within a type. */
export function hostsByEfficiency(exp: Experiment): number[] {
  const ids = Array.from({ length: exp.hostCount }, (_, h) => h);
  const wpm = (h: number): number => exp.hostPower[h]!.maxWatts / exp.hostMips[h]!;
  return ids.sort((a, b) => wpm(a) - wpm(b) || a - b);
}
