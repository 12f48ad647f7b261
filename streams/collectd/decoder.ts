import type { IncomingMessage } from '../../core/index.ts';
import { SampleError, validateSample, DEFAULT_LIMITS, type HostSample, type Sample, type ValidationLimits, type VmSample } from '../../schemas/index.ts';
import type { Rejection } from '../dead-letter.ts';
import type { BatchDecoder, DecodedBatch } from '../decoder.ts';
import { buildHostSample, buildVmSample, hasRequiredSlots, slotOf, type Built, type Slot } from './mapping.ts';
import { parseValueLists, type ValueList } from './value-list.ts';

/** Stable DLQ codes of the collectd decoder (besides validateSample's SAMPLE_* codes). */
export const COLLECTD_CODES = {
  /** The message is not JSON. */
  badJson: 'COLLECTD_BAD_JSON',
  /** JSON, but not an array of collectd value lists (the field is named). */
  badShape: 'COLLECTD_BAD_SHAPE',
  /** An interval's value lists did not make a whole sample (what was missing is named). */
  incomplete: 'COLLECTD_INCOMPLETE',
  /** A value list for an interval that was already closed. */
  late: 'COLLECTD_LATE',
  /** An open group pushed out by the cap on open groups. */
  evicted: 'COLLECTD_EVICTED',
} as const;

/** Header on a group's DLQ record: the offsets of every message its value lists came from. */
export const COLLECTD_SOURCE_OFFSETS_HEADER = 'novacron-collectd-source-offsets';

export interface CollectdDecoderOptions {
  /** Most groups (one per VM or host and interval) open at once; beyond it the least recently fed is closed. */
  maxOpenGroups?: number;
  /** Most series (VMs + hosts) whose last interval is remembered (for completeness and lateness). */
  maxSeries?: number;
  /** An open group that received nothing for this long, in broker time of the stream, is closed. */
  idleMs?: number;
  limits?: ValidationLimits;
}

export interface CollectdDecoderStats {
  valueLists: number;
  /** Value lists of plugins/types no sample uses (disk_ops, load, ...). */
  ignored: number;
  samples: number;
  incomplete: number;
  late: number;
  evicted: number;
}

interface Group {
  id: string;
  slot: Slot;
  /** Time (s) of the first value list, the start of the interval as this group sees it. */
  anchor: number;
  interval: number;
  maxTime: number;
  lists: Map<string, ValueList>;
  sources: IncomingMessage[];
  /** Broker timestamp (ms) of the last message that fed it. */
  lastSeen: number;
  /** How many of the series' expected slots are present. */
  matched: number;
}

interface Series {
  /** The slots of the last whole sample: a group holding all of them is complete. */
  shape?: Set<string>;
  /** Per slot, the time of the value list the last closed group consumed; older ones are late. */
  closedTimes?: Map<string, number>;
  closedMaxTime?: number;
}

type CloseReason = 'complete' | 'next-interval' | 'idle' | 'evicted';

/**
 * Decodes collectd's write_kafka JSON (Format JSON, StoreRates true) into VM and host samples.
 *
 * One sample needs several value lists (cpu, vcpus, memory, disks, NICs), sent as separate
 * messages, so they are grouped per (host, VM) and interval. A group closes when:
 * - it holds every slot the series' previous sample had (its "shape"): emitted at once;
 * - a later interval of the same series arrives (a slot repeats, or a value list half an interval
 *   or more after the group's first): emitted if the required slots are there, else rejected COLLECTD_INCOMPLETE naming
 *   what was missing. A series' first group (no shape yet) always closes this way;
 * - nothing fed it for `idleMs` of stream time (the VM left the host, or the host went silent);
 * - the cap on open groups is hit: the least recently fed is closed (COLLECTD_EVICTED if incomplete).
 * A group's DLQ record is a collectd JSON array of the value lists it had, keyed by the host, with
 * the source offsets in a header: nothing is dropped silently.
 *
 * Crash trade-off: the worker commits a batch's offsets once decode() returned and the samples
 * were stored, so the value lists of a group still open at that moment are committed but live
 * only in this object. If the worker dies (or the partition moves to another worker), those
 * groups are lost: the next owner starts mid-interval, its first group for each series is
 * incomplete and goes to the DLQ. At most one interval per VM is lost per crash or rebalance.
 * Holding the commit back to the oldest open group's offset would avoid it, but BatchDecoder
 * cannot tell the worker what to commit (a batch is committed whole), so we accept the loss.
 * A batch the worker delivers again (its store write failed for good, or a rebalance handed it
 * back) finds its value lists already consumed here: they are dead-lettered COLLECTD_LATE, not
 * grouped twice. Telling a replay from reordering would need the partition, which a decoder is
 * not given (offsets of one key can differ per partition: write_kafka sends its first messages
 * to any partition until it has the topic's metadata); the worker retries retriable store
 * failures in place, so replays are rare, and a poison batch then passes instead of looping.
 * Value lists of one host must reach one worker: write_kafka's `Key` must be the host id
 * (ingest/collectd sets it), so a host's messages stay in one partition, in order.
 */
