import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { BatchHandler, BusConsumer, BusProducer, ConsumerOptions, IncomingBatch, IncomingMessage, MessageBus, OutgoingMessage, Topics } from '../core/index.ts';
import { createLogger } from '../core/index.ts';
import { decodeSample, encodeHostSample, encodeHostTick, encodeVmSample, type HostSample, type Sample, type VmSample } from '../schemas/index.ts';
import { NovaError } from '../core/index.ts';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { logSink } from '../test/support/capture.ts';
import { SampleListStore, type SampleList } from '../test/support/sample-list-store.ts';
import { AnomalyStage, DLQ_HEADERS, SampleWorker, WorkerMetrics, type BatchDecoder, type EncodedRows, type SampleStore, type SampleWorkerDeps } from './index.ts';

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
  /** pause()/resume() calls, in order. */
  readonly flow: ('pause' | 'resume')[] = [];
  heartbeats = 0;
  /** What the coordinator answers heartbeats with (kafkajs throws REBALANCE_IN_PROGRESS during a rebalance). */
  heartbeatError: Error | undefined;
  constructor(readonly options: ConsumerOptions) {}
  async start(handler: BatchHandler): Promise<void> {
    this.handler = handler;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  pause(): void {
    this.flow.push('pause');
  }
  resume(): void {
    this.flow.push('resume');
  }
  /** Hands one batch to the worker, as the Kafka adapter does for each fetch. */
  deliver(batch: IncomingBatch): Promise<void> {
    assert.ok(this.handler, 'worker started');
    return this.handler(batch, async () => {
      this.heartbeats += 1;
      if (this.heartbeatError) throw this.heartbeatError;
    });
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
  async consumerLag(_groupId: string, _topic: string): Promise<number> {
    return 0;
  }
}

class MemoryStore extends SampleListStore {
  readonly writes: Sample[][] = [];
  /** Every write attempt, failed or not. */
  readonly attempts: Sample[][] = [];
  failNext = false;
  /** Errors the next writes throw, in order. */
  failures: unknown[] = [];
  /** How long each write takes. */
  stallMs = 0;
  async writeEncoded({ samples }: SampleList): Promise<void> {
    this.attempts.push([...samples]);
    if (this.stallMs > 0) await new Promise((r) => setTimeout(r, this.stallMs));
    if (this.failNext) {
      this.failNext = false;
      throw new Error('questdb down');
    }
    const failure = this.failures.shift();
    if (failure !== undefined) throw failure;
    this.writes.push([...samples]);
  }
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

async function started(extra: Partial<SampleWorkerDeps> = {}) {
  const bus = new FakeBus();
  const store = new MemoryStore();
  const worker = new SampleWorker({ bus, store, topics: TOPICS, groupId: 'g-test', log: createLogger('worker-test', 'silent'), now: () => NOW, lagEveryMs: 0, ...extra });
  await worker.start();
  assert.ok(bus.consumerInstance);
  return { bus, store, worker, consumer: bus.consumerInstance, dlq: bus.producerInstance };
}

describe('SampleWorker batch handling', () => {
  test('partitions a rebalance gave to another worker: the anomaly state of their VMs is released, the rest kept', async () => {
    const stage = new AnomalyStage(() => ({ update: (_ts, v) => ({ score: 0, expected: v, explanation: '', alarm: false }) }));
    const sink = { publish: async () => undefined, close: async () => undefined };
    const { consumer } = await started({ anomalies: { stage, sink } });
    const batchOf = (partition: number, vmIds: string[]): IncomingBatch => ({
      topic: TOPICS.vmSamples, partition, messages: vmIds.map((vmId, i) => incoming(i, encodeVmSample(vm({ vmId })))),
    });
    await consumer.deliver(batchOf(3, ['p3-a', 'p3-b']));
    await consumer.deliver(batchOf(5, ['p5-a']));
    assert.equal(stage.seriesCount, 6, 'three VMs, CPU and memory each');
    assert.ok(consumer.options.onRevoked, 'the worker asks to hear of revoked partitions');
    consumer.options.onRevoked!([{ topic: TOPICS.vmSamples, partition: 3 }, { topic: TOPICS.hostSamples, partition: 3 }, { topic: TOPICS.vmSamples, partition: 9 }]);
    assert.equal(stage.seriesCount, 2, 'only p5-a is left');
    consumer.options.onRevoked!([{ topic: TOPICS.hostSamples, partition: 5 }]);
    assert.equal(stage.seriesCount, 2, 'the same partition number of another topic is another source');
  });

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
    assert.deepEqual(worker.stats, { batches: 1, stored: 3, deadLettered: 6, anomalies: 0, byCode: EXPECTED_BY_CODE, storeRetries: 0, pauses: 0 });
  });

  test('a host tick: its good samples are stored, each bad one is dead-lettered alone with its reason, field and place in the tick', async () => {
    const { store, dlq, worker, consumer } = await started();
    const h = host({ hostId: 'host-9' });
    const ok1 = vm({ hostId: 'host-9', vmId: 'vm-1' });
    const negative = vm({ hostId: 'host-9', vmId: 'vm-2', cpuUsedCores: -1 });
    const ok2 = vm({ hostId: 'host-9', vmId: 'vm-3', memUsedBytes: 2e9 });
    const stranger = vm({ hostId: 'host-7', vmId: 'vm-4' });
    const future = vm({ hostId: 'host-9', vmId: 'vm-5', ts: NOW + 3_600_000 });
    const messages = [
      incoming(200, encodeHostTick({ host: h, vms: [ok1, negative, ok2, stranger, future] }), 'host-9'),
      incoming(201, encodeHostTick({ host: h, vms: [ok1] }).subarray(0, 40), 'host-9'),
      incoming(202, encodeHostTick({ host: null, vms: [] }), 'host-9'),
      incoming(203, encodeHostTick({ host: host({ hostId: 'host-8', cpuStealPct: 101 }), vms: [vm({ hostId: 'host-8', vmId: 'vm-8' })] }), 'host-8'),
      incoming(204, encodeVmSample(vm({ vmId: 'vm-single' }))),
    ];
    await consumer.deliver({ topic: TOPICS.vmSamples, partition: 1, messages });

    assert.deepEqual(plain(store.stored).map((s) => `${s.kind}:${s.sample.hostId}/${'vmId' in s.sample ? s.sample.vmId : ''}`), [
      'host:host-9/', 'vm:host-9/vm-1', 'vm:host-9/vm-3', 'vm:host-8/vm-8', 'vm:host-1/vm-single',
    ]);
    const dead = dlq.messages.map((m) => ({
      offset: m.headers?.[DLQ_HEADERS.offset], code: m.headers?.[DLQ_HEADERS.code], field: m.headers?.[DLQ_HEADERS.field], item: m.headers?.[DLQ_HEADERS.tickItem], key: m.key, m,
    }));
    assert.deepEqual(dead.map(({ m: _m, ...d }) => d), [
      { offset: '200', code: 'SAMPLE_INVALID_FIELD', field: 'cpuUsedCores', item: 'vms[1]', key: 'host-9' },
      { offset: '200', code: 'SAMPLE_INVALID_FIELD', field: 'hostId', item: 'vms[3]', key: 'host-9' },
      { offset: '200', code: 'SAMPLE_INVALID_FIELD', field: 'ts', item: 'vms[4]', key: 'host-9' },
      { offset: '201', code: 'SAMPLE_UNDECODABLE', field: undefined, item: undefined, key: 'host-9' },
      { offset: '202', code: 'SAMPLE_EMPTY', field: undefined, item: undefined, key: 'host-9' },
      { offset: '203', code: 'SAMPLE_INVALID_FIELD', field: 'cpuStealPct', item: 'host', key: 'host-8' },
    ]);
    // A bad sample of a tick is dead-lettered as that sample alone, in the single-sample form
    // (readable and replayable like any other); a tick that cannot be decoded goes whole.
    assert.deepEqual({ ...decodeSample(dead[0]!.m.value).sample }, negative);
    assert.deepEqual({ ...decodeSample(dead[1]!.m.value).sample }, stranger);
    assert.deepEqual({ ...decodeSample(dead[5]!.m.value).sample }, host({ hostId: 'host-8', cpuStealPct: 101 }));
    assert.deepEqual(dead[3]!.m.value, messages[1]!.value);
    assert.ok(dead.every((d) => (d.m.headers?.[DLQ_HEADERS.reason] ?? '').length > 0));
    assert.deepEqual(worker.stats, { batches: 1, stored: 5, deadLettered: 6, anomalies: 0, byCode: { SAMPLE_INVALID_FIELD: 4, SAMPLE_UNDECODABLE: 1, SAMPLE_EMPTY: 1 }, storeRetries: 0, pauses: 0 });
  });

  test('a failing store rejects the batch (no commit) and leaves stats alone; the re-delivery is counted once', async () => {
    const { store, worker, consumer, dlq } = await started();
    const { batch, good } = mixedBatch();

    store.failNext = true;
    await assert.rejects(consumer.deliver(batch), /questdb down/);
    assert.deepEqual(worker.stats, { batches: 0, stored: 0, deadLettered: 0, anomalies: 0, byCode: {}, storeRetries: 0, pauses: 0 });
    assert.equal(store.stored.length, 0);

    await consumer.deliver(batch);
    assert.deepEqual(plain(store.stored), good);
    assert.deepEqual(worker.stats, { batches: 1, stored: 3, deadLettered: 6, anomalies: 0, byCode: EXPECTED_BY_CODE, storeRetries: 0, pauses: 0 });
    // The DLQ is at-least-once: the successful delivery dead-letters every bad message (again).
    assert.ok(dlq.messages.length >= 6);
    assert.deepEqual(new Set(dlq.messages.map((m) => m.headers?.[DLQ_HEADERS.offset])), new Set(['101', '102', '104', '105', '106', '107']));
  });

  test('a failing DLQ send also rejects the batch and leaves stats alone', async () => {
    const { worker, consumer, dlq } = await started();
    dlq.failNext = true;
    await assert.rejects(consumer.deliver(mixedBatch().batch), /broker unavailable/);
    assert.deepEqual(worker.stats, { batches: 0, stored: 0, deadLettered: 0, anomalies: 0, byCode: {}, storeRetries: 0, pauses: 0 });
  });

  test('stats accumulate over batches', async () => {
    const { worker, consumer } = await started();
    await consumer.deliver(mixedBatch().batch);
    await consumer.deliver({ topic: TOPICS.hostSamples, partition: 0, messages: [incoming(7, encodeHostSample(host({ hostId: 'host-2' }))), incoming(8, null)] });
    assert.deepEqual(worker.stats, { batches: 2, stored: 4, deadLettered: 7, anomalies: 0, byCode: { ...EXPECTED_BY_CODE, SAMPLE_EMPTY: 2 }, storeRetries: 0, pauses: 0 });
  });
});

