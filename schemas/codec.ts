import { readFileSync } from 'node:fs';
import avro from 'avsc';
import type { HostSample, Sample, VmSample } from './types.ts';

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

/**
 * Maps schema ids to sample kinds. The local registry has fixed ids; a Confluent-compatible
 * registry can implement the same interface later without changing the wire format.
 */
export interface SchemaRegistry {
  idFor(kind: SampleKind): number;
  kindFor(id: number): SampleKind | undefined;
}

export const LOCAL_SCHEMA_IDS: Readonly<Record<SampleKind, number>> = Object.freeze({ host: 1, vm: 2 });

export const localRegistry: SchemaRegistry = {
  idFor: (kind) => LOCAL_SCHEMA_IDS[kind],
  kindFor: (id) => (id === LOCAL_SCHEMA_IDS.host ? 'host' : id === LOCAL_SCHEMA_IDS.vm ? 'vm' : undefined),
};

function loadSchema(file: string): avro.Type {
  const json = JSON.parse(readFileSync(new URL(file, import.meta.url), 'utf8'));
  return avro.Type.forSchema(json);
}

const types: Readonly<Record<SampleKind, avro.Type>> = {
  host: loadSchema('./host-sample.avsc'),
  vm: loadSchema('./vm-sample.avsc'),
};

/** The parsed Avro schema JSON of a kind (for docs and registries). */
export function avroSchema(kind: SampleKind): object {
  return types[kind].schema() as object;
}

const MAGIC = 0;
const HEADER_BYTES = 5;

/** Avro binary body behind the Schema Registry wire header: magic byte 0, then the 4-byte big-endian schema id. */
export function encodeSample(sample: Sample, registry: SchemaRegistry = localRegistry): Buffer {
  const body = types[sample.kind].toBuffer(sample.sample);
  const out = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  out.writeUInt8(MAGIC, 0);
  out.writeUInt32BE(registry.idFor(sample.kind), 1);
  body.copy(out, HEADER_BYTES);
  return out;
}

export const encodeHostSample = (sample: HostSample, registry?: SchemaRegistry): Buffer => encodeSample({ kind: 'host', sample }, registry);
export const encodeVmSample = (sample: VmSample, registry?: SchemaRegistry): Buffer => encodeSample({ kind: 'vm', sample }, registry);

/** Decodes one wire message; throws SampleError saying exactly what is wrong with it. */
export function decodeSample(buf: Buffer | null | undefined, registry: SchemaRegistry = localRegistry): Sample {
  if (!buf || buf.length === 0) throw new SampleError('SAMPLE_EMPTY', 'message has no value');
  if (buf.length < HEADER_BYTES || buf.readUInt8(0) !== MAGIC) {
    throw new SampleError('SAMPLE_BAD_MAGIC', `expected the 5-byte header starting with magic byte 0, got ${buf.length < 1 ? 'nothing' : `0x${buf.readUInt8(0).toString(16)}`} (${buf.length} bytes)`);
  }
  const id = buf.readUInt32BE(1);
  const kind = registry.kindFor(id);
  if (!kind) throw new SampleError('SAMPLE_UNKNOWN_SCHEMA', `schema id ${id} is not registered`);
  try {
    const value = types[kind].fromBuffer(buf.subarray(HEADER_BYTES)) as HostSample & VmSample;
    return kind === 'host' ? { kind, sample: value as HostSample } : { kind, sample: value as VmSample };
  } catch (err) {
    throw new SampleError('SAMPLE_UNDECODABLE', `body is not a valid ${kind} sample for schema id ${id}: ${(err as Error).message}`);
  }
}
