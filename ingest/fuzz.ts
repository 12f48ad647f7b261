import { encodeHostSample, encodeVmSample, LOCAL_SCHEMA_IDS, type HostSample, type SampleErrorCode, type VmSample } from '../schemas/index.ts';
import { seededRandom } from '../core/index.ts';
import type { FleetTick } from './fleet.ts';
import { jsonInsteadOfAvro, truncated, withSchemaId } from './malformed.ts';

/** The kinds of bad input the fuzzer makes; each must end on the DLQ with one of its codes. */
export const FUZZ_KINDS = [
  'empty', 'random-bytes', 'json', 'random-body', 'truncated', 'unknown-schema', 'wrong-type',
  'nan', 'negative', 'huge', 'future-ts', 'past-ts',
] as const;
export type FuzzKind = (typeof FUZZ_KINDS)[number];

/** One bad message: its bytes, the sample kind it pretends to be, and what the pipeline must say. */
export interface FuzzCase {
  kind: FuzzKind;
  sampleKind: 'vm' | 'host';
  value: Buffer;
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
export function fuzzCase(kind: FuzzKind, rand: () => number, vm: VmSample, host: HostSample, now: number): FuzzCase {
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
      if (id === LOCAL_SCHEMA_IDS.vm || id === LOCAL_SCHEMA_IDS.host) id = 0;
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
  }
}

/** `count` bad messages, the kinds in rotation (equal shares), templates drawn from the ticks. */
export function fuzzCases(count: number, ticks: readonly FleetTick[], opts: { seed: number; now: number }): FuzzCase[] {
  const rand = seededRandom(opts.seed);
  return Array.from({ length: count }, (_, i) => {
    const tick = pick(rand, ticks);
    return fuzzCase(FUZZ_KINDS[i % FUZZ_KINDS.length]!, rand, pick(rand, tick.vms), pick(rand, tick.hosts), opts.now);
  });
}

/** One message of mixed traffic: a bad one carries its case, keyed `fuzz-<n>` so its DLQ copy can be found. */
export interface TrafficMessage {
  sampleKind: 'vm' | 'host';
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
 * mixed in at random places. Deterministic from the seed.
 */
export function fuzzTraffic(ticks: readonly FleetTick[], opts: { seed: number; now: number; badCount: number; repeatShare?: number }): FuzzTraffic {
  const rand = seededRandom(opts.seed ^ 0x5eed);
  const messages: TrafficMessage[] = [];
  const valid = { vm: [] as string[], host: [] as string[] };
  const addValid = (m: TrafficMessage, key: string) => {
    messages.push(m);
    valid[m.sampleKind].push(key);
  };
  for (const tick of ticks) {
    for (const v of tick.vms) {
      const m: TrafficMessage = { sampleKind: 'vm', key: v.hostId, value: encodeVmSample(v) };
      addValid(m, `${v.vmId}|${v.ts}`);
      if (rand() < (opts.repeatShare ?? 0.1)) addValid({ ...m }, `${v.vmId}|${v.ts}`);
    }
    for (const h of tick.hosts) {
      const m: TrafficMessage = { sampleKind: 'host', key: h.hostId, value: encodeHostSample(h) };
      addValid(m, `${h.hostId}|${h.ts}`);
      if (rand() < (opts.repeatShare ?? 0.1)) addValid({ ...m }, `${h.hostId}|${h.ts}`);
    }
  }
  const bad = new Map<string, FuzzCase>();
  fuzzCases(opts.badCount, ticks, { seed: opts.seed, now: opts.now }).forEach((c, i) => {
    const key = `fuzz-${i}`;
    bad.set(key, c);
    messages.push({ sampleKind: c.sampleKind, key, value: c.value, bad: c });
  });
  // Fisher-Yates: good and bad interleaved, each series' samples out of time order.
  for (let i = messages.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [messages[i], messages[j]] = [messages[j]!, messages[i]!];
  }
  return { messages, bad, valid };
}
