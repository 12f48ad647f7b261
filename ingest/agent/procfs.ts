// The host's own figures, read from Linux procfs. Parsers are pure (text in, numbers out) so they
// are tested on recorded files; readHostObservation does the I/O through a small port.
import { readdir, readFile, access } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { NovaError } from '../../core/index.ts';

/** Cumulative CPU time of the whole host, in USER_HZ ticks (the `cpu` line of /proc/stat). */
export interface CpuTimes {
  user: number;
  nice: number;
  system: number;
  idle: number;
  iowait: number;
  irq: number;
  softirq: number;
  steal: number;
}

export interface ProcStat {
  total: CpuTimes;
  /** Online logical CPUs (the `cpuN` lines). */
  cpus: number;
}

export interface LoadAverages {
  load1: number;
  load5: number;
  load15: number;
}

/** Cumulative byte counters of one device. */
export interface ByteCounters {
  inBytes: number;
  outBytes: number;
}

/** One read of the host: counters are cumulative; rates come from two of these (rates.ts). */
export interface HostObservation {
  /** Monotonic ms (performance.now()) of the read: elapsed time between reads, immune to clock steps. */
  atMs: number;
  cpu: ProcStat;
  memTotalBytes: number;
  memAvailableBytes: number;
  load: LoadAverages;
  /** Network devices: inBytes = received, outBytes = transmitted. */
  net: Map<string, ByteCounters>;
  /** Network devices that are bridges (their traffic is also counted on the member devices). */
  bridges: Set<string>;
  /** Block devices counted for the host's disk rates: inBytes = read, outBytes = written. */
  disk: Map<string, ByteCounters>;
}

function unparsable(file: string, why: string): NovaError {
  return new NovaError('AGENT_PROCFS_UNPARSABLE', `${file}: ${why}; the agent expects Linux procfs (kernel 3.14 or later)`);
}

/** Parses /proc/stat: the aggregate `cpu` line and the count of `cpuN` lines. */
export function parseProcStat(text: string): ProcStat {
  let total: CpuTimes | undefined;
  let cpus = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('cpu ')) {
      const f = line.trim().split(/\s+/).slice(1).map(Number);
      if (f.length < 4 || f.some((n) => !Number.isFinite(n))) throw unparsable('/proc/stat', `bad cpu line "${line}"`);
      // Fields after idle appeared over the years (iowait 2.5.41, irq/softirq 2.6.0, steal 2.6.11): absent = 0.
      total = { user: f[0]!, nice: f[1]!, system: f[2]!, idle: f[3]!, iowait: f[4] ?? 0, irq: f[5] ?? 0, softirq: f[6] ?? 0, steal: f[7] ?? 0 };
    } else if (/^cpu\d+ /.test(line)) cpus++;
  }
  if (!total) throw unparsable('/proc/stat', 'no aggregate "cpu" line');
  if (cpus === 0) throw unparsable('/proc/stat', 'no per-CPU "cpuN" lines');
  return { total, cpus };
}

/** Parses /proc/meminfo (kB values) into bytes: total, and what is available without swapping. */
export function parseMeminfo(text: string): { memTotalBytes: number; memAvailableBytes: number } {
  const kb = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z0-9_()]+):\s+(\d+)/.exec(line);
    if (m) kb.set(m[1]!, Number(m[2]));
  }
  const total = kb.get('MemTotal');
  if (total === undefined || total <= 0) throw unparsable('/proc/meminfo', 'no MemTotal');
  // MemAvailable (3.14+) is the kernel's own estimate; before it, free + page cache + reclaimable slab is the usual stand-in.
  const available = kb.get('MemAvailable') ?? (kb.get('MemFree') ?? 0) + (kb.get('Buffers') ?? 0) + (kb.get('Cached') ?? 0) + (kb.get('SReclaimable') ?? 0);
  return { memTotalBytes: total * 1024, memAvailableBytes: Math.min(available, total) * 1024 };
}

/** Parses /proc/loadavg. */
export function parseLoadavg(text: string): LoadAverages {
  const [a, b, c] = text.trim().split(/\s+/).map(Number);
  if (![a, b, c].every((n) => n !== undefined && Number.isFinite(n))) throw unparsable('/proc/loadavg', `unexpected "${text.trim()}"`);
  return { load1: a!, load5: b!, load15: c! };
}

