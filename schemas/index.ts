export type { HostSample, VmSample, Sample } from './types.ts';
export {
  encodeSample, encodeHostSample, encodeVmSample, decodeSample, avroSchema,
  SampleError, localRegistry, LOCAL_SCHEMA_IDS,
  type SampleErrorCode, type SchemaRegistry, type SampleKind,
} from './codec.ts';
export { validateSample, DEFAULT_LIMITS, type ValidationLimits } from './validate.ts';
