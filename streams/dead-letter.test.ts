import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from '../core/index.ts';
import { DLQ_HEADERS, deadLetter } from './index.ts';

const message = (over: Partial<IncomingMessage> = {}): IncomingMessage => ({
  key: 'host-007', value: Buffer.from([0, 0, 0, 3, 0xe7, 1, 2, 3]), headers: { traceparent: '00-abc-01', producer: 'agent' },
  offset: '12345678901234', timestamp: 1_700_000_000_000, ...over,
});
const SOURCE = { topic: 'novacron.samples.vm', partition: 7 };

test('keeps the original bytes and key, and the original headers', () => {
  const original = message();
  const out = deadLetter(original, SOURCE, { code: 'SAMPLE_UNKNOWN_SCHEMA', reason: 'schema id 999 is not registered' });
  assert.equal(out.key, 'host-007');
  assert.deepEqual(out.value, Buffer.from([0, 0, 0, 3, 0xe7, 1, 2, 3]));
  assert.equal(out.headers?.traceparent, '00-abc-01');
  assert.equal(out.headers?.producer, 'agent');
  assert.deepEqual(original.headers, { traceparent: '00-abc-01', producer: 'agent' }, 'the incoming message is not mutated');
});

test('adds the code, reason, field and source topic/partition/offset headers', () => {
  const out = deadLetter(message(), SOURCE, { code: 'SAMPLE_INVALID_FIELD', reason: 'cpuUsedCores must be >= 0, got -1', field: 'cpuUsedCores' });
  assert.deepEqual(out.headers, {
    traceparent: '00-abc-01',
    producer: 'agent',
    [DLQ_HEADERS.code]: 'SAMPLE_INVALID_FIELD',
    [DLQ_HEADERS.reason]: 'cpuUsedCores must be >= 0, got -1',
    [DLQ_HEADERS.field]: 'cpuUsedCores',
    [DLQ_HEADERS.topic]: 'novacron.samples.vm',
    [DLQ_HEADERS.partition]: '7',
    [DLQ_HEADERS.offset]: '12345678901234',
  });
  // Header names are a contract with operators' replay tooling.
  assert.deepEqual(DLQ_HEADERS, {
    code: 'novacron-error-code', reason: 'novacron-error-reason', field: 'novacron-error-field',
    topic: 'novacron-source-topic', partition: 'novacron-source-partition', offset: 'novacron-source-offset',
    tickItem: 'novacron-source-tick-item',
  });
});

test('omits the field header when the rejection names no field', () => {
  const out = deadLetter(message(), SOURCE, { code: 'SAMPLE_BAD_MAGIC', reason: 'no header' });
  assert.equal(out.headers?.[DLQ_HEADERS.field], undefined);
  assert.equal(out.headers?.[DLQ_HEADERS.code], 'SAMPLE_BAD_MAGIC');
});

test('our headers win over same-named incoming ones (a re-dead-lettered message tells the latest reason)', () => {
  const out = deadLetter(message({ headers: { [DLQ_HEADERS.code]: 'OLD', [DLQ_HEADERS.offset]: '1' } }), SOURCE, { code: 'NEW', reason: 'r' });
  assert.equal(out.headers?.[DLQ_HEADERS.code], 'NEW');
  assert.equal(out.headers?.[DLQ_HEADERS.offset], '12345678901234');
});

test('a null value becomes an empty buffer and a null key stays null', () => {
  const out = deadLetter(message({ value: null, key: null }), SOURCE, { code: 'SAMPLE_EMPTY', reason: 'message has no value' });
  assert.ok(Buffer.isBuffer(out.value));
  assert.equal(out.value.length, 0);
  assert.equal(out.key, null);
});
