// Every domain's counters from libvirt, in one `virsh domstats --raw` call per interval (one
// fork, one connection: ~40 ms on a small host). The parser is pure and tested on recorded output.
import { execFile } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { NovaError, parseDomStatsRaw } from '../../core/index.ts';
import type { ByteCounters } from './procfs.ts';

/** Balloon figures, KiB as libvirt reports them; the guest-side ones only with a balloon driver and a stats period. */
export interface BalloonKiB {
  current?: number;
  maximum?: number;
  unused?: number;
  available?: number;
  usable?: number;
  rss?: number;
}

/** One domain in one read. Counters are cumulative. */
export interface DomainObservation {
  name: string;
  /** virDomainState: 1 running, 3 paused, … */
  state: number;
  cpuTimeNs: number | undefined;
  /** Online vCPUs (vcpu.current). */
  vcpus: number;
  balloon: BalloonKiB;
  /** Sum of vcpu.N.delay (ns runnable but waiting for a host CPU); undefined when the kernel/libvirt does not report it. */
  vcpuDelayNs: number | undefined;
  /** Disks by target name: inBytes = read, outBytes = written. */
  block: Map<string, ByteCounters>;
  /** vNICs by host-side device name (or `#index` without one): inBytes = received by the guest, outBytes = sent. */
  net: Map<string, ByteCounters>;
}

export interface DomainsObservation {
  /** Monotonic ms (performance.now()) at the middle of the read. */
  atMs: number;
  domains: DomainObservation[];
}

/** Every domain of one `virsh domstats --raw` read, with cumulative counters. */
export function parseDomStats(text: string): DomainObservation[] {
  return parseDomStatsRaw(text).map(({ name, fields }) => toObservation(name, fields));
}

function toObservation(name: string, f: Map<string, string | number>): DomainObservation {
  const num = (key: string): number | undefined => {
    const v = f.get(key);
    return typeof v === 'number' ? v : undefined;
  };
  let vcpuDelayNs: number | undefined;
  for (const [key, value] of f) {
    if (/^vcpu\.\d+\.delay$/.test(key)) vcpuDelayNs = (vcpuDelayNs ?? 0) + Number(value);
  }
  const devices = (group: 'block' | 'net', inKey: string, outKey: string): Map<string, ByteCounters> => {
    const out = new Map<string, ByteCounters>();
    const count = num(`${group}.count`) ?? 0;
    for (let i = 0; i < count; i++) {
      const inBytes = num(`${group}.${i}.${inKey}`);
      const outBytes = num(`${group}.${i}.${outKey}`);
      // A device without figures (user-mode networking, an empty drive on some versions) adds nothing.
      if (inBytes === undefined && outBytes === undefined) continue;
      out.set(String(f.get(`${group}.${i}.name`) ?? '') || `#${i}`, { inBytes: inBytes ?? 0, outBytes: outBytes ?? 0 });
    }
    return out;
  };
  return {
    name,
    state: num('state.state') ?? 0,
    cpuTimeNs: num('cpu.time'),
    vcpus: num('vcpu.current') ?? 0,
    balloon: {
      current: num('balloon.current'),
      maximum: num('balloon.maximum'),
      unused: num('balloon.unused'),
      available: num('balloon.available'),
      usable: num('balloon.usable'),
      rss: num('balloon.rss'),
    },
    vcpuDelayNs,
    block: devices('block', 'rd.bytes', 'wr.bytes'),
    net: devices('net', 'rx.bytes', 'tx.bytes'),
  };
}

