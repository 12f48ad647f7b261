import { decodeSample, encodeHostSample, encodeHostTick, encodeVmSample, LOCAL_SCHEMA_IDS, type HostSample, type SampleErrorCode, type VmSample } from '../schemas/index.ts';
import { seededRandom } from '../core/index.ts';
import type { FleetTick } from './fleet.ts';
import { jsonInsteadOfAvro, truncated, withSchemaId } from './malformed.ts';

/** The kinds of bad input the fuzzer makes; each must end on the DLQ with one of its codes. */
export const FUZZ_KINDS = [
  'empty', 'random-bytes', 'json', 'random-body', 'truncated', 'unknown-schema', 'wrong-type',
  'nan', 'negative', 'huge', 'future-ts', 'past-ts',
  // Host ticks (one message holding a host's sample and its VMs'): cut short, a single
  // sample's body under the tick's schema id, empty, one bad sample inside (alone on the DLQ,
  // the rest stored), a VM of another host inside.
  'tick-truncated', 'tick-wrong-type', 'tick-empty', 'tick-bad-sample', 'tick-foreign-vm',
] as const;
export type FuzzKind = (typeof FUZZ_KINDS)[number];

/** One bad message: its bytes, the sample kind it pretends to be (or a host tick), and what the pipeline must say. */
export interface FuzzCase {
  kind: FuzzKind;
  sampleKind: 'vm' | 'host' | 'tick';
  value: Buffer;
  /**
   * What the DLQ must hold when it is not `value`: the one bad sample of a tick, alone, in the
   * single-sample form. The tick's other samples are then valid and must be stored (`stored`).
   */
  deadValue?: Buffer;
  /** `id|ts` of the valid samples inside a tick that has one bad sample. */
  stored?: { vm: string[]; host: string[] };
  /** DLQ codes that are right for it (a random body may fail to decode or decode to nonsense). */
  codes: readonly SampleErrorCode[];
  /** The field the rejection must name, when the defect is in one field. */
  field?: string;
}

const DOUBLES = {
  vm: ['cpuUsedCores', 'vcpus', 'diskReadBps', 'diskWriteBps', 'netRxBps', 'netTxBps', 'vcpuDelayPct'],
  host: ['cpuUsedCores', 'cpuCapacityCores', 'diskReadBps', 'diskWriteBps', 'netRxBps', 'netTxBps', 'cpuStealPct'],
} as const;
// Avro longs carry integers only (no NaN); ts is one of them.
const LONGS = ['memUsedBytes', 'memTotalBytes'] as const;

const DAY = 86_400_000;
const YEAR = 365 * DAY;

/** Uniform in [lo, hi) on a log scale: "huge" spans many orders of magnitude, not just the top one. */
function logUniform(rand: () => number, lo: number, hi: number): number {
  return Math.exp(Math.log(lo) + rand() * (Math.log(hi) - Math.log(lo)));
}

function pick<T>(rand: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rand() * xs.length)]!;
}

