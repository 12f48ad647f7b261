// Which collectd value lists make up one NovaCron sample, and the arithmetic from collectd's
// units to ours. Measured against collectd 5.12 with the config ingest/collectd writes
// (virt: HostnameFormat "hostname", PluginInstanceFormat "name", ExtraStats "vcpu memory";
// cpu: ReportByCpu false, ValuesPercentage true, ReportNumCpu true; StoreRates true):
//   virt  virt_cpu_total            ns of CPU per second  → cpuUsedCores = rate / 1e9
//   virt  virt_vcpu-<n>             one per online vCPU   → vcpus = how many
//   virt  memory-total              bytes (current allocation) → memTotalBytes
//   virt  memory-rss | -available/-usable/-unused  → memUsedBytes (see vmMemUsed)
//   virt  disk_octets-<dev>         read/write bytes/s, summed over devices
//   virt  if_octets-<dev>           rx/tx bytes/s as the guest sees them (libvirt swaps tap counters)
//   cpu   count, percent-<state>    host CPUs, and % of all CPU time in each state
//   memory memory-<used|free|buffered|cached|slab_*>  bytes; the states add up to MemTotal
//   interface if_octets, disk disk_octets   bytes/s per NIC / disk, summed
// Everything else (disk_ops, if_packets, domain_state, ps_cputime, load, ...) is ignored.
import type { HostSample, VmSample } from '../../schemas/index.ts';
import { ds, type ValueList } from './value-list.ts';

/** Where a value list belongs: the sample it feeds and its slot in it. */
export type Slot =
  | { kind: 'vm'; hostId: string; vmId: string; key: string }
  | { kind: 'host'; hostId: string; key: string };

/** The part of a sample one slot fills; `null` when the value list is not ours. */
export function slotOf(vl: ValueList): Slot | null | { problem: string; field: string } {
  if (vl.plugin === 'virt') {
    const key = vmKey(vl);
    if (key === null) return null;
    // Without a plugin instance the VM's name sits in `host` (virt's default HostnameFormat
    // "name") and the hypervisor's identity is lost.
    if (vl.plugin_instance === '') return { problem: 'virt value list without plugin_instance: configure the virt plugin with HostnameFormat "hostname" and PluginInstanceFormat "name" (see docs/collectd.md)', field: 'plugin_instance' };
    return { kind: 'vm', hostId: vl.host, vmId: vl.plugin_instance, key };
  }
  const key = hostKey(vl);
  return key === null ? null : { kind: 'host', hostId: vl.host, key };
}

const VM_MEMORY = new Set(['total', 'rss', 'available', 'usable', 'unused']);

function vmKey(vl: ValueList): string | null {
  switch (vl.type) {
    case 'virt_cpu_total':
      return 'cpu';
    case 'virt_vcpu':
      return `vcpu/${vl.type_instance}`;
    case 'memory':
      return VM_MEMORY.has(vl.type_instance) ? `mem/${vl.type_instance}` : null;
    case 'disk_octets':
      return `disk/${vl.type_instance}`;
    case 'if_octets':
      return `if/${vl.type_instance}`;
    default:
      return null;
  }
}

function hostKey(vl: ValueList): string | null {
  // Per-CPU values (ReportByCpu true) carry a plugin instance; we read only the aggregate.
  if (vl.plugin === 'cpu' && vl.plugin_instance === '') {
    if (vl.type === 'count') return 'cpu/count';
    if (vl.type === 'percent') return `cpu/${vl.type_instance}`;
    return null;
  }
  if (vl.plugin === 'memory' && vl.type === 'memory') return `mem/${vl.type_instance}`;
  if (vl.plugin === 'interface' && vl.type === 'if_octets') return `if/${vl.plugin_instance}`;
  if (vl.plugin === 'disk' && vl.type === 'disk_octets') return `disk/${vl.plugin_instance}`;
  return null;
}

/** A sample, or what kept the value lists from making one (phrases for the DLQ reason). */
export type Built<T> = { sample: T } | { missing: string[] };

type Lists = ReadonlyMap<string, ValueList>;

function first(lists: Lists, key: string, dsName = 'value'): number | null | undefined {
  const vl = lists.get(key);
  return vl === undefined ? undefined : ds(vl, dsName);
}

/** Sums one data source over every value list whose key starts with `prefix`; null if any has no rate yet. */
function sum(lists: Lists, prefix: string, dsName: string, noRate: string[]): number {
  let total = 0;
  for (const [key, vl] of lists) {
    if (!key.startsWith(prefix)) continue;
    const v = ds(vl, dsName);
    if (v === null || v === undefined) noRate.push(`${vl.type}${vl.type_instance ? `-${vl.type_instance}` : ''}${vl.plugin_instance && vl.plugin !== 'virt' ? ` (${vl.plugin_instance})` : ''}.${dsName}`);
    else total += v;
  }
  return total;
}

function noRateReasons(noRate: string[]): string[] {
  return noRate.length === 0 ? [] : [`no rate yet for ${[...new Set(noRate)].join(', ')} (collectd's first read of a counter)`];
}

