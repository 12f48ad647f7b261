import { basename } from 'node:path';
import { median } from 'simple-statistics';
import { NovaError } from '../core/index.ts';
import { migrationSeconds, planetLabExperiment, type Experiment, type HostType, type VmType } from './experiment.ts';
import { readBitbrainsFolder, resampleUsage, type BitbrainsVmTrace } from './bitbrains.ts';
import { IBM_X3550_XEON_X5670, IBM_X3550_XEON_X5675 } from './power.ts';
import type { Workload } from './workload.ts';

/** Seconds between grid points of the replay: Bitbrains samples every 5 minutes, as PlanetLab does. */
export const BITBRAINS_STEP_SECONDS = 300;

/**
 * Hosts of the Bitbrains replay, host i of type i mod 2: the two IBM x3550 M3 servers whose
 * SPECpower curves CloudSim ships. Their clocks match the VMs' (many report 2,926 MHz cores, an
 * X5670's 2.93 GHz). MIPS = MHz, CloudSim's own convention (its G4/G5 ratings are their clocks).
 * The 12 cores are pooled into one CPU: CloudSim caps a one-vCPU VM at one host core, but these
 * VMs have up to 32 vCPUs and their measured usage is already bounded by their own capacity.
 * RAM is the SPECpower test configuration's; like every host RAM here it binds only at t = 0.
 */
export const BITBRAINS_HOST_TYPES: readonly HostType[] = [
  { name: 'IBM x3550 M3 2×X5670 (12 × 2,933 MHz pooled)', cores: 1, coreMips: 12 * 2933, ramMb: 12_288, bw: 1_000_000, power: IBM_X3550_XEON_X5670 },
  { name: 'IBM x3550 M3 2×X5675 (12 × 3,067 MHz pooled)', cores: 1, coreMips: 12 * 3067, ramMb: 16_384, bw: 1_000_000, power: IBM_X3550_XEON_X5675 },
];

/** One replayed VM: where its size and migration cost came from. */
export interface BitbrainsVm {
  readonly name: string;
  readonly capacityMhz: number;
  /** The VM's MIPS in the experiment: its provisioned capacity, capped at the smallest host. */
  readonly mips: number;
  /** Memory a live migration sends: the median actively used memory over the replay, MB. */
  readonly ramMb: number;
  readonly imputedPoints: number;
  readonly absentPoints: number;
  /** vCPUs the VM is configured with (the trace's "CPU cores"). */
  readonly cores: number;
  /** Actively used memory on the replay's grid (KB at start + k·step, as the CPU demand; 0 once the VM has left). */
  readonly memoryKb: Float64Array;
}

/** A Bitbrains month folder turned into an experiment, with what was left out and why. */
export interface BitbrainsReplay {
  readonly experiment: Experiment;
  readonly vms: readonly BitbrainsVm[];
  readonly skipped: ReadonlyArray<{ name: string; reason: string }>;
  /** Unix seconds of grid point 0. */
  readonly start: number;
  readonly samples: number;
  readonly folder: string;
}

/** Options of the replay. */
export interface BitbrainsOptions {
  /** Replay only the first N days (288 steps each); default the whole trace. */
  days?: number;
  /** Number of hosts; default one per VM file, as PlanetLab's setup has about one host per VM. */
  hosts?: number;
}

const iso = (unixSeconds: number): string => new Date(unixSeconds * 1000).toISOString().slice(0, 16).replace('T', ' ');

