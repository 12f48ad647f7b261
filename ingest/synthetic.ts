import type { VmSample } from '../schemas/index.ts';
import { GIB, hostSamplesFor, type FleetSource, type FleetTick, type SimHost, type SimVm } from './fleet.ts';
import { gaussian, seededRandom } from '../core/index.ts';

export interface SyntheticFleetOptions {
  hosts: number;
  vmsPerHost: number;
  seed: number;
  stepMs: number;
  /** Number of the first host, from 0 (default): fleets made side by side (one per producer) get distinct host and VM ids. */
  firstHost?: number;
}

interface VmProfile {
  base: number;
  amplitude: number;
  peakHour: number;
  noise: number;
  burstChance: number;
  memFraction: number;
}

const HOST_SHAPES = [
  { cpuCores: 32, memBytes: 128 * GIB },
  { cpuCores: 48, memBytes: 192 * GIB },
  { cpuCores: 64, memBytes: 256 * GIB },
];
const VM_SHAPES = [
  { vcpus: 1, memBytes: 2 * GIB },
  { vcpus: 2, memBytes: 4 * GIB },
  { vcpus: 4, memBytes: 8 * GIB },
  { vcpus: 4, memBytes: 16 * GIB },
  { vcpus: 8, memBytes: 16 * GIB },
];

/**
 * A seeded synthetic fleet: each VM follows a daily cycle with its own peak hour, gaussian
 * noise and rare bursts, which is the shape real VM CPU traces have (and what the
 * baselines must be able to forecast).
 */
export class SyntheticFleet implements FleetSource {
  readonly hosts: SimHost[];
  readonly vms: SimVm[];
  readonly stepMs: number;
  readonly steps = Infinity;
  private readonly profiles: VmProfile[];
  private readonly rand: () => number;

  constructor(opts: SyntheticFleetOptions) {
    const rand = seededRandom(opts.seed);
    this.rand = rand;
    this.stepMs = opts.stepMs;
    const first = opts.firstHost ?? 0;
    this.hosts = Array.from({ length: opts.hosts }, (_, k) => {
      const i = first + k;
      return { hostId: `host-${String(i + 1).padStart(3, '0')}`, ...HOST_SHAPES[i % HOST_SHAPES.length]! };
    });
    this.vms = [];
    this.profiles = [];
    for (const host of this.hosts) {
      for (let j = 0; j < opts.vmsPerHost; j++) {
        const shape = VM_SHAPES[Math.floor(rand() * VM_SHAPES.length)]!;
        this.vms.push({ vmId: `${host.hostId}-vm-${String(j + 1).padStart(2, '0')}`, hostId: host.hostId, ...shape });
        this.profiles.push({
          base: 0.03 + 0.2 * rand(),
          amplitude: 0.05 + 0.35 * rand(),
          peakHour: 8 + 12 * rand(),
          noise: 0.01 + 0.04 * rand(),
          burstChance: 0.005 * rand(),
          memFraction: 0.3 + 0.5 * rand(),
        });
      }
    }
  }

  tick(_step: number, ts: number): FleetTick {
    const hour = (ts / 3_600_000) % 24;
    const vms: VmSample[] = this.vms.map((vm, i) => {
      const p = this.profiles[i]!;
      const daily = 0.5 * (1 + Math.cos((2 * Math.PI * (hour - p.peakHour)) / 24));
      const burst = this.rand() < p.burstChance ? 0.5 * this.rand() : 0;
      const util = Math.min(1, Math.max(0, p.base + p.amplitude * daily + p.noise * gaussian(this.rand) + burst));
      // Memory moves slowly in real VMs: a small wobble, not per-sample jitter like CPU.
      const mem = Math.min(1, Math.max(0.05, p.memFraction + 0.003 * gaussian(this.rand)));
      return {
        ts, hostId: vm.hostId, vmId: vm.vmId,
        cpuUsedCores: util * vm.vcpus, vcpus: vm.vcpus,
        memUsedBytes: Math.round(mem * vm.memBytes), memTotalBytes: vm.memBytes,
        diskReadBps: Math.round(2e6 * util * this.rand()), diskWriteBps: Math.round(1e6 * util * this.rand()),
        netRxBps: Math.round(5e6 * util * this.rand()), netTxBps: Math.round(3e6 * util * this.rand()),
        vcpuDelayPct: 0,
      };
    });
    return { ts, vms, hosts: hostSamplesFor(this.hosts, vms, ts) };
  }
}