export class CollectdDecoder implements BatchDecoder {
  readonly stats: CollectdDecoderStats = { valueLists: 0, ignored: 0, samples: 0, incomplete: 0, late: 0, evicted: 0 };
  private readonly groups = new Map<string, Group>();
  private readonly series = new Map<string, Series>();
  private readonly maxOpenGroups: number;
  private readonly maxSeries: number;
  private readonly idleMs: number;
  private readonly limits: ValidationLimits;
  /** Newest broker timestamp seen: the stream's own clock (right while catching up on a backlog too). */
  private streamClock = 0;

  constructor(options: CollectdDecoderOptions = {}) {
    this.maxOpenGroups = options.maxOpenGroups ?? 20_000;
    this.maxSeries = options.maxSeries ?? 200_000;
    this.idleMs = options.idleMs ?? 10 * 60_000;
    this.limits = options.limits ?? DEFAULT_LIMITS;
  }

  /** Groups waiting for more value lists. */
  get openGroups(): number {
    return this.groups.size;
  }

  decode(messages: readonly IncomingMessage[], now: number): DecodedBatch {
    const out: DecodedBatch = { samples: [], rejects: [] };
    for (const message of messages) {
      if (message.timestamp > this.streamClock) this.streamClock = message.timestamp;
      const parsed = parseValueLists(message.value);
      if (!Array.isArray(parsed)) {
        out.rejects.push({ message, rejection: { code: parsed.code, reason: parsed.reason, ...(parsed.field ? { field: parsed.field } : {}) } });
        continue;
      }
      const slots = parsed.map(slotOf);
      const problem = slots.findIndex((s) => s !== null && 'problem' in s);
      if (problem >= 0) {
        const p = slots[problem] as { problem: string; field: string };
        out.rejects.push({ message, rejection: { code: COLLECTD_CODES.badShape, reason: p.problem, field: `[${problem}].${p.field}` } });
        continue;
      }
      this.stats.valueLists += parsed.length;
      for (let i = 0; i < parsed.length; i++) {
        const slot = slots[i] as Slot | null;
        if (slot === null) this.stats.ignored += 1;
        else this.add(parsed[i]!, slot, message, out, now);
      }
    }
    this.closeIdle(out, now);
    return out;
  }

  private add(vl: ValueList, slot: Slot, message: IncomingMessage, out: DecodedBatch, now: number): void {
    const id = slot.kind === 'vm' ? `${slot.hostId}\u0000${slot.vmId}` : `${slot.hostId}\u0000`;
    const series = this.touchSeries(id);
    let group = this.groups.get(id);
    const closedTime = series.closedTimes?.get(slot.key);
    // Late: not newer than what the last closed interval consumed for this slot, older than the
    // open interval, or a slot the last sample lacked (a hot-plugged disk) within its closed interval.
    let late = (closedTime !== undefined && vl.time <= closedTime) || (group !== undefined && vl.time < group.anchor - group.interval / 2);
    if (!late && !group && closedTime === undefined && series.closedMaxTime !== undefined && vl.time < series.closedMaxTime + vl.interval / 2) {
      late = true;
      series.shape?.add(slot.key); // wait for it from the next interval on
    }
    if (late) {
      this.stats.late += 1;
      out.rejects.push({
        message: this.recordOf(slot.hostId, [vl], [message]),
        rejection: { code: COLLECTD_CODES.late, reason: `${describe(vl)} at ${iso(vl.time)} arrived after its interval was closed (delivered again, or out of order: use WriteThreads 1 and the host id as write_kafka Key)`, field: 'time' },
      });
      return;
    }
    // A read's value lists are dispatched within milliseconds of each other (and the host's
    // plugins are scheduled together): half an interval past the group's first one is the next read.
    if (group && (group.lists.has(slot.key) || vl.time >= group.anchor + group.interval / 2)) {
      this.close(group, 'next-interval', out, now);
      group = undefined;
    }
    if (!group) {
      group = { id, slot, anchor: vl.time, interval: vl.interval, maxTime: vl.time, lists: new Map(), sources: [], lastSeen: message.timestamp, matched: 0 };
      this.groups.set(id, group);
      if (this.groups.size > this.maxOpenGroups) this.close(this.groups.values().next().value!, 'evicted', out, now);
    } else {
      // Re-insert: the Map's order is least recently fed first (idle sweep and eviction read it from the front).
      this.groups.delete(id);
      this.groups.set(id, group);
    }
    if (series.shape?.has(slot.key)) group.matched += 1;
    group.lists.set(slot.key, vl);
    if (vl.time > group.maxTime) group.maxTime = vl.time;
    if (group.sources[group.sources.length - 1] !== message) group.sources.push(message);
    group.lastSeen = Math.max(group.lastSeen, message.timestamp);
    if (series.shape && group.matched === series.shape.size) this.close(group, 'complete', out, now);
  }

