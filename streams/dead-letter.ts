import type { IncomingMessage, OutgoingMessage } from '../core/index.ts';

/** Header names on dead-lettered messages; operators filter and replay by them. */
export const DLQ_HEADERS = {
  code: 'novacron-error-code',
  reason: 'novacron-error-reason',
  field: 'novacron-error-field',
  topic: 'novacron-source-topic',
  partition: 'novacron-source-partition',
  offset: 'novacron-source-offset',
  /** Set when the message is one sample of a host tick: where it was in the tick (`host`, `vms[3]`). */
  tickItem: 'novacron-source-tick-item',
} as const;

export interface Rejection {
  code: string;
  reason: string;
  field?: string;
}

/** The original bytes, untouched, plus why and where they came from: nothing is lost. */
export function deadLetter(message: IncomingMessage, source: { topic: string; partition: number }, why: Rejection): OutgoingMessage {
  const headers: Record<string, string> = {
    ...message.headers,
    [DLQ_HEADERS.code]: why.code,
    [DLQ_HEADERS.reason]: why.reason,
    [DLQ_HEADERS.topic]: source.topic,
    [DLQ_HEADERS.partition]: String(source.partition),
    [DLQ_HEADERS.offset]: message.offset,
  };
  if (why.field) headers[DLQ_HEADERS.field] = why.field;
  return { key: message.key, value: message.value ?? Buffer.alloc(0), headers };
}
