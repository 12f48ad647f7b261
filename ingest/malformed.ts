import { encodeVmSample, type VmSample } from '../schemas/index.ts';

/** A deliberately broken message and the DLQ reason code the pipeline must give it. */
export interface Malformed {
  value: Buffer;
  expectedCode: string;
}

// One implementation of each defect; malformedVariant rotates through them and ingest/fuzz.ts
// draws them with random parameters.

/** JSON where Avro is expected: no magic byte 0 in front. */
export function jsonInsteadOfAvro(template: VmSample): Buffer {
  return Buffer.from(`{"vmId":"${template.vmId}","cpu":0.5}`);
}

/** A valid message re-labelled with another schema id (unknown to the registry, or another record's). */
export function withSchemaId(encoded: Buffer, schemaId: number): Buffer {
  const v = Buffer.from(encoded);
  v.writeUInt32BE(schemaId >>> 0, 1);
  return v;
}

/** A valid message cut to its first `length` bytes (never below the 5-byte header + 1). */
export function truncated(encoded: Buffer, length: number): Buffer {
  return encoded.subarray(0, Math.max(6, Math.min(length, encoded.length - 1)));
}

/**
 * Ways real producers send garbage: wrong framing, an unknown schema, a cut-off body,
 * and well-formed Avro with impossible values. Rotates through them by `n`.
 */
export function malformedVariant(n: number, template: VmSample): Malformed {
  const good = encodeVmSample(template);
  switch (n % 5) {
    case 0:
      return { value: jsonInsteadOfAvro(template), expectedCode: 'SAMPLE_BAD_MAGIC' };
    case 1:
      return { value: withSchemaId(good, 999), expectedCode: 'SAMPLE_UNKNOWN_SCHEMA' };
    case 2:
      return { value: truncated(good, good.length - 9), expectedCode: 'SAMPLE_UNDECODABLE' };
    case 3:
      return { value: encodeVmSample({ ...template, cpuUsedCores: -1 }), expectedCode: 'SAMPLE_INVALID_FIELD' };
    default:
      return { value: encodeVmSample({ ...template, memUsedBytes: template.memTotalBytes * 4 }), expectedCode: 'SAMPLE_INVALID_FIELD' };
  }
}
