import { NovaError } from '../core/index.ts';
import type { VmSample } from '../schemas/index.ts';
import { readPlanetLabDay } from '../traces/index.ts';
import { GIB, hostSamplesFor, type FleetSource, type FleetTick, type SimHost, type SimVm } from './fleet.ts';

const MIB = 1024 ** 2;
/** CloudSim's PlanetLab VM types (1 core each): memory by contiguous quarter of the file list. */
const VM_MEM_BY_QUARTER = [870 * MIB, 1740 * MIB, 1740 * MIB, 613 * MIB];
const STEP_MS = 300_000;

export interface PlanetLabOptions {
  /** A day folder, e.g. ../shared/data/traces/planetlab/20110303 (one file per VM, 288 integer % values). */
  dayDir: string;
  /** Replay only the first N VMs (in file-name order); all when omitted. */
  maxVms?: number;
  /** VMs per simulated host (hosts have 8 cores, 32 GiB). */
  vmsPerHost: number;
}

/**
 * Replays a PlanetLab day (CloudSim's workload): each file is one 1-vCPU VM whose CPU use is
 * value/100 cores per 5-minute step. Files are taken in sorted name order so a replay is the
 * same on every file system (CloudSim uses the directory listing order, which is not); reading
 * and validating them is traces/'s (errors TRACE_MISSING, TRACE_INVALID).
 */
export class PlanetLabReplay implements FleetSource {
  readonly hosts: SimHost[];
  readonly vms: SimVm[];
  readonly stepMs = STEP_MS;
  readonly steps: number;
  private readonly series: readonly Uint8Array[];

  constructor(opts: PlanetLabOptions) {
    if (!Number.isInteger(opts.vmsPerHost) || opts.vmsPerHost < 1) throw new NovaError('INGEST_OPTION_INVALID', `vmsPerHost must be a positive integer, got ${opts.vmsPerHost}`);
    const { names: files, percent } = readPlanetLabDay(opts.dayDir, { maxVms: opts.maxVms });
    this.series = percent;
    this.steps = Math.min(...this.series.map((s) => s.length));
    const hostCount = Math.ceil(files.length / opts.vmsPerHost);
    this.hosts = Array.from({ length: hostCount }, (_, i) => ({ hostId: `pl-host-${String(i + 1).padStart(4, '0')}`, cpuCores: 8, memBytes: 32 * GIB }));
    const quarter = Math.ceil(files.length / 4);
    this.vms = files.map((f, i) => ({
      vmId: f.replace(/[^A-Za-z0-9_.-]+/g, '_'),
      hostId: this.hosts[i % hostCount]!.hostId,
      vcpus: 1,
      memBytes: VM_MEM_BY_QUARTER[Math.min(3, Math.floor(i / quarter))]!,
    }));
  }

  tick(step: number, ts: number): FleetTick {
    const k = Math.min(step, this.steps - 1);
    const vms: VmSample[] = this.vms.map((vm, i) => {
      const util = this.series[i]![k]! / 100;
      return {
        ts, hostId: vm.hostId, vmId: vm.vmId, cpuUsedCores: util, vcpus: vm.vcpus,
        memUsedBytes: Math.round(vm.memBytes * 0.6), memTotalBytes: vm.memBytes,
        diskReadBps: 0, diskWriteBps: 0, netRxBps: 0, netTxBps: 0, vcpuDelayPct: 0,
      };
    });
    return { ts, vms, hosts: hostSamplesFor(this.hosts, vms, ts) };
  }
}
