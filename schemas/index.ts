export type { HostSample, HostTick, VmSample, Sample } from './types.ts';
export {
  encodeSample, encodeHostSample, encodeVmSample, encodeHostTick, decodeSample, decodeSamples, decodeMessage, avroSchema,
  SampleError, localRegistry, LOCAL_SCHEMA_IDS,
  type SampleErrorCode, type SchemaRegistry, type SampleKind, type SchemaKind, type DecodedMessage,
} from './codec.ts';
export { validateSample, DEFAULT_LIMITS, type ValidationLimits } from './validate.ts';
