import type { IncomingMessage } from '../core/index.ts';
import { decodeSample, SampleError, validateSample, type Sample } from '../schemas/index.ts';
import type { Rejection } from './dead-letter.ts';
import type { BatchDecoder, DecodedBatch } from './decoder.ts';

/** Why a message was refused, from what decoding or validation threw. */
export function rejectionOf(err: unknown): Rejection {
  if (err instanceof SampleError) return { code: err.code, reason: err.message, field: err.field };
  // A decoder bug must not stop the partition: park the message with the cause and go on.
  return { code: 'SAMPLE_UNEXPECTED', reason: err instanceof Error ? err.message : String(err) };
}

/** Our own samples: Avro with the registry-style header (schemas/), then validateSample. */
export class AvroSampleDecoder implements BatchDecoder {
  decode(messages: readonly IncomingMessage[], now: number): DecodedBatch {
    const samples: Sample[] = [];
    const rejects: DecodedBatch['rejects'] = [];
    for (const message of messages) {
      try {
        const sample = decodeSample(message.value);
        validateSample(sample, now);
        samples.push(sample);
      } catch (err) {
        rejects.push({ message, rejection: rejectionOf(err) });
      }
    }
    return { samples, rejects };
  }
}
