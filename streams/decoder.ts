import type { IncomingMessage } from '../core/index.ts';
import type { Sample } from '../schemas/index.ts';
import type { Rejection } from './dead-letter.ts';

/** What one topic's messages became: samples to store, and messages for the dead-letter topic. */
export interface DecodedBatch {
  samples: Sample[];
  rejects: { message: IncomingMessage; rejection: Rejection }[];
}

/**
 * Turns one fetched batch of a topic into samples. The worker picks a decoder per topic (our
 * Avro samples, collectd's JSON, ...) and runs everything after it the same way: validation,
 * store, scoring, DLQ. A decoder never throws for bad input: it rejects the message with a reason.
 */
export interface BatchDecoder {
  decode(messages: readonly IncomingMessage[], now: number): DecodedBatch;
}
