// Two observations of the host or of one domain → one sample of the interval between them.
import type { HostSample, VmSample } from '../../schemas/index.ts';
import { domainMemory, type DomainObservation } from './domstats.ts';
import type { CpuTimes, HostObservation } from './procfs.ts';
import { clamp, counterRate, deviceRates } from './rates.ts';

/** Why an interval produced no sample for a host or a VM. */
export type NoSample = 'no-baseline' | 'counter-reset' | 'no-vcpus' | 'no-memory';

export type Built<T> = { sample: T } | { skipped: NoSample };

const CPU_FIELDS = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'] as const satisfies readonly (keyof CpuTimes)[];

/**
 * Whether a host interface's traffic is the host's own: not loopback, not an ifb (a mirror of
 * another interface's ingress, for traffic shaping), not a bridge (its members carry the same
 * bytes), not a guest's vNIC (counted in the VM's sample, and again on the bridge or uplink).
 */
export function countedNic(name: string, bridges: ReadonlySet<string>, guestNics: ReadonlySet<string>): boolean {
  return name !== 'lo' && !/^ifb\d+$/.test(name) && !bridges.has(name) && !guestNics.has(name);
}

/**
 * The host's sample for the interval from `previous` to `current`.
 * @param guestNics the guests' own vNICs (tap devices), left out of the host's net figures (see countedNic).
 */
export function buildHostSample(previous: HostObservation | undefined, current: HostObservation, hostId: string, ts: number, guestNics: ReadonlySet<string>): Built<HostSample> {
  if (!previous) return { skipped: 'no-baseline' };
  const seconds = (current.atMs - previous.atMs) / 1000;
  const delta = {} as Record<keyof CpuTimes, number>;
  for (const field of CPU_FIELDS) {
    // One tick per (USER_HZ) interval: the rate's unit does not matter here, only that it exists.
    const d = counterRate(previous.cpu.total[field], current.cpu.total[field], 1);
    if (d === undefined) return { skipped: 'counter-reset' };
    delta[field] = d;
  }
  // Shares of the interval's ticks rather than ticks per elapsed second: exact whatever USER_HZ is,
  // and immune to the read not landing exactly on the interval. iowait is idle time; guest time is
  // already inside user/nice; steal is time the host's own hypervisor gave to someone else.
  const ticks = CPU_FIELDS.reduce((sum, f) => sum + delta[f], 0);
  if (ticks <= 0 || !(seconds > 0)) return { skipped: 'counter-reset' };
  const busy = delta.user + delta.nice + delta.system + delta.irq + delta.softirq;
  const cores = current.cpu.cpus;
  const net = deviceRates(previous.net, current.net, seconds, (name) => countedNic(name, current.bridges, guestNics));
  const disk = deviceRates(previous.disk, current.disk, seconds);
  return {
    sample: {
      ts,
      hostId,
      cpuUsedCores: clamp((busy / ticks) * cores, 0, cores),
      cpuCapacityCores: cores,
      memUsedBytes: current.memTotalBytes - current.memAvailableBytes,
      memTotalBytes: current.memTotalBytes,
      diskReadBps: disk.inPerSecond,
      diskWriteBps: disk.outPerSecond,
      netRxBps: net.inPerSecond,
      netTxBps: net.outPerSecond,
      cpuStealPct: clamp((delta.steal / ticks) * 100, 0, 100),
    },
  };
}

/**
 * One VM's sample for the interval between two domain reads `seconds` apart (the real time between
 * the reads). A VM seen for the first time, or whose CPU time went backwards (it was restarted),
 * has no sample this interval: its next one has a rate again.
 */
export function buildVmSample(previous: DomainObservation | undefined, current: DomainObservation, seconds: number, hostId: string, ts: number): Built<VmSample> {
  if (!previous) return { skipped: 'no-baseline' };
  const cpuNsPerSecond = counterRate(previous.cpuTimeNs, current.cpuTimeNs, seconds);
  if (cpuNsPerSecond === undefined) return { skipped: 'counter-reset' };
  const vcpus = current.vcpus;
  if (!(vcpus > 0)) return { skipped: 'no-vcpus' };
  const memory = domainMemory(current.balloon);
  if (!memory) return { skipped: 'no-memory' };
  const delayNsPerSecond = counterRate(previous.vcpuDelayNs, current.vcpuDelayNs, seconds);
  const disk = deviceRates(previous.block, current.block, seconds);
  const net = deviceRates(previous.net, current.net, seconds);
  return {
    sample: {
      ts,
      hostId,
      vmId: current.name,
      // cpu.time also charges QEMU's emulator and I/O threads to the domain, which can lift it a
      // little over its vCPUs; the schema's capacity is the vCPUs, and the excess shows in the host's sample.
      cpuUsedCores: clamp(cpuNsPerSecond / 1e9, 0, vcpus),
      vcpus,
      memUsedBytes: memory.usedBytes,
      memTotalBytes: memory.totalBytes,
      diskReadBps: disk.inPerSecond,
      diskWriteBps: disk.outPerSecond,
      netRxBps: net.inPerSecond,
      netTxBps: net.outPerSecond,
      // vcpu.N.delay needs schedstats (Linux 5.x+, libvirt 7.9+); without it there is no figure, and 0 is the schema's "none seen".
      vcpuDelayPct: delayNsPerSecond === undefined ? 0 : clamp((delayNsPerSecond / 1e9 / vcpus) * 100, 0, 100),
    },
  };
}
