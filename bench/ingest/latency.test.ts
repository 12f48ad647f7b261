import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BUCKET_MS, LandingTracker, weightedQuantile } from './latency.ts';
import { parseProducerPerformance } from './kafka-perf.ts';
import { stageOf } from './profile.ts';

test('weightedQuantile weighs each latency by its rows', () => {
  const points = [{ latencyMs: 100, rows: 98 }, { latencyMs: 5000, rows: 2 }];
  assert.equal(weightedQuantile(points, 0.5), 100);
  assert.equal(weightedQuantile(points, 0.98), 100);
  assert.equal(weightedQuantile(points, 0.99), 5000);
  assert.ok(Number.isNaN(weightedQuantile([], 0.5)));
});

test('rows that appear between two polls get the polls\' midpoint minus the bucket midpoint', () => {
  const t = new LandingTracker();
  const bucket = 1_000_000; // ts 100_000_000 ms … +100 ms
  const bucketMid = bucket * BUCKET_MS + BUCKET_MS / 2;
  t.addProduced(bucket, 10);
  t.observe(bucketMid + 500, new Map([[bucket, 0]]));
  t.observe(bucketMid + 1500, new Map([[bucket, 4]])); // 4 rows landed between +0.5 s and +1.5 s
  t.observe(bucketMid + 2500, new Map([[bucket, 10]])); // 6 more between +1.5 s and +2.5 s
  const s = t.summary(bucket * BUCKET_MS, (bucket + 1) * BUCKET_MS, bucketMid + 3000);
  assert.equal(s.produced, 10);
  assert.equal(s.landed, 10);
  assert.equal(s.p50, 2); // the 5th row is in the second group: midpoint 2.0 s
  assert.equal(s.p99, 2);
});

test('rows that never land count with their age at the end, so a lagging pipeline cannot look fast', () => {
  const t = new LandingTracker();
  t.addProduced(10, 100);
  t.observe(10 * BUCKET_MS + 50, new Map([[10, 0]]));
  t.observe(10 * BUCKET_MS + 50 + 200, new Map([[10, 50]]));
  const s = t.summary(10 * BUCKET_MS, 11 * BUCKET_MS, 10 * BUCKET_MS + 50 + 60_000);
  assert.equal(s.landed, 50);
  assert.equal(s.produced, 100);
  assert.equal(s.p99, 60);
  assert.ok(s.p50 < 1);
});

test('pollFrom starts at the oldest incomplete bucket and keeps the last second open', () => {
  const t = new LandingTracker();
  const now = 1_000_000;
  const b = (ms: number) => Math.floor(ms / BUCKET_MS);
  t.addProduced(b(now - 5000), 5);
  t.addProduced(b(now - 3000), 5);
  t.addProduced(b(now - 300), 5);
  t.observe(now, new Map([[b(now - 5000), 5], [b(now - 3000), 2], [b(now - 300), 5]]));
  assert.equal(t.pollFrom(now, 60_000), b(now - 3000));
  t.observe(now + 100, new Map([[b(now - 3000), 5]]));
  // Everything visible: the poll goes on from the last second, which may still grow.
  assert.equal(t.pollFrom(now + 100, 60_000), b(now + 100 - 1000));
  // Buckets older than the age limit are given up on.
  t.addProduced(b(now - 500), 1);
  assert.equal(t.pollFrom(now + 120_000, 60_000), b(now + 120_000 - 60_000));
});

test('parseProducerPerformance reads Kafka\'s summary line', () => {
  const line = '500000 records sent, 248942.0 records/sec (26.12 MB/sec), 537.60 ms avg latency, 938.00 ms max latency, 623 ms 50th, 864 ms 95th, 917 ms 99th, 931 ms 99.9th.';
  const r = parseProducerPerformance(`progress…\n${line}\n`, 'x');
  assert.deepEqual(r, { label: 'x', records: 500000, recordsPerS: 248942, mbPerS: 26.12, avgLatencyMs: 537.6, p99LatencyMs: 917 });
  assert.equal(parseProducerPerformance('org.apache.kafka.common.errors.TimeoutException', 'x'), undefined);
});

test('stageOf puts frames into pipeline stages by script', () => {
  assert.match(stageOf('file:///w/node_modules/kafkajs/src/protocol/recordBatch/v0/index.js', 'decode'), /kafkajs/);
  assert.match(stageOf('file:///w/node_modules/avsc/lib/types.js', 'RecordType._read'), /Avro/);
  assert.match(stageOf('file:///w/schemas/validate.ts', 'common'), /validate/);
  assert.match(stageOf('file:///w/models/anomaly/detector.ts', 'update'), /anomaly/);
  assert.match(stageOf('file:///w/node_modules/@questdb/nodejs-client/dist/cjs/index.js', 'floatColumn'), /ILP/);
  assert.equal(stageOf('', '(garbage collector)'), 'GC');
});