/** Disk and network bytes/s summed over devices (a VM's or the host's); counters without a rate yet go to `noRate`. */
function ioRates(lists: Lists, noRate: string[]): { diskReadBps: number; diskWriteBps: number; netRxBps: number; netTxBps: number } {
  return {
    diskReadBps: sum(lists, 'disk/', 'read', noRate),
    diskWriteBps: sum(lists, 'disk/', 'write', noRate),
    netRxBps: sum(lists, 'if/', 'rx', noRate),
    netTxBps: sum(lists, 'if/', 'tx', noRate),
  };
}

/**
 * Guest memory in use. A guest with a balloon driver reports its own view (available − usable,
 * i.e. without reclaimable cache; or available − unused); without one only the QEMU process's
 * RSS on the host is known, capped at the allocation (QEMU's own overhead is not the guest's use).
 */
function vmMemUsed(lists: Lists, total: number): number | undefined {
  const available = first(lists, 'mem/available');
  const usable = first(lists, 'mem/usable');
  const unused = first(lists, 'mem/unused');
  if (typeof available === 'number' && typeof usable === 'number') return Math.max(0, available - usable);
  if (typeof available === 'number' && typeof unused === 'number') return Math.max(0, available - unused);
  const rss = first(lists, 'mem/rss');
  return typeof rss === 'number' ? Math.min(rss, total) : undefined;
}

/** One VM's sample from its value lists of one interval. */
export function buildVmSample(hostId: string, vmId: string, ts: number, lists: Lists): Built<VmSample> {
  const missing: string[] = [];
  const noRate: string[] = [];
  const cpu = first(lists, 'cpu');
  if (cpu === undefined) missing.push('missing virt_cpu_total');
  else if (cpu === null) noRate.push('virt_cpu_total');
  const vcpus = [...lists.keys()].filter((k) => k.startsWith('vcpu/')).length;
  if (vcpus === 0) missing.push('missing virt_vcpu (set ExtraStats "vcpu" in the virt plugin)');
  const total = first(lists, 'mem/total');
  if (typeof total !== 'number') missing.push('missing memory-total');
  const used = typeof total === 'number' ? vmMemUsed(lists, total) : undefined;
  if (typeof total === 'number' && used === undefined) missing.push('missing memory-rss or memory-available (set ExtraStats "memory" in the virt plugin)');
  const io = ioRates(lists, noRate);
  missing.push(...noRateReasons(noRate));
  if (missing.length > 0) return { missing };
  return {
    sample: {
      ts, hostId, vmId,
      cpuUsedCores: (cpu as number) / 1e9,
      vcpus,
      memUsedBytes: Math.round(used!),
      memTotalBytes: Math.round(total as number),
      ...io,
      // collectd 5.12's virt plugin has no vCPU delay (libvirt's vcpu.N.delay is newer): not measured.
      vcpuDelayPct: 0,
    },
  };
}

/** CPU states that are not work: idle, waiting for I/O, and time a hypervisor below stole. */
const NOT_BUSY = new Set(['idle', 'wait', 'steal']);

/** The host's own sample from its cpu/memory/interface/disk value lists of one interval. */
export function buildHostSample(hostId: string, ts: number, lists: Lists): Built<HostSample> {
  const missing: string[] = [];
  const count = first(lists, 'cpu/count');
  if (typeof count !== 'number') missing.push('missing cpu count (set ReportNumCpu true in the cpu plugin)');
  let all = 0;
  let busy = 0;
  let steal = 0;
  let states = 0;
  for (const [key, vl] of lists) {
    if (!key.startsWith('cpu/') || key === 'cpu/count') continue;
    const v = ds(vl, 'value');
    if (typeof v !== 'number') continue;
    states += 1;
    all += v;
    const state = key.slice(4);
    if (!NOT_BUSY.has(state)) busy += v;
    if (state === 'steal') steal = v;
  }
  if (states === 0 || !lists.has('cpu/idle')) missing.push('missing cpu percent-idle and the other states (set ReportByCpu false, ReportByState true, ValuesPercentage true in the cpu plugin)');
  const memUsed = first(lists, 'mem/used');
  if (typeof memUsed !== 'number' || !lists.has('mem/free')) missing.push('missing memory-used and memory-free (memory plugin, ValuesAbsolute true)');
  let memTotal = 0;
  for (const [key, vl] of lists) if (key.startsWith('mem/')) memTotal += ds(vl, 'value') ?? 0;
  const noRate: string[] = [];
  const io = ioRates(lists, noRate);
  missing.push(...noRateReasons(noRate));
  if (missing.length > 0) return { missing };
  const cores = count as number;
  return {
    sample: {
      ts, hostId,
      // Percentages are of all CPU time; normalise by their sum (collectd's rounding) first.
      cpuUsedCores: all > 0 ? Math.min(cores, Math.max(0, (busy / all) * cores)) : 0,
      cpuCapacityCores: cores,
      memUsedBytes: Math.round(memUsed as number),
      memTotalBytes: Math.round(memTotal),
      ...io,
      cpuStealPct: all > 0 ? Math.min(100, Math.max(0, (steal / all) * 100)) : 0,
    },
  };
}

/** Slots that must be present before a first sample can be judged complete. */
export function hasRequiredSlots(kind: 'vm' | 'host', keys: Iterable<string>): boolean {
  const set = new Set(keys);
  if (kind === 'vm') return set.has('cpu') && set.has('mem/total') && [...set].some((k) => k.startsWith('vcpu/'));
  return set.has('cpu/count') && set.has('cpu/idle') && set.has('mem/used') && set.has('mem/free');
}