/** A decoder for a JSON topic: `{"vmId": ...}` objects become VM samples, anything else is rejected. */
const jsonDecoder: BatchDecoder = {
  decode(messages) {
    const samples: Sample[] = [];
    const rejects: ReturnType<BatchDecoder['decode']>['rejects'] = [];
    for (const message of messages) {
      try {
        const o = JSON.parse(message.value?.toString('utf8') ?? '') as Partial<VmSample>;
        if (typeof o.vmId !== 'string') throw new Error('no vmId');
        samples.push({ kind: 'vm', sample: vm({ vmId: o.vmId }) });
      } catch (err) {
        rejects.push({ message, rejection: { code: 'JSON_BAD', reason: (err as Error).message } });
      }
    }
    return { samples, rejects };
  },
};

describe('SampleWorker decoders', () => {
  test('extra topics are subscribed and decoded by their own decoder; the sample topics stay Avro', async () => {
    const { consumer, store, dlq, worker } = await started({ decoders: { 'w.collectd': jsonDecoder } });
    assert.deepEqual([...consumer.options.topics].sort(), [TOPICS.hostSamples, TOPICS.vmSamples, 'w.collectd'].sort());
    await consumer.deliver({ topic: 'w.collectd', partition: 0, messages: [incoming(1, Buffer.from('{"vmId":"vm-json"}')), incoming(2, Buffer.from('nope'))] });
    // The same JSON on an Avro topic is refused by the Avro decoder.
    await consumer.deliver({ topic: TOPICS.vmSamples, partition: 0, messages: [incoming(3, Buffer.from('{"vmId":"vm-json"}'))] });
    assert.deepEqual(store.stored.map((s) => (s.kind === 'vm' ? s.sample.vmId : s.sample.hostId)), ['vm-json']);
    assert.deepEqual(dlq.messages.map((m) => [m.headers?.[DLQ_HEADERS.topic], m.headers?.[DLQ_HEADERS.code]]), [['w.collectd', 'JSON_BAD'], [TOPICS.vmSamples, 'SAMPLE_BAD_MAGIC']]);
    assert.deepEqual(worker.stats.byCode, { JSON_BAD: 1, SAMPLE_BAD_MAGIC: 1 });
  });

  test('a decoder that throws (a bug) dead-letters the whole batch instead of blocking the partition', async () => {
    const broken: BatchDecoder = { decode() { throw new Error('index out of range'); } };
    const { consumer, store, dlq, worker } = await started({ decoders: { 'w.collectd': broken } });
    await consumer.deliver({ topic: 'w.collectd', partition: 2, messages: [incoming(5, Buffer.from('a')), incoming(6, Buffer.from('b'))] });
    assert.equal(store.stored.length, 0);
    assert.deepEqual(dlq.messages.map((m) => [m.headers?.[DLQ_HEADERS.offset], m.headers?.[DLQ_HEADERS.code]]), [['5', 'DECODER_FAILED'], ['6', 'DECODER_FAILED']]);
    assert.match(dlq.messages[0]!.headers?.[DLQ_HEADERS.reason] ?? '', /index out of range/);
    assert.equal(worker.stats.deadLettered, 2);
  });
});