/**
 * What the VM uses of its memory, and what it has. Total is balloon.current: the memory the guest
 * is given right now, which is what it takes from the host and what rightsizing acts on.
 *
 * Used, best first:
 *  - available − usable: inside the guest, like the host's MemTotal − MemAvailable. `usable` is what
 *    the guest could still use without swapping (free memory plus reclaimable page cache), so a
 *    guest whose RAM is mostly cache does not look full; this is the figure a resize can trust.
 *  - current − unused: `unused` is the guest's free memory; page cache then counts as used, an
 *    overestimate, but still the guest's own view.
 *  - rss, capped at current: without a balloon driver (or before its first stats report) libvirt
 *    knows only what the QEMU process holds on the host: pages the guest ever touched, never given
 *    back. An overestimate of what it needs now, yet the memory it really costs the host.
 *  - current: nothing else known; claiming all of it is the safe side for placement.
 */
export function domainMemory(b: BalloonKiB): { usedBytes: number; totalBytes: number } | undefined {
  const totalKiB = b.current ?? b.maximum;
  if (totalKiB === undefined || totalKiB <= 0) return undefined;
  let usedKiB: number;
  if (b.available !== undefined && b.usable !== undefined && b.available > 0) usedKiB = b.available - b.usable;
  else if (b.unused !== undefined) usedKiB = totalKiB - b.unused;
  else if (b.rss !== undefined && b.rss > 0) usedKiB = b.rss;
  else usedKiB = totalKiB;
  return { usedBytes: Math.round(Math.min(Math.max(usedKiB, 0), totalKiB) * 1024), totalBytes: totalKiB * 1024 };
}

/** The stats groups the samples need; --list-active leaves shut-off domains out. */
export const DOMSTATS_ARGS = ['domstats', '--raw', '--list-active', '--state', '--cpu-total', '--balloon', '--vcpu', '--block', '--interface'] as const;

/** Reads all active domains of one libvirt connection. */
export interface DomainReader {
  read(): Promise<DomainsObservation>;
}

/** Reads domains through libvirt's own `virsh` (the npm bindings lack bulk stats; see docs/agent.md). */
export class VirshDomainReader implements DomainReader {
  constructor(
    readonly uri: string,
    private readonly timeoutMs = 30_000,
    private readonly virsh = 'virsh',
  ) {}

  async read(): Promise<DomainsObservation> {
    const started = performance.now();
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(this.virsh, ['-c', this.uri, ...DOMSTATS_ARGS], { timeout: this.timeoutMs, maxBuffer: 64 * 2 ** 20, env: { ...process.env, LC_ALL: 'C' } }, (err, out, stderr) => {
        if (err) reject(this.failure(err as NodeJS.ErrnoException & { killed?: boolean }, String(stderr)));
        else resolve(String(out));
      });
    });
    // libvirt samples the counters somewhere inside the call: its middle is the best estimate.
    const atMs = (started + performance.now()) / 2;
    return { atMs, domains: parseDomStats(stdout) };
  }

  private failure(err: NodeJS.ErrnoException & { killed?: boolean }, stderr: string): NovaError {
    const said = stderr.trim().split('\n').map((l) => l.replace(/^error: /, '')).join('; ');
    if (err.code === 'ENOENT') {
      return new NovaError('AGENT_VIRSH_MISSING', `"${this.virsh}" is not installed: install libvirt's client tools (Debian/Ubuntu: apt-get install libvirt-clients)`, { cause: err });
    }
    if (err.killed) {
      return new NovaError('AGENT_LIBVIRT_TIMEOUT', `virsh domstats on ${this.uri} did not answer within ${this.timeoutMs / 1000} s; check libvirtd's health there (virsh -c ${this.uri} list)`, { cause: err, retriable: true });
    }
    if (/failed to connect|Failed to connect socket|no connection driver|unable to connect/i.test(said)) {
      return new NovaError('AGENT_LIBVIRT_UNREACHABLE', `cannot reach libvirt at ${this.uri} (${said}); check that libvirtd runs on that host (virsh -c '${this.uri}' version), that the URI is right (NOVACRON_AGENT_LIBVIRT_URI or --uri), and that this user may open its socket`, { cause: err, retriable: true });
    }
    return new NovaError('AGENT_LIBVIRT_READ_FAILED', `virsh domstats on ${this.uri} failed: ${said || err.message}`, { cause: err, retriable: true });
  }
}
