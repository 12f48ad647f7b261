import { encodeVmSample, type VmSample } from '../schemas/index.ts';

/** A deliberately broken message and the DLQ reason code the pipeline must give it. */
export interface Malformed {
  value: Buffer;
  expectedCode: string;
}

/**
 * Ways real producers send garbage: wrong framing, an unknown schema, a cut-off body,
 * and well-formed Avro with impossible values. Rotates through them by `n`.
 */
export function malformedVariant(n: number, template: VmSample): Malformed {
  const good = encodeVmSample(template);
  switch (n % 5) {
    case 0:
      return { value: Buffer.from(`{"vmId":"${template.vmId}","cpu":0.5}`), expectedCode: 'SAMPLE_BAD_MAGIC' };
    case 1: {
      const v = Buffer.from(good);
      v.writeUInt32BE(999, 1);
      return { value: v, expectedCode: 'SAMPLE_UNKNOWN_SCHEMA' };
    }
    case 2:
      return { value: good.subarray(0, Math.max(6, good.length - 9)), expectedCode: 'SAMPLE_UNDECODABLE' };
    case 3:
      return { value: encodeVmSample({ ...template, cpuUsedCores: -1 }), expectedCode: 'SAMPLE_INVALID_FIELD' };
    default:
      return { value: encodeVmSample({ ...template, memUsedBytes: template.memTotalBytes * 4 }), expectedCode: 'SAMPLE_INVALID_FIELD' };
  }
}