  private close(group: Group, why: CloseReason, out: DecodedBatch, now: number): void {
    this.groups.delete(group.id);
    const series = this.touchSeries(group.id);
    series.closedTimes = new Map([...group.lists].map(([k, vl]) => [k, vl.time]));
    series.closedMaxTime = group.maxTime;
    const ts = Math.round(group.maxTime * 1000);
    const { slot } = group;
    const built = slot.kind === 'vm' ? wrap('vm', buildVmSample(slot.hostId, slot.vmId, ts, group.lists)) : wrap('host', buildHostSample(slot.hostId, ts, group.lists));
    // The slots of a structurally whole group become the shape, even if a rate was still missing.
    if (hasRequiredSlots(slot.kind, group.lists.keys())) series.shape = new Set(group.lists.keys());
    const record = () => this.recordOf(slot.hostId, [...group.lists.values()], group.sources);
    if ('missing' in built) {
      const code = why === 'evicted' ? COLLECTD_CODES.evicted : COLLECTD_CODES.incomplete;
      if (why === 'evicted') this.stats.evicted += 1;
      else this.stats.incomplete += 1;
      const when = { 'next-interval': 'the next interval arrived first', idle: `nothing more came for ${Math.round(this.idleMs / 1000)} s`, evicted: `more than ${this.maxOpenGroups} groups were open`, complete: '' }[why];
      out.rejects.push({ message: record(), rejection: { code, reason: `incomplete ${describeSeries(slot)} sample at ${iso(group.maxTime)} (${when}): ${built.missing.join('; ')}` } });
      return;
    }
    const sample = built.sample;
    try {
      validateSample(sample, now, this.limits);
    } catch (err) {
      if (!(err instanceof SampleError)) throw err;
      const rejection: Rejection = { code: err.code, reason: `${describeSeries(slot)}: ${err.message}`, ...(err.field ? { field: err.field } : {}) };
      out.rejects.push({ message: record(), rejection });
      return;
    }
    this.stats.samples += 1;
    out.samples.push(sample);
  }

  private closeIdle(out: DecodedBatch, now: number): void {
    for (const group of this.groups.values()) {
      if (group.lastSeen >= this.streamClock - this.idleMs) break; // least recently fed first
      this.close(group, 'idle', out, now);
    }
  }

  private touchSeries(id: string): Series {
    let s = this.series.get(id);
    if (s) this.series.delete(id);
    else s = {};
    this.series.set(id, s);
    // Forgetting a series costs one interval of latency (its next group waits for the one after).
    if (this.series.size > this.maxSeries) this.series.delete(this.series.keys().next().value!);
    return s;
  }

  /** A DLQ record in collectd's own format: what we had, replayable through this decoder. */
  private recordOf(hostId: string, lists: ValueList[], sources: IncomingMessage[]): IncomingMessage {
    const firstSource = sources[0]!;
    return {
      key: hostId,
      value: Buffer.from(JSON.stringify(lists)),
      headers: { ...firstSource.headers, [COLLECTD_SOURCE_OFFSETS_HEADER]: sources.map((m) => m.offset).join(',').slice(0, 4000) },
      offset: firstSource.offset,
      timestamp: firstSource.timestamp,
    };
  }
}

function wrap(kind: 'vm', b: Built<VmSample>): { sample: Sample } | { missing: string[] };
function wrap(kind: 'host', b: Built<HostSample>): { sample: Sample } | { missing: string[] };
function wrap(kind: 'vm' | 'host', b: Built<VmSample> | Built<HostSample>): { sample: Sample } | { missing: string[] } {
  if ('missing' in b) return b;
  return { sample: (kind === 'vm' ? { kind, sample: b.sample } : { kind, sample: b.sample }) as Sample };
}

function describeSeries(slot: Slot): string {
  return slot.kind === 'vm' ? `VM ${slot.vmId} on ${slot.hostId}` : `host ${slot.hostId}`;
}

function describe(vl: ValueList): string {
  const p = vl.plugin_instance ? `${vl.plugin}-${vl.plugin_instance}` : vl.plugin;
  const t = vl.type_instance ? `${vl.type}-${vl.type_instance}` : vl.type;
  return `${vl.host}/${p}/${t}`;
}

function iso(seconds: number): string {
  return new Date(Math.round(seconds * 1000)).toISOString();
}