/** Parses /proc/net/dev: bytes received (inBytes) and transmitted (outBytes) per interface. */
export function parseNetDev(text: string): Map<string, ByteCounters> {
  const out = new Map<string, ByteCounters>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0 || line.includes('|')) continue; // the two header lines
    const name = line.slice(0, colon).trim();
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    if (f.length < 9 || !Number.isFinite(f[0]) || !Number.isFinite(f[8])) throw unparsable('/proc/net/dev', `bad line "${line}"`);
    out.set(name, { inBytes: f[0]!, outBytes: f[8]! });
  }
  return out;
}

/** diskstats counts 512-byte sectors whatever the device's own sector size. */
const SECTOR_BYTES = 512;

// Devices whose I/O is already counted on the devices under them (device-mapper, md RAID), or
// that are not storage I/O at all (loop files live on a counted disk; RAM disks, zram).
const STACKED_OR_VIRTUAL = /^(loop|ram|zram|dm-|md|fd)\d*/;
// Partitions, by the kernel's naming, for when /sys/block cannot be listed.
const PARTITION = /^((sd|vd|hd|xvd)[a-z]+\d+|(nvme\d+n\d+|mmcblk\d+|nbd\d+)p\d+)$/;

/**
 * Whether a diskstats device counts toward the host's disk rates: whole disks only (a partition's
 * I/O is also in its disk's line), and not stacked or memory-backed devices.
 * @param wholeDisks names listed in /sys/block (partitions are not); null when unknown.
 */
export function countedDisk(name: string, wholeDisks: ReadonlySet<string> | null): boolean {
  if (STACKED_OR_VIRTUAL.test(name)) return false;
  return wholeDisks ? wholeDisks.has(name) : !PARTITION.test(name);
}

/** Parses /proc/diskstats: bytes read (inBytes) and written (outBytes) per counted device. */
export function parseDiskstats(text: string, wholeDisks: ReadonlySet<string> | null = null): Map<string, ByteCounters> {
  const out = new Map<string, ByteCounters>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const name = f[2]!;
    // Fields after the name: reads, reads merged, sectors read (index 5), ms reading, writes, writes merged, sectors written (index 9).
    const read = Number(f[5]);
    const written = Number(f[9]);
    if (!Number.isFinite(read) || !Number.isFinite(written)) throw unparsable('/proc/diskstats', `bad line "${line.trim()}"`);
    if (countedDisk(name, wholeDisks)) out.set(name, { inBytes: read * SECTOR_BYTES, outBytes: written * SECTOR_BYTES });
  }
  return out;
}

/** The I/O the host reader needs: a port so tests can feed recorded files. */
export interface ProcfsIo {
  readFile(path: string): Promise<string>;
  /** Entries of a directory; rejects when it cannot be listed. */
  list(path: string): Promise<string[]>;
  exists(path: string): Promise<boolean>;
}

/** The real filesystem under `root` ('' = this host's /proc and /sys). */
export function localProcfs(root = ''): ProcfsIo {
  return {
    readFile: (path) => readFile(`${root}${path}`, 'utf8'),
    list: (path) => readdir(`${root}${path}`),
    exists: (path) => access(`${root}${path}`).then(() => true, () => false),
  };
}

/** Reads everything the host sample needs, all files at once; throws AGENT_PROCFS_* when it cannot. */
export async function readHostObservation(io: ProcfsIo = localProcfs()): Promise<HostObservation> {
  let texts: string[];
  try {
    texts = await Promise.all(['/proc/stat', '/proc/meminfo', '/proc/loadavg', '/proc/net/dev', '/proc/diskstats'].map((p) => io.readFile(p)));
  } catch (err) {
    throw new NovaError('AGENT_PROCFS_UNREADABLE', `cannot read procfs (${(err as Error).message}); the agent runs on the Linux host it reports, with /proc mounted`, { cause: err, retriable: true });
  }
  const atMs = performance.now();
  const [stat, meminfo, loadavg, netdev, diskstats] = texts as [string, string, string, string, string];
  const wholeDisks = await io.list('/sys/block').then((names) => new Set(names), () => null);
  const net = parseNetDev(netdev);
  const bridges = new Set<string>();
  await Promise.all([...net.keys()].map(async (name) => {
    if (await io.exists(`/sys/class/net/${name}/bridge`)) bridges.add(name);
  }));
  return { atMs, cpu: parseProcStat(stat), ...parseMeminfo(meminfo), load: parseLoadavg(loadavg), net, bridges, disk: parseDiskstats(diskstats, wholeDisks) };
}
