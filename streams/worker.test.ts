import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { BatchHandler, BusConsumer, BusProducer, ConsumerOptions, IncomingBatch, IncomingMessage, MessageBus, OutgoingMessage, Topics } from '../core/index.ts';
import { createLogger } from '../core/index.ts';
import { encodeHostSample, encodeVmSample, type HostSample, type Sample, type VmSample } from '../schemas/index.ts';
import { DLQ_HEADERS, SampleWorker, type SampleStore } from './index.ts';

const TOPICS: Topics = { hostSamples: 'w.samples.host', vmSamples: 'w.samples.vm', deadLetter: 'w.dlq', anomalies: 't.anomalies' };
// Years in the past for the real clock: valid only if the worker uses the injected now.
const NOW = Date.UTC(2021, 2, 3, 12);

const vm = (over: Partial<VmSample> = {}): VmSample => ({
  ts: NOW - 60_000, hostId: 'host-1', vmId: 'vm-1', cpuUsedCores: 0.5, vcpus: 2, memUsedBytes: 1e9, memTotalBytes: 4e9,
  diskReadBps: 1, diskWriteBps: 2, netRxBps: 3, netTxBps: 4, vcpuDelayPct: 0, ...over,
});
const host = (over: Partial<HostSample> = {}): HostSample => ({
  ts: NOW - 60_000, hostId: 'host-1', cpuUsedCores: 4, cpuCapacityCores: 16, memUsedBytes: 8e9, memTotalBytes: 64e9,
  diskReadBps: 1, diskWriteBps: 2, netRxBps: 3, netTxBps: 4, cpuStealPct: 0, ...over,
});

class MemoryProducer implements BusProducer {
  readonly sent: { topic: string; messages: OutgoingMessage[] }[] = [];
  failNext = false;
  async send(topic: string, messages: OutgoingMessage[]): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('broker unavailable');
    }
    this.sent.push({ topic, messages: [...messages] });
  }
  async close(): Promise<void> {}
  get messages(): OutgoingMessage[] {
    return this.sent.flatMap((s) => s.messages);
  }
}

class HandOverConsumer implements BusConsumer {
  handler: BatchHandler | undefined;
  closed = false;
  constructor(readonly options: ConsumerOptions) {}
  async start(handler: BatchHandler): Promise<void> {
    this.handler = handler;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  /** Hands one batch to the worker, as the Kafka adapter does for each fetch. */
  deliver(batch: IncomingBatch): Promise<void> {
    assert.ok(this.handler, 'worker started');
    return this.handler(batch, async () => {});
  }
}

class FakeBus implements MessageBus {
  readonly producerInstance = new MemoryProducer();
  consumerInstance: HandOverConsumer | undefined;
  async producer(): Promise<BusProducer> {
    return this.producerInstance;
  }
  async consumer(options: ConsumerOptions): Promise<BusConsumer> {
    this.consumerInstance = new HandOverConsumer(options);
    return this.consumerInstance;
  }
  async ensureTopics(): Promise<void> {}
  async deleteTopics(): Promise<void> {}
  async consumerLag(): Promise<number> {
    return 0;
  }
}

class MemoryStore implements SampleStore {
  readonly writes: Sample[][] = [];
  failNext = false;
  async write(samples: readonly Sample[]): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('questdb down');
    }
    this.writes.push([...samples]);
  }
  async close(): Promise<void> {}
  get stored(): Sample[] {
    return this.writes.flat();
  }
}

const incoming = (offset: number, value: Buffer | null, key: string | null = 'host-1'): IncomingMessage => ({
  key, value, headers: { origin: 'test' }, offset: String(offset), timestamp: NOW,
});

const unknownSchema = (() => {
  const b = encodeVmSample(vm({ vmId: 'vm-unknown' }));
  b.writeUInt32BE(42, 1);
  return b;
})();

/** One batch of mixed messages; `bad` lists the expected rejection per offset. */
function mixedBatch(): { batch: IncomingBatch; good: Sample[]; bad: Record<string, { code: string; field?: string }> } {
  const goodVm1 = vm({ vmId: 'vm-a' });
  const goodVm2 = vm({ vmId: 'vm-b', cpuUsedCores: 1.75 });
  const goodHost = host();
  const messages = [
    incoming(100, encodeVmSample(goodVm1)),
    incoming(101, null),
    incoming(102, Buffer.from('{"vmId":"x"}'), null),
    incoming(103, encodeHostSample(goodHost)),
    incoming(104, unknownSchema),
    incoming(105, encodeVmSample(vm()).subarray(0, 20)),
    incoming(106, encodeVmSample(vm({ cpuUsedCores: -1 }))),
    incoming(107, encodeVmSample(vm({ ts: NOW + 3_600_000 }))),
    incoming(108, encodeVmSample(goodVm2)),
  ];
  return {
    batch: { topic: TOPICS.vmSamples, partition: 3, messages },
    good: [{ kind: 'vm', sample: goodVm1 }, { kind: 'host', sample: goodHost }, { kind: 'vm', sample: goodVm2 }],
    bad: {
      101: { code: 'SAMPLE_EMPTY' },
      102: { code: 'SAMPLE_BAD_MAGIC' },
      104: { code: 'SAMPLE_UNKNOWN_SCHEMA' },
      105: { code: 'SAMPLE_UNDECODABLE' },
      106: { code: 'SAMPLE_INVALID_FIELD', field: 'cpuUsedCores' },
      107: { code: 'SAMPLE_INVALID_FIELD', field: 'ts' },
    },
  };
}

