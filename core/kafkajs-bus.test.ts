import { test } from 'node:test';
import assert from 'node:assert/strict';
import { logLevel } from 'kafkajs';
import { kafkaLogLevel } from './kafkajs-bus.ts';

// Entries as kafkajs 2.2 logs them (messages and error texts copied from its runner, connection and protocol errors).
const entry = (level: logLevel, message: string, extra: Record<string, unknown> = {}) => ({ level, log: { message, ...extra } });

test('routine group membership churn is info, not error or warn', () => {
  assert.equal(kafkaLogLevel(entry(logLevel.WARN, 'The group is rebalancing, re-joining', { error: 'The group is rebalancing, so a rejoin is needed' })), 'info');
  assert.equal(kafkaLogLevel(entry(logLevel.ERROR, 'Response Heartbeat(key: 12, version: 3)', { error: 'The group is rebalancing, so a rejoin is needed' })), 'info');
  assert.equal(kafkaLogLevel(entry(logLevel.ERROR, 'Response OffsetCommit(key: 8, version: 5)', { error: 'Specified group generation id is not valid' })), 'info');
  assert.equal(kafkaLogLevel(entry(logLevel.ERROR, 'Response JoinGroup(key: 11, version: 5)', { error: 'The group member needs to have a valid member id before actually entering a consumer group' })), 'info');
  assert.equal(kafkaLogLevel(entry(logLevel.ERROR, 'Response SyncGroup', { type: 'REBALANCE_IN_PROGRESS' })), 'info');
});

test('transient coordinator unavailability and kafkajs info chatter are debug', () => {
  assert.equal(kafkaLogLevel(entry(logLevel.ERROR, 'Response GroupCoordinator', { error: 'The coordinator is not available' })), 'debug');
  assert.equal(kafkaLogLevel(entry(logLevel.INFO, 'Consumer has joined the group')), 'debug');
  assert.equal(kafkaLogLevel(entry(logLevel.ERROR, 'Response ListOffsets(key: 2, version: 3)', { error: 'This server is not the leader for that topic-partition' })), 'debug');
});

test('real failures keep their level', () => {
  assert.equal(kafkaLogLevel(entry(logLevel.ERROR, 'Crash: KafkaJSNumberOfRetriesExceeded: Connection error: connect ECONNREFUSED 127.0.0.1:9092')), 'error');
  assert.equal(kafkaLogLevel(entry(logLevel.ERROR, 'The coordinator is not aware of this member, re-joining the group', { error: 'The coordinator is not aware of this member' })), 'error');
  assert.equal(kafkaLogLevel(entry(logLevel.WARN, 'KafkaJS v2.0.0 switched default partitioner')), 'warn');
});

test('a commit refused for lost membership is re-typed so kafkajs re-joins instead of crashing', async () => {
  const { membershipLost } = await import('./kafkajs-bus.ts');
  // What kafkajs's retrier throws: a KafkaJSNonRetriableError without the broker error's type, the protocol error as cause.
  const protocol = Object.assign(new Error('The coordinator is not aware of this member'), { type: 'UNKNOWN_MEMBER_ID', code: 25 });
  const wrapped = new Error('The coordinator is not aware of this member', { cause: protocol });
  assert.equal(membershipLost(wrapped)?.type, 'UNKNOWN_MEMBER_ID');
  assert.equal(membershipLost(new Error('Specified group generation id is not valid'))?.type, 'ILLEGAL_GENERATION');
  assert.equal(membershipLost(new Error('The group is rebalancing, so a rejoin is needed'))?.type, 'REBALANCE_IN_PROGRESS');
  assert.equal(membershipLost(new Error('Connection timeout')), undefined);
});