describe('SampleWorker memory', () => {
  test('a batch waiting on the store holds its encoded rows, not its decoded samples (they are garbage once encoded and scored)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    // The decoder hands out fresh samples and keeps only weak references to them.
    const decoded: WeakRef<object>[] = [];
    const decoder: BatchDecoder = {
      decode(messages) {
        const samples: Sample[] = messages.map((m, i) => ({ kind: 'vm', sample: vm({ vmId: `vm-weak-${i}`, ts: NOW + Number(m.offset) }) }));
        for (const s of samples) decoded.push(new WeakRef(s), new WeakRef(s.sample));
        return { samples, rejects: [] };
      },
    };
    // A store whose encoded form keeps no sample (as QuestDbSampleStore's ILP bytes), whose write waits until released.
    let release: () => void = () => undefined;
    let writing: () => void = () => undefined;
    const inWrite = new Promise<void>((r) => (writing = r));
    const store: SampleStore<EncodedRows> = {
      encode: (samples) => ({ rows: samples.length }),
      merge: (parts) => ({ rows: parts.reduce((n, p) => n + p.rows, 0) }),
      writeEncoded: () => {
        writing();
        return new Promise<void>((r) => (release = r));
      },
      release: () => undefined,
      write: async () => undefined,
      close: async () => undefined,
    };
    const stage = new AnomalyStage(() => ({ update: (_ts, v) => ({ score: 0, expected: v, explanation: '', alarm: false }) }));
    const sink = { publish: async () => undefined, close: async () => undefined };
    const { consumer, worker } = await started({ store, decoders: { 'w.collectd': decoder }, anomalies: { stage, sink } });
    const handled = consumer.deliver({ topic: 'w.collectd', partition: 0, messages: Array.from({ length: 50 }, (_, i) => incoming(i, Buffer.from('x'))) });
    await inWrite;
    while (stage.scored < 100) await new Promise(setImmediate);
    assert.equal(decoded.length, 100);
    // WeakRefs are cleared by a collection after the job that last read them.
    for (let i = 0; i < 3; i++) {
      await new Promise(setImmediate);
      gc();
    }
    assert.equal(decoded.filter((r) => r.deref() !== undefined).length, 0, 'no decoded sample is reachable while the write is in flight');
    release();
    await handled;
    assert.equal(worker.stats.stored, 50);
  });

  test('each batch\'s encoded rows are released once, after its last write attempt ended (retries included)', async () => {
    const events: string[] = [];
    class ReleasingStore extends MemoryStore {
      override async writeEncoded(rows: SampleList): Promise<void> {
        events.push('write');
        try {
          await super.writeEncoded(rows);
        } finally {
          events.push('written');
        }
      }
      override release(): void {
        events.push('release');
      }
    }
    const store = new ReleasingStore();
    store.failures = [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9000'), { code: 'ECONNREFUSED' })];
    const { consumer } = await started({ store, retry: { baseMs: 5, maxMs: 10 } });
    await consumer.deliver(mixedBatch().batch);
    assert.deepEqual(events, ['write', 'written', 'write', 'written', 'release']);
    await consumer.deliver({ topic: TOPICS.vmSamples, partition: 1, messages: [incoming(9, encodeVmSample(vm({ vmId: 'vm-r' })))] });
    assert.deepEqual(events.slice(5), ['write', 'written', 'release']);
  });
});