function randomBytes(rand: () => number, length: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

const encode = (kind: 'vm' | 'host', s: VmSample | HostSample): Buffer => (kind === 'vm' ? encodeVmSample(s as VmSample) : encodeHostSample(s as HostSample));
const invalid = (kind: FuzzKind, sampleKind: 'vm' | 'host', sample: VmSample | HostSample, field: string): FuzzCase => ({ kind, sampleKind, value: encode(sampleKind, sample), codes: ['SAMPLE_INVALID_FIELD'], field });

/**
 * One bad message of `kind` derived from valid templates, with random parameters drawn from
 * `rand`. `now` is the producer's clock: bad timestamps are at least an hour (future) or 401
 * days (past) away from it, so they stay bad however late the consumer reads them.
 */
export function fuzzCase(kind: FuzzKind, rand: () => number, vm: VmSample, host: HostSample, now: number, hostVms: readonly VmSample[] = [vm]): FuzzCase {
  if (kind.startsWith('tick-')) return tickCase(kind, rand, host, hostVms, now);
  const sampleKind: 'vm' | 'host' = rand() < 0.7 ? 'vm' : 'host';
  const template: VmSample | HostSample = sampleKind === 'vm' ? vm : host;
  const good = encode(sampleKind, template);
  switch (kind) {
    case 'empty':
      return { kind, sampleKind, value: Buffer.alloc(0), codes: ['SAMPLE_EMPTY'] };
    case 'random-bytes': {
      const value = randomBytes(rand, 1 + Math.floor(rand() * 256));
      value[0] = 1 + Math.floor(rand() * 255); // anything but the magic byte
      return { kind, sampleKind, value, codes: ['SAMPLE_BAD_MAGIC'] };
    }
    case 'json':
      return { kind, sampleKind, value: jsonInsteadOfAvro(vm), codes: ['SAMPLE_BAD_MAGIC'] };
    case 'random-body': {
      const body = randomBytes(rand, Math.floor(rand() * 160));
      return { kind, sampleKind, value: Buffer.concat([withSchemaId(Buffer.alloc(5), LOCAL_SCHEMA_IDS[sampleKind]), body]), codes: ['SAMPLE_UNDECODABLE', 'SAMPLE_INVALID_FIELD'] };
    }
    case 'truncated':
      return { kind, sampleKind, value: truncated(good, 6 + Math.floor(rand() * (good.length - 6))), codes: ['SAMPLE_UNDECODABLE'] };
    case 'unknown-schema': {
      let id = Math.floor(rand() * 2 ** 32);
      if (Object.values(LOCAL_SCHEMA_IDS).includes(id)) id = 0;
      return { kind, sampleKind, value: withSchemaId(good, id), codes: ['SAMPLE_UNKNOWN_SCHEMA'] };
    }
    case 'wrong-type': {
      // A valid header for one record with the body of the other.
      const other = sampleKind === 'vm' ? 'host' : 'vm';
      return { kind, sampleKind, value: withSchemaId(good, LOCAL_SCHEMA_IDS[other]), codes: ['SAMPLE_UNDECODABLE', 'SAMPLE_INVALID_FIELD'] };
    }
    case 'nan': {
      const field = pick(rand, DOUBLES[sampleKind]);
      const v = pick(rand, [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
      return invalid(kind, sampleKind, { ...template, [field]: v }, field);
    }
    case 'negative': {
      const field = pick(rand, [...DOUBLES[sampleKind], ...LONGS, 'ts']);
      const magnitude = logUniform(rand, 1e-3, 1e12);
      const v = field === 'ts' || (LONGS as readonly string[]).includes(field) ? -Math.ceil(magnitude) : -magnitude;
      return invalid(kind, sampleKind, { ...template, [field]: v }, field);
    }
    case 'huge': {
      const field = pick(rand, [...DOUBLES[sampleKind], ...LONGS]);
      // Longs must stay safe integers (Avro encodes them exactly); doubles go up to 1e300.
      const v = (LONGS as readonly string[]).includes(field) ? Math.floor(logUniform(rand, 2 ** 50 + 2, Number.MAX_SAFE_INTEGER)) : logUniform(rand, 1e13, 1e300);
      return invalid(kind, sampleKind, { ...template, [field]: v }, field);
    }
    case 'future-ts':
      return invalid(kind, sampleKind, { ...template, ts: now + Math.floor(logUniform(rand, 3_600_000, 30 * YEAR)) }, 'ts');
    case 'past-ts':
      return invalid(kind, sampleKind, { ...template, ts: Math.max(1, now - Math.floor(logUniform(rand, 401 * DAY, 60 * YEAR))) }, 'ts');
    default:
      throw new Error(`fuzz kind ${kind} is a tick kind`);
  }
}

const VALUE_DEFECTS = ['nan', 'negative', 'huge', 'future-ts', 'past-ts'] as const;
const keyOf = (s: VmSample | HostSample) => `${'vmId' in s ? s.vmId : s.hostId}|${s.ts}`;

/** A host tick (`host` and its VMs) made bad in one of the tick ways; see FUZZ_KINDS. */
function tickCase(kind: FuzzKind, rand: () => number, host: HostSample, vms: readonly VmSample[], now: number): FuzzCase {
  const good = encodeHostTick({ host, vms: [...vms] });
  switch (kind) {
    case 'tick-truncated':
      // Avro ends the VM array with a 0 byte: any cut leaves the decoder short of input.
      return { kind, sampleKind: 'tick', value: truncated(good, 6 + Math.floor(rand() * (good.length - 6))), codes: ['SAMPLE_UNDECODABLE'] };
    case 'tick-wrong-type': {
      // A single sample's body under the tick's id: its first field (ts, a large long) is no union index.
      const single = rand() < 0.5 ? encodeVmSample(vms[0]!) : encodeHostSample(host);
      return { kind, sampleKind: 'tick', value: withSchemaId(single, LOCAL_SCHEMA_IDS.tick), codes: ['SAMPLE_UNDECODABLE'] };
    }
    case 'tick-empty':
      return { kind, sampleKind: 'tick', value: encodeHostTick({ host: null, vms: [] }), codes: ['SAMPLE_EMPTY'] };
    case 'tick-bad-sample': {
      // One sample of the tick (the host's or a VM's, as fuzzCase draws it) gets a value defect.
      const one = fuzzCase(pick(rand, VALUE_DEFECTS), rand, pick(rand, vms), host, now);
      const bad = decodeSample(one.value).sample;
      const onHost = one.sampleKind === 'host';
      const at = onHost ? -1 : vms.findIndex((v) => v.vmId === (bad as VmSample).vmId);
      const tick = onHost ? { host: bad as HostSample, vms: [...vms] } : { host, vms: vms.map((v, i) => (i === at ? (bad as VmSample) : v)) };
      const stored = { vm: vms.filter((_, i) => i !== at).map(keyOf), host: onHost ? [] : [keyOf(host)] };
      return { kind, sampleKind: 'tick', value: encodeHostTick(tick), deadValue: one.value, codes: one.codes, field: one.field, stored };
    }
    case 'tick-foreign-vm': {
      const at = Math.floor(rand() * vms.length);
      const foreign = { ...vms[at]!, hostId: `${host.hostId}-other` };
      const stored = { vm: vms.filter((_, i) => i !== at).map(keyOf), host: [keyOf(host)] };
      return { kind, sampleKind: 'tick', value: encodeHostTick({ host, vms: vms.map((v, i) => (i === at ? foreign : v)) }), deadValue: encodeVmSample(foreign), codes: ['SAMPLE_INVALID_FIELD'], field: 'hostId', stored };
    }
    default:
      throw new Error(`fuzz kind ${kind} is not a tick kind`);
  }
}

/** `count` bad messages, the kinds in rotation (equal shares), templates drawn from the ticks. */
export function fuzzCases(count: number, ticks: readonly FleetTick[], opts: { seed: number; now: number }): FuzzCase[] {
  const rand = seededRandom(opts.seed);
  return Array.from({ length: count }, (_, i) => {
    const tick = pick(rand, ticks);
    const host = pick(rand, tick.hosts);
    const hostVms = tick.vms.filter((v) => v.hostId === host.hostId);
    return fuzzCase(FUZZ_KINDS[i % FUZZ_KINDS.length]!, rand, pick(rand, tick.vms), host, opts.now, hostVms.length > 0 ? hostVms : [pick(rand, tick.vms)]);
  });
}

/** One message of mixed traffic: a bad one carries its case, keyed `fuzz-<n>` so its DLQ copy can be found. */
export interface TrafficMessage {
  /** A single sample of this kind, or a host tick (which goes to the VM topic, as producers send it). */
  sampleKind: 'vm' | 'host' | 'tick';
  key: string;
  value: Buffer;
  bad?: FuzzCase;
}

export interface FuzzTraffic {
  messages: TrafficMessage[];
  /** Bad cases by message key. */
  bad: Map<string, FuzzCase>;
  /** `id|ts` of every valid message sent, repeats included (each must be stored exactly once). */
  valid: { vm: string[]; host: string[] };
}

/**
 * Valid samples of the ticks, a share of them sent twice, all in shuffled order (so a series'
 * timestamps arrive repeated and out of order, which is valid), with `badCount` fuzz cases
 * mixed in at random places. Each host's samples of a tick go either as one host tick or as
 * single-sample messages (half each: both forms are on the wire, from new and old producers).
 * Deterministic from the seed.
 */
export function fuzzTraffic(ticks: readonly FleetTick[], opts: { seed: number; now: number; badCount: number; repeatShare?: number }): FuzzTraffic {
  const rand = seededRandom(opts.seed ^ 0x5eed);
  const messages: TrafficMessage[] = [];
  const valid = { vm: [] as string[], host: [] as string[] };
  const repeat = () => rand() < (opts.repeatShare ?? 0.1);
  for (const tick of ticks) {
    for (const h of tick.hosts) {
      const vms = tick.vms.filter((v) => v.hostId === h.hostId);
      if (rand() < 0.5) {
        const m: TrafficMessage = { sampleKind: 'tick', key: h.hostId, value: encodeHostTick({ host: h, vms }) };
        for (let n = repeat() ? 2 : 1; n > 0; n--) {
          messages.push({ ...m });
          valid.host.push(keyOf(h));
          valid.vm.push(...vms.map(keyOf));
        }
        continue;
      }
      for (const v of vms) {
        const m: TrafficMessage = { sampleKind: 'vm', key: v.hostId, value: encodeVmSample(v) };
        for (let n = repeat() ? 2 : 1; n > 0; n--) (messages.push({ ...m }), valid.vm.push(keyOf(v)));
      }
      const m: TrafficMessage = { sampleKind: 'host', key: h.hostId, value: encodeHostSample(h) };
      for (let n = repeat() ? 2 : 1; n > 0; n--) (messages.push({ ...m }), valid.host.push(keyOf(h)));
    }
  }
  const bad = new Map<string, FuzzCase>();
  fuzzCases(opts.badCount, ticks, { seed: opts.seed, now: opts.now }).forEach((c, i) => {
    const key = `fuzz-${i}`;
    bad.set(key, c);
    messages.push({ sampleKind: c.sampleKind, key, value: c.value, bad: c });
    if (c.stored) {
      valid.vm.push(...c.stored.vm);
      valid.host.push(...c.stored.host);
    }
  });
  // Fisher-Yates: good and bad interleaved, each series' samples out of time order.
  for (let i = messages.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [messages[i], messages[j]] = [messages[j]!, messages[i]!];
  }
  return { messages, bad, valid };
}