const EXPECTED_BY_CODE = { SAMPLE_EMPTY: 1, SAMPLE_BAD_MAGIC: 1, SAMPLE_UNKNOWN_SCHEMA: 1, SAMPLE_UNDECODABLE: 1, SAMPLE_INVALID_FIELD: 2 };
const plain = (samples: Sample[]) => samples.map((s) => ({ kind: s.kind, sample: { ...s.sample } }));

async function started() {
  const bus = new FakeBus();
  const store = new MemoryStore();
  const worker = new SampleWorker({ bus, store, topics: TOPICS, groupId: 'g-test', log: createLogger('worker-test', 'silent'), now: () => NOW });
  await worker.start();
  assert.ok(bus.consumerInstance);
  return { bus, store, worker, consumer: bus.consumerInstance, dlq: bus.producerInstance };
}

describe('SampleWorker batch handling', () => {
  test('subscribes its group to both sample topics', async () => {
    const { consumer, worker } = await started();
    assert.equal(consumer.options.groupId, 'g-test');
    assert.deepEqual([...consumer.options.topics].sort(), [TOPICS.hostSamples, TOPICS.vmSamples].sort());
    await worker.stop();
    assert.ok(consumer.closed);
  });

  test('stores the valid samples, dead-letters the rest with headers, and counts both', async () => {
    const { store, dlq, worker, consumer } = await started();
    const { batch, good, bad } = mixedBatch();
    await consumer.deliver(batch);

    assert.deepEqual(plain(store.stored), good, 'valid samples reach the store, in batch order');
    assert.ok(dlq.sent.every((s) => s.topic === TOPICS.deadLetter), 'dead letters go to the DLQ topic only');
    const dead = dlq.messages;
    assert.equal(dead.length, Object.keys(bad).length);
    for (const m of dead) {
      const offset = m.headers?.[DLQ_HEADERS.offset];
      assert.ok(offset && bad[offset], `unexpected dead letter at offset ${offset}`);
      const original = batch.messages.find((x) => x.offset === offset)!;
      assert.equal(m.headers?.[DLQ_HEADERS.code], bad[offset].code, `offset ${offset}`);
      assert.equal(m.headers?.[DLQ_HEADERS.field], bad[offset].field, `offset ${offset} field`);
      assert.ok((m.headers?.[DLQ_HEADERS.reason] ?? '').length > 0);
      assert.equal(m.headers?.[DLQ_HEADERS.topic], TOPICS.vmSamples);
      assert.equal(m.headers?.[DLQ_HEADERS.partition], '3');
      assert.equal(m.headers?.origin, 'test');
      assert.equal(m.key, original.key);
      assert.deepEqual(m.value, original.value ?? Buffer.alloc(0));
    }
    assert.deepEqual(new Set(dead.map((m) => m.headers?.[DLQ_HEADERS.offset])), new Set(Object.keys(bad)));
    assert.deepEqual(worker.stats, { batches: 1, stored: 3, deadLettered: 6, anomalies: 0, byCode: EXPECTED_BY_CODE });
  });

  test('a failing store rejects the batch (no commit) and leaves stats alone; the re-delivery is counted once', async () => {
    const { store, worker, consumer, dlq } = await started();
    const { batch, good } = mixedBatch();

    store.failNext = true;
    await assert.rejects(consumer.deliver(batch), /questdb down/);
    assert.deepEqual(worker.stats, { batches: 0, stored: 0, deadLettered: 0, anomalies: 0, byCode: {} });
    assert.equal(store.stored.length, 0);

    await consumer.deliver(batch);
    assert.deepEqual(plain(store.stored), good);
    assert.deepEqual(worker.stats, { batches: 1, stored: 3, deadLettered: 6, anomalies: 0, byCode: EXPECTED_BY_CODE });
    // The DLQ is at-least-once: the successful delivery dead-letters every bad message (again).
    assert.ok(dlq.messages.length >= 6);
    assert.deepEqual(new Set(dlq.messages.map((m) => m.headers?.[DLQ_HEADERS.offset])), new Set(['101', '102', '104', '105', '106', '107']));
  });

  test('a failing DLQ send also rejects the batch and leaves stats alone', async () => {
    const { worker, consumer, dlq } = await started();
    dlq.failNext = true;
    await assert.rejects(consumer.deliver(mixedBatch().batch), /broker unavailable/);
    assert.deepEqual(worker.stats, { batches: 0, stored: 0, deadLettered: 0, anomalies: 0, byCode: {} });
  });

  test('stats accumulate over batches', async () => {
    const { worker, consumer } = await started();
    await consumer.deliver(mixedBatch().batch);
    await consumer.deliver({ topic: TOPICS.hostSamples, partition: 0, messages: [incoming(7, encodeHostSample(host({ hostId: 'host-2' }))), incoming(8, null)] });
    assert.deepEqual(worker.stats, { batches: 2, stored: 4, deadLettered: 7, anomalies: 0, byCode: { ...EXPECTED_BY_CODE, SAMPLE_EMPTY: 2 } });
  });
});