const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9000'), { code: 'ECONNREFUSED' });

describe('SampleWorker heartbeats and backpressure', () => {
  test('keeps offering heartbeats while a slow store write is in hand, and stops after it', async () => {
    const { consumer, store } = await started({ heartbeatEveryMs: 20 });
    store.stallMs = 300;
    await consumer.deliver(mixedBatch().batch);
    const during = consumer.heartbeats;
    assert.ok(during >= 8, `heartbeats during a 300 ms write every 20 ms: ${during}`);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(consumer.heartbeats, during, 'no heartbeat once the batch is done');
  });

  test('a retriable store failure retries the same batch in place: pause once (warn with the code), resume once (info), stored once', async () => {
    const { logger, lines } = logSink();
    const { consumer, store, worker, dlq } = await started({ log: logger, retry: { baseMs: 10, maxMs: 40 } });
    store.failures = [refused, refused, new Error('HTTP request failed, statusCode=503, error=busy'), new Error('HTTP request timeout, no response from server in time')];
    const { batch, good } = mixedBatch();
    await consumer.deliver(batch);
    assert.equal(store.attempts.length, 5, '4 failures then success');
    assert.ok(store.attempts.every((a) => JSON.stringify(a) === JSON.stringify(store.attempts[0])), 'every attempt is the same batch: nothing more was fetched or buffered');
    assert.deepEqual(plain(store.stored), good);
    assert.deepEqual(consumer.flow, ['pause', 'resume']);
    assert.equal(dlq.messages.length, 6, 'the rejects went to the DLQ once, after the store');
    assert.deepEqual({ retries: worker.stats.storeRetries, pauses: worker.stats.pauses, stored: worker.stats.stored, batches: worker.stats.batches }, { retries: 4, pauses: 1, stored: 3, batches: 1 });
    const logged = lines.map((l) => JSON.parse(l) as { level: number; msg: string; code?: string; pausedMs?: number });
    const warns = logged.filter((l) => l.level === 40);
    assert.equal(warns.length, 1, 'one warning for the whole outage');
    assert.equal(warns[0]!.code, 'STORE_UNREACHABLE_ECONNREFUSED');
    const resumed = logged.filter((l) => l.level === 30 && /resumed fetching/.test(l.msg));
    assert.equal(resumed.length, 1);
    assert.ok(typeof resumed[0]!.pausedMs === 'number' && resumed[0]!.pausedMs >= 0);
    assert.equal(logged.filter((l) => l.level >= 50).length, 0, 'no error logged');
  });

  test('backoff grows between attempts and is capped', async () => {
    const { consumer, store } = await started({ retry: { baseMs: 40, maxMs: 80 } });
    const times: number[] = [];
    const write = store.writeEncoded.bind(store);
    store.writeEncoded = async (rows) => {
      times.push(performance.now());
      return write(rows);
    };
    store.failures = [refused, refused, refused, refused];
    await consumer.deliver(mixedBatch().batch);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    // Delays are jittered in [ceiling/2, ceiling]: 40, 80, 80, 80 ms ceilings.
    assert.equal(gaps.length, 4);
    assert.ok(gaps[0]! >= 19 && gaps[0]! < 75, `first gap ${gaps[0]}`);
    for (const g of gaps.slice(1)) assert.ok(g >= 39 && g < 150, `capped gap ${g}`);
  });

  test('a non-retriable store error is logged at error and hands the batch back (no retry)', async () => {
    const { logger, lines } = logSink();
    const { consumer, store, worker } = await started({ log: logger, retry: { baseMs: 10, maxMs: 40 } });
    store.failures = [new Error('HTTP request failed, statusCode=400, error=bad column type')];
    await assert.rejects(consumer.deliver(mixedBatch().batch), /statusCode=400/);
    assert.equal(store.attempts.length, 1);
    assert.deepEqual(consumer.flow, []);
    assert.equal(worker.stats.storeRetries, 0);
    const errors = lines.map((l) => JSON.parse(l) as { level: number; code?: string }).filter((l) => l.level === 50);
    assert.deepEqual(errors.map((e) => e.code), ['STORE_HTTP_400']);
  });

  test('a store that comes back refusing the data ends the retries: the batch is handed back and fetching resumes', async () => {
    const { consumer, store } = await started({ retry: { baseMs: 10, maxMs: 40 } });
    store.failures = [refused, new NovaError('QUESTDB_QUERY_FAILED', 'bad', { retriable: false })];
    await assert.rejects(consumer.deliver(mixedBatch().batch), /bad/);
    assert.deepEqual(consumer.flow, ['pause', 'resume'], 'a re-delivery needs fetching');
  });

  test('a rebalance reported by the heartbeat during retries hands the batch back for its next owner', async () => {
    const { consumer, store } = await started({ heartbeatEveryMs: 10, retry: { baseMs: 30, maxMs: 30 } });
    store.failures = Array.from({ length: 1000 }, () => refused);
    consumer.heartbeatError = Object.assign(new Error('The group is rebalancing, so a rejoin is needed'), { type: 'REBALANCE_IN_PROGRESS' });
    const err = await assert.rejects(consumer.deliver(mixedBatch().batch), (e: unknown) => e instanceof NovaError && e.code === 'WORKER_REBALANCED');
    void err;
    assert.ok(store.attempts.length < 20, `gave up early (${store.attempts.length} attempts)`);
    assert.deepEqual(consumer.flow, ['pause', 'resume']);
  });

  test('stop() during retries ends them at once, uncommitted', async () => {
    const { consumer, store, worker } = await started({ retry: { baseMs: 60_000, maxMs: 60_000 } });
    store.failures = [refused, refused];
    const delivery = consumer.deliver(mixedBatch().batch);
    await new Promise((r) => setTimeout(r, 50));
    const t0 = performance.now();
    await worker.stop();
    await assert.rejects(delivery, /ECONNREFUSED/);
    assert.ok(performance.now() - t0 < 5_000);
    assert.equal(worker.stats.batches, 0);
  });
});