/** Builds the replay from parsed traces (exposed so tests can feed small synthetic files). */
export function bitbrainsReplay(traces: readonly BitbrainsVmTrace[], folder: string, options: BitbrainsOptions = {}): BitbrainsReplay {
  const step = BITBRAINS_STEP_SECONDS;
  const skipped: Array<{ name: string; reason: string }> = [];
  const measured = traces.filter((tr) => {
    if (tr.time.length >= 2) return true;
    skipped.push({ name: tr.name, reason: `${tr.time.length} measured rows (CPU capacity 0 or missing in the others)` });
    return false;
  });
  if (measured.length === 0) throw new NovaError('BACKTEST_TRACE_INVALID', `no Bitbrains VM in ${folder} has two measured rows`);
  const start = Math.min(...measured.map((tr) => tr.time[0]!));
  const kept = measured.filter((tr) => {
    if (tr.time[0]! <= start + step) return true;
    // The simulator has no VM arrivals (CloudSim creates every VM at t = 0).
    skipped.push({ name: tr.name, reason: `first measurement ${iso(tr.time[0]!)} UTC, after the replay start ${iso(start)} UTC; VMs cannot arrive later` });
    return false;
  });
  const end = Math.max(...kept.map((tr) => tr.time.at(-1)!));
  let samples = Math.floor((end - start) / step) + 1;
  if (options.days !== undefined) {
    if (!(Number.isInteger(options.days) && options.days > 0)) throw new NovaError('BACKTEST_OPTION_INVALID', `days must be a positive integer, got ${options.days}`);
    samples = Math.min(samples, options.days * 288);
  }
  if (samples < 2) throw new NovaError('BACKTEST_TRACE_INVALID', `the Bitbrains traces in ${folder} span less than two ${step} s steps`);
  const hosts = options.hosts ?? traces.length;
  const smallestHost = Math.min(...BITBRAINS_HOST_TYPES.map((h) => h.cores * h.coreMips));
  const windowEnd = start + (samples - 1) * step;
  const vms: BitbrainsVm[] = [];
  const utilization: Float64Array[] = [];
  for (const tr of kept) {
    const r = resampleUsage(tr, start, step, samples);
    // A VM larger than a whole host could not be created; its usage never comes near that here.
    const mips = Math.min(tr.capacityMhz, smallestHost);
    const u = new Float64Array(samples + 1);
    for (let k = 0; k < samples; k++) u[k] = r.usageMhz[k]! / mips;
    u[samples] = u[samples - 1]!;
    utilization.push(u);
    const inWindow = tr.memoryKb.filter((_, i) => tr.time[i]! <= windowEnd);
    const ramMb = Math.max(1, median(Array.from(inWindow.length > 0 ? inWindow : tr.memoryKb)) / 1024);
    // Memory goes on the same grid as the CPU, by the same interpolation (the rightsizing inputs of the replay).
    const memoryKb = resampleUsage({ ...tr, usageMhz: tr.memoryKb }, start, step, samples).usageMhz;
    vms.push({ name: tr.name, capacityMhz: tr.capacityMhz, mips, ramMb, imputedPoints: r.imputed, absentPoints: r.absent, cores: tr.cores, memoryKb });
  }
  const workload: Workload = { day: `bitbrains ${basename(folder)}`, names: vms.map((v) => v.name), utilization, interval: step };
  const vmTypes: VmType[] = vms.map((v) => ({ name: v.name, mips: v.mips, ramMb: v.ramMb, bw: 100_000 }));
  const experiment = planetLabExperiment(workload, { hosts, hostTypes: BITBRAINS_HOST_TYPES, vmTypes, vmTypeOf: vms.map((_, i) => i) });
  // The simulator finishes every migration before the next tick; a longer one would be modelled wrongly.
  for (let v = 0; v < experiment.vmCount; v++) {
    const seconds = migrationSeconds(experiment, v, 0);
    if (seconds >= step) throw new NovaError('BACKTEST_TRACE_INVALID', `VM ${vms[v]!.name} would take ${seconds.toFixed(0)} s to migrate (${vms[v]!.ramMb.toFixed(0)} MB at 1 Gbit/s), longer than the ${step} s interval the simulator assumes`);
  }
  return { experiment, vms, skipped, start, samples, folder };
}

/** Reads a Bitbrains month folder (e.g. <data>/traces/bitbrains-rnd/2013-7) into a replay. */
export function loadBitbrainsReplay(folder: string, options: BitbrainsOptions = {}): BitbrainsReplay {
  return bitbrainsReplay(readBitbrainsFolder(folder), folder, options);
}
