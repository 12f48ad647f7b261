import { readFileSync } from 'node:fs';
import avro from 'avsc';
import type { HostSample, HostTick, Sample, VmSample } from './types.ts';

/** Stable codes of the reasons a message is not a usable sample (sent to the DLQ). */
export type SampleErrorCode =
  | 'SAMPLE_EMPTY'
  | 'SAMPLE_BAD_MAGIC'
  | 'SAMPLE_UNKNOWN_SCHEMA'
  | 'SAMPLE_UNDECODABLE'
  | 'SAMPLE_INVALID_FIELD';

/** A message that cannot become a stored sample. Never retriable: retrying gives the same answer. */
export class SampleError extends Error {
  readonly retriable = false;
  constructor(
    readonly code: SampleErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'SampleError';
  }
}

export type SampleKind = Sample['kind'];
/** Every schema on the wire: the two single samples and the host tick (a host's samples of one instant). */
export type SchemaKind = SampleKind | 'tick';

/**
 * Maps schema ids to schemas. The local registry has fixed ids; a Confluent-compatible
 * registry can implement the same interface later without changing the wire format.
 */
export interface SchemaRegistry {
  idFor(kind: SchemaKind): number;
  kindFor(id: number): SchemaKind | undefined;
}

export const LOCAL_SCHEMA_IDS: Readonly<Record<SchemaKind, number>> = Object.freeze({ host: 1, vm: 2, tick: 3 });

export const localRegistry: SchemaRegistry = {
  idFor: (kind) => LOCAL_SCHEMA_IDS[kind],
  kindFor: (id) => (id === LOCAL_SCHEMA_IDS.host ? 'host' : id === LOCAL_SCHEMA_IDS.vm ? 'vm' : id === LOCAL_SCHEMA_IDS.tick ? 'tick' : undefined),
};

function loadSchema(file: string, registry: Record<string, avro.Type>): avro.Type {
  const json = JSON.parse(readFileSync(new URL(file, import.meta.url), 'utf8'));
  return avro.Type.forSchema(json, { registry });
}

// One registry of named types: the host tick refers to the two sample records by name, so
// their definition lives once, in their own .avsc files.
const named: Record<string, avro.Type> = {};
const types: Readonly<Record<SchemaKind, avro.Type>> = {
  host: loadSchema('./host-sample.avsc', named),
  vm: loadSchema('./vm-sample.avsc', named),
  tick: loadSchema('./host-tick.avsc', named),
};

/** The parsed Avro schema JSON of a kind (for docs and registries; the tick's with both records inlined). */
export function avroSchema(kind: SchemaKind): object {
  return types[kind].schema() as object;
}

const MAGIC = 0;
const HEADER_BYTES = 5;

function frame(kind: SchemaKind, body: Buffer, registry: SchemaRegistry): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  out.writeUInt8(MAGIC, 0);
  out.writeUInt32BE(registry.idFor(kind), 1);
  body.copy(out, HEADER_BYTES);
  return out;
}

/** Avro binary body behind the Schema Registry wire header: magic byte 0, then the 4-byte big-endian schema id. */
export function encodeSample(sample: Sample, registry: SchemaRegistry = localRegistry): Buffer {
  return frame(sample.kind, types[sample.kind].toBuffer(sample.sample), registry);
}

export const encodeHostSample = (sample: HostSample, registry?: SchemaRegistry): Buffer => encodeSample({ kind: 'host', sample }, registry);
export const encodeVmSample = (sample: VmSample, registry?: SchemaRegistry): Buffer => encodeSample({ kind: 'vm', sample }, registry);

/** One host tick (its sample and its VMs' samples of one instant) as one message, same framing. */
export function encodeHostTick(tick: HostTick, registry: SchemaRegistry = localRegistry): Buffer {
  return frame('tick', types.tick.toBuffer(tick), registry);
}

/** What one wire message holds: a single sample, or a host tick. */
export type DecodedMessage = Sample | { kind: 'tick'; tick: HostTick };

/** Decodes one wire message of any of our schemas; throws SampleError saying exactly what is wrong with it. */
export function decodeMessage(buf: Buffer | null | undefined, registry: SchemaRegistry = localRegistry): DecodedMessage {
  if (!buf || buf.length === 0) throw new SampleError('SAMPLE_EMPTY', 'message has no value');
  if (buf.length < HEADER_BYTES || buf.readUInt8(0) !== MAGIC) {
    throw new SampleError('SAMPLE_BAD_MAGIC', `expected the 5-byte header starting with magic byte 0, got ${buf.length < 1 ? 'nothing' : `0x${buf.readUInt8(0).toString(16)}`} (${buf.length} bytes)`);
  }
  const id = buf.readUInt32BE(1);
  const kind = registry.kindFor(id);
  if (!kind) throw new SampleError('SAMPLE_UNKNOWN_SCHEMA', `schema id ${id} is not registered`);
  let value: unknown;
  try {
    value = types[kind].fromBuffer(buf.subarray(HEADER_BYTES));
  } catch (err) {
    throw new SampleError('SAMPLE_UNDECODABLE', `body is not a valid ${kind === 'tick' ? 'host tick' : `${kind} sample`} for schema id ${id}: ${(err as Error).message}`);
  }
  if (kind === 'tick') return { kind, tick: value as HostTick };
  return kind === 'host' ? { kind, sample: value as HostSample } : { kind, sample: value as VmSample };
}

/** Decodes a single-sample message; a host tick is refused (use decodeSamples for either form). */
export function decodeSample(buf: Buffer | null | undefined, registry: SchemaRegistry = localRegistry): Sample {
  const m = decodeMessage(buf, registry);
  if (m.kind === 'tick') throw new SampleError('SAMPLE_UNKNOWN_SCHEMA', `schema id ${registry.idFor('tick')} is a host tick, not a single sample; decode it with decodeSamples`);
  return m;
}

/** The samples of a message of either form, host sample first (no validation). */
export function decodeSamples(buf: Buffer | null | undefined, registry: SchemaRegistry = localRegistry): Sample[] {
  const m = decodeMessage(buf, registry);
  if (m.kind !== 'tick') return [m];
  const out: Sample[] = m.tick.host ? [{ kind: 'host', sample: m.tick.host }] : [];
  for (const sample of m.tick.vms) out.push({ kind: 'vm', sample });
  return out;
}