describe('SampleWorker metrics', () => {
  test('counters, histograms and gauges follow the batches', async () => {
    const metrics = new WorkerMetrics();
    const { consumer, store, bus } = await started({ metrics, retry: { baseMs: 5, maxMs: 5 } });
    bus.consumerLag = async (_g: string, topic: string) => (topic === TOPICS.vmSamples ? 7 : 0);
    store.failures = [refused];
    await consumer.deliver(mixedBatch().batch);
    await consumer.deliver({ topic: TOPICS.hostSamples, partition: 0, messages: [incoming(7, encodeHostSample(host({ hostId: 'host-2' })))] });
    const worker = new SampleWorker({ bus, store, topics: TOPICS, groupId: 'g', log: createLogger('t', 'silent'), metrics, lagEveryMs: 0 });
    await worker.readLag();
    const value = async (name: string, labels: Record<string, string> = {}) => {
      const m = (await metrics.registry.getMetricsAsJSON()).find((x) => x.name === name);
      assert.ok(m, `metric ${name}`);
      const v = (m.values as { value: number; labels: Record<string, string | number>; metricName?: string }[]).find((x) =>
        (x.metricName === undefined || x.metricName === name || x.metricName === `${name}_count`) && Object.entries(labels).every(([k, l]) => x.labels[k] === l));
      return v?.value;
    };
    assert.equal(await value('novacron_worker_samples_in_total', { topic: TOPICS.vmSamples }), 9);
    assert.equal(await value('novacron_worker_samples_in_total', { topic: TOPICS.hostSamples }), 1);
    assert.equal(await value('novacron_worker_samples_stored_total'), 4);
    assert.equal(await value('novacron_worker_dead_letters_total', { code: 'SAMPLE_INVALID_FIELD' }), 2);
    assert.equal(await value('novacron_worker_dead_letters_total', { code: 'SAMPLE_EMPTY' }), 1);
    assert.equal(await value('novacron_worker_store_retries_total', { code: 'STORE_UNREACHABLE_ECONNREFUSED' }), 1);
    assert.equal(await value('novacron_worker_paused'), 0);
    assert.equal(await value('novacron_worker_consumer_lag', { topic: TOPICS.vmSamples }), 7);
    const text = await metrics.registry.metrics();
    assert.match(text, /novacron_worker_batch_seconds_count 2/);
    assert.match(text, /novacron_worker_store_write_seconds_count 3/, 'one failed and two good write attempts');
    assert.match(text, /novacron_worker_detector_series 0/);
  });
});
