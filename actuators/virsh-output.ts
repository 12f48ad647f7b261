import { NovaError, type RawDomainStats } from '../core/index.ts';
import type { DomainInfo, DomainStats, MigrationProgress } from './hypervisor.ts';

// Parsers for virsh's human-readable output. virsh is run with LC_ALL=C, so the labels are
// the English ones below; anything else is reported rather than guessed at.

function unexpected(what: string, text: string): NovaError {
  return new NovaError('HYPERVISOR_OUTPUT_UNEXPECTED', `virsh printed ${what} in an unexpected form; is this a libvirt/virsh version the actuators support?`, {
    details: { output: text.slice(0, 2000) },
  });
}

/** `Label:   value` lines of one block (nodeinfo, dominfo) as a map. */
export function keyValues(block: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of block.split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) out.set(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return out;
}

function integer(fields: Map<string, string>, key: string, block: string): number {
  const value = fields.get(key);
  if (value === undefined || !/^\d+$/.test(value)) throw unexpected(`"${key}"`, block);
  return Number(value);
}

function kibAsBytes(fields: Map<string, string>, key: string, block: string): number {
  const match = /^(\d+) KiB$/.exec(fields.get(key) ?? '');
  if (!match) throw unexpected(`"${key}"`, block);
  return Number(match[1]) * 1024;
}

/** Parses `virsh nodeinfo`. */
export function parseNodeInfo(text: string): { cpus: number; memoryBytes: number } {
  const fields = keyValues(text);
  return { cpus: integer(fields, 'CPU(s)', text), memoryBytes: kibAsBytes(fields, 'Memory size', text) };
}

/** Parses `virsh list --name`: one name per line, blank lines ignored. */
export function parseNameList(text: string): string[] {
  return text.split('\n').filter((line) => line.trim() !== '');
}

/** Parses the output of several `dominfo` commands run in one virsh call, in order. */
export function parseDomInfos(text: string): DomainInfo[] {
  // Every dominfo block starts with its `Id:` line.
  const blocks = text.split(/^(?=Id:)/m).filter((b) => b.trim() !== '');
  return blocks.map((block) => {
    const fields = keyValues(block);
    const name = fields.get('Name');
    const state = fields.get('State');
    if (name === undefined || state === undefined) throw unexpected('dominfo', block);
    return { name, state, vcpus: integer(fields, 'CPU(s)', block), memoryBytes: kibAsBytes(fields, 'Max memory', block) };
  });
}

/** Quotes one argument for virsh's own command-string parser (shell-like: '...' is literal). */
export function virshQuote(arg: string): string {
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

// libvirt's virDomainState numbers, in virsh's words (what `virsh domstate` and dominfo print).
const DOMAIN_STATES = ['no state', 'running', 'idle', 'paused', 'in shutdown', 'shut off', 'crashed', 'pmsuspended'] as const;

/** virsh's word for a virDomainState number (state.state of domstats, virDomainGetInfo's state). */
export function domainStateName(state: number): string {
  return DOMAIN_STATES[state] ?? `state ${state}`;
}

export { parseDomStatsRaw, type RawDomainStats } from '../core/index.ts';

function num(fields: Map<string, string | number>, key: string): number {
  const v = fields.get(key);
  return typeof v === 'number' ? v : 0;
}

function str(fields: Map<string, string | number>, key: string): string {
  const v = fields.get(key);
  return v === undefined ? '' : String(v);
}

/**
 * The port's view of one domain's bulk stats. Counters the driver does not report are 0
 * (libvirt's test driver reports only state.*); balloon figures are KiB in libvirt, bytes here.
 */
export function toDomainStats(raw: RawDomainStats): DomainStats {
  const f = raw.fields;
  const stats: DomainStats = {
    name: raw.name,
    state: domainStateName(num(f, 'state.state')),
    cpuTimeNs: num(f, 'cpu.time'),
    vcpus: num(f, 'vcpu.current'),
    balloonCurrentBytes: num(f, 'balloon.current') * 1024,
    balloonMaximumBytes: num(f, 'balloon.maximum') * 1024,
    block: [],
    net: [],
  };
  if (f.has('balloon.rss')) stats.balloonRssBytes = num(f, 'balloon.rss') * 1024;
  for (let i = 0; i < num(f, 'block.count'); i++) {
    const p = `block.${i}.`;
    stats.block.push({ name: str(f, `${p}name`), readBytes: num(f, `${p}rd.bytes`), writeBytes: num(f, `${p}wr.bytes`), readRequests: num(f, `${p}rd.reqs`), writeRequests: num(f, `${p}wr.reqs`) });
  }
  for (let i = 0; i < num(f, 'net.count'); i++) {
    const p = `net.${i}.`;
    // A NIC without a host-side device (e.g. user-mode networking) is counted but has no figures.
    if (!f.has(`${p}name`)) continue;
    stats.net.push({ name: str(f, `${p}name`), rxBytes: num(f, `${p}rx.bytes`), txBytes: num(f, `${p}tx.bytes`), rxPackets: num(f, `${p}rx.pkts`), txPackets: num(f, `${p}tx.pkts`) });
  }
  return stats;
}

/** libvirt's virDomainJobType: what `Job type:` of `domjobinfo --rawstats` says. */
export const JOB_TYPE = { none: 0, bounded: 1, unbounded: 2, completed: 3, failed: 4, cancelled: 5 } as const;

/** A domain's job as `virsh domjobinfo --rawstats` prints it (type, then raw typed parameters). */
export interface RawJobInfo {
  type: number;
  fields: Map<string, string | number>;
}

/** Parses `virsh domjobinfo --rawstats`. */
export function parseJobInfoRaw(text: string): RawJobInfo {
  const head = /^Job type: (\d+)\s*$/m.exec(text);
  if (!head) throw unexpected('domjobinfo', text);
  const fields = new Map<string, string | number>();
  for (const line of text.slice(head.index + head[0].length).split('\n')) {
    const m = /^([A-Za-z0-9_.-]+): (.*)$/.exec(line.trim());
    if (m) fields.set(m[1]!, /^-?\d+(\.\d+)?$/.test(m[2]!) ? Number(m[2]) : m[2]!);
  }
  return { type: Number(head[1]), fields };
}

/** Migration progress from a job's typed parameters (time_elapsed ms, data_* bytes). */
export function toMigrationProgress(job: RawJobInfo): MigrationProgress {
  return {
    elapsedMs: num(job.fields, 'time_elapsed'),
    dataTotalBytes: num(job.fields, 'data_total'),
    dataProcessedBytes: num(job.fields, 'data_processed'),
    dataRemainingBytes: num(job.fields, 'data_remaining'),
  };
}
