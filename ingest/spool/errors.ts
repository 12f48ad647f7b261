import { NovaError, type BusProducer, type OutgoingMessage } from '../../core/index.ts';

/**
 * What a failed send means for the spool:
 * - `unreachable`: no broker answers (or not yet: leader moving, topic being created); keep the records, retry later;
 * - `rejected`: the broker refused these records for good (too large, invalid); retrying the same bytes cannot help;
 * - `fatal`: anything else (authorisation, a bug); keep the records, but a person has to act.
 */
export type SendFailure = 'unreachable' | 'rejected' | 'fatal';

// kafkajs's names for "could not talk to a broker"; its final error after the retries is
// KafkaJSNumberOfRetriesExceeded / KafkaJSNonRetriableError wrapping one of these.
const UNREACHABLE_NAMES = new Set(['KafkaJSConnectionError', 'KafkaJSConnectionClosedError', 'KafkaJSRequestTimeoutError', 'KafkaJSBrokerNotFound', 'KafkaJSMetadataNotLoaded', 'KafkaJSTopicMetadataNotLoaded', 'KafkaJSLockTimeout', 'KafkaJSTimeout']);
// Protocol errors about the records themselves: the same bytes will be refused again.
const REJECTED_TYPES = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'CORRUPT_MESSAGE', 'INVALID_TOPIC_EXCEPTION', 'INVALID_REQUIRED_ACKS']);

interface ErrorLike {
  name?: string;
  code?: unknown;
  type?: string;
  retriable?: boolean;
  cause?: unknown;
  originalError?: unknown;
}

/** The chain of causes of an error, outermost first (kafkajs nests them in `cause` / `originalError`). */
function chain(err: unknown): ErrorLike[] {
  const out: ErrorLike[] = [];
  let e: unknown = err;
  while (e && typeof e === 'object' && out.length < 8 && !out.includes(e as ErrorLike)) {
    out.push(e as ErrorLike);
    e = (e as ErrorLike).cause ?? (e as ErrorLike).originalError;
  }
  return out;
}

/** Classifies a send error (kafkajs's or ours) for the spool's decisions. */
export function classifySendError(err: unknown): SendFailure {
  const errors = chain(err);
  if (errors.some((e) => e.type !== undefined && REJECTED_TYPES.has(e.type))) return 'rejected';
  if (errors.some((e) => e instanceof NovaError && e.code === 'KAFKA_UNREACHABLE')) return 'unreachable';
  if (errors.some((e) => e.name !== undefined && UNREACHABLE_NAMES.has(e.name))) return 'unreachable';
  // Any retriable protocol error (unknown topic or partition, leader not available, not enough replicas ...).
  if (errors.some((e) => e.retriable === true)) return 'unreachable';
  return 'fatal';
}

/** The innermost message of an error chain: what actually went wrong, without kafkajs's wrapping. */
export function rootMessage(err: unknown): string {
  const errors = chain(err);
  const last = errors[errors.length - 1] as { message?: string } | undefined;
  return last?.message ?? String(err);
}

/** A NovaError with a code and a next step for a send that failed for good. */
export function sendError(err: unknown, topic: string): NovaError {
  if (err instanceof NovaError) return err;
  const kind = classifySendError(err);
  const root = rootMessage(err);
  if (kind === 'unreachable') {
    return new NovaError('KAFKA_UNREACHABLE', `cannot deliver to ${topic}: Kafka did not answer (${root}); is the stack up? run: ./novacron stack up (or leave NOVACRON_SPOOL_ENABLED on so producers keep going and send later)`, { retriable: true, cause: err });
  }
  if (kind === 'rejected') {
    return new NovaError('KAFKA_RECORD_REJECTED', `Kafka refused records for ${topic} (${root}); they are too large or malformed for the broker's limits (message.max.bytes)`, { cause: err });
  }
  return new NovaError('KAFKA_SEND_FAILED', `sending to ${topic} failed (${root}); check the broker's log and the client's permissions on the topic`, { cause: err });
}

/** A producer whose failures are NovaErrors with codes (used when the spool is off). */
export class CodedProducer implements BusProducer {
  constructor(private readonly inner: BusProducer) {}

  async send(topic: string, messages: OutgoingMessage[]): Promise<void> {
    try {
      await this.inner.send(topic, messages);
    } catch (err) {
      throw sendError(err, topic);
    }
  }

  async close(): Promise<void> {
    try {
      await this.inner.close();
    } catch (err) {
      throw new NovaError('KAFKA_CLOSE_FAILED', `closing the Kafka producer failed (${rootMessage(err)}); records it had acknowledged are safe`, { cause: err });
    }
  }
}
