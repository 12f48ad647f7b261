// More than 10,000 bad messages (ingest/fuzz.ts: empty, random bytes, JSON, random bodies,
// truncated, unknown schema ids, one record's header on another's body, NaN / negative / huge
// values, timestamps years away; host ticks cut short, mislabelled, empty, or holding one bad
// sample or a VM of another host) shuffled into valid traffic (single samples and host ticks)
// that itself repeats samples and sends them out of time order. A `novacron worker` process consumes it all: every bad message
// is on the DLQ with a reason, every valid sample is in QuestDB exactly once (count + key
// checksum), and the worker is still running.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { topicsFor, topicSpecs, type BusProducer, type OutgoingMessage } from '../../core/index.ts';
import { fuzzTraffic, SyntheticFleet } from '../../ingest/index.ts';
import { DLQ_HEADERS, ensureSampleTables } from '../../streams/index.ts';
import { dropTables, expectedKeys, isolatedEnv, storedKeys, WorkerProcess } from './fault-support.ts';
import { busFor, eventually, questdbFor, readTopic } from './harness.ts';

const BAD = 10_200;

describe('DLQ under fuzzed input', () => {
  const { config, env } = isolatedEnv();
  const topics = topicsFor(config);
  const bus = busFor(config);
  const questdb = questdbFor(config);
  let worker: WorkerProcess | undefined;
  let producer: BusProducer | undefined;

  after(async () => {
    await worker?.stop();
    await producer?.close().catch(() => undefined);
    await bus.deleteTopics(Object.values(topics)).catch(() => undefined);
    await dropTables(questdb, config);
    await questdb.close();
  });

  it('dead-letters every bad message with its reason and stores every valid sample once', async () => {
    const t0 = Date.now();
    await bus.ensureTopics(topicSpecs(config, 4));
    await ensureSampleTables(config, questdb);
    worker = new WorkerProcess('worker', env);
    await worker.ready();

    const steps = 120;
    const fleet = new SyntheticFleet({ hosts: 10, vmsPerHost: 8, seed: 21, stepMs: 300_000 });
    const now = Date.now();
    const last = Math.floor(now / fleet.stepMs) * fleet.stepMs;
    const ticks = Array.from({ length: steps }, (_, k) => fleet.tick(k, last - (steps - 1 - k) * fleet.stepMs));
    const traffic = fuzzTraffic(ticks, { seed: 77, now, badCount: BAD, repeatShare: 0.1 });

    producer = await bus.producer();
    const byTopic = { vm: [] as OutgoingMessage[], host: [] as OutgoingMessage[] };
    // Host ticks go to the VM topic, as SamplePublisher sends them.
    for (const m of traffic.messages) byTopic[m.sampleKind === 'host' ? 'host' : 'vm'].push({ key: m.key, value: m.value });
    // In chunks, in the shuffled order: bad and good messages share batches.
    for (const kind of ['vm', 'host'] as const) {
      const list = byTopic[kind];
      for (let i = 0; i < list.length; i += 2000) await producer.send(kind === 'vm' ? topics.vmSamples : topics.hostSamples, list.slice(i, i + 2000));
    }

    const groupId = `${config.kafka.topicPrefix}-streams`;
    const lag = await eventually(async () => (await bus.consumerLag(groupId, topics.vmSamples)) + (await bus.consumerLag(groupId, topics.hostSamples)), (l) => l === 0, 120_000);
    assert.equal(lag, 0, `the worker consumed everything\n${worker.tail()}`);

    const dead = await readTopic(bus, topics.deadLetter, BAD, 60_000);
    assert.equal(dead.length, BAD, 'exactly the bad messages are on the DLQ');
    const seen = new Set<string>();
    const codes: Record<string, number> = {};
    for (const d of dead) {
      const c = traffic.bad.get(d.key ?? '');
      assert.ok(c, `DLQ message with key ${d.key} is one of the bad ones`);
      assert.ok(!seen.has(d.key!), `${d.key} is dead-lettered once`);
      seen.add(d.key!);
      const code = d.headers[DLQ_HEADERS.code] ?? '';
      codes[code] = (codes[code] ?? 0) + 1;
      assert.ok(c.codes.includes(code as never), `${d.key} (${c.kind}): code ${code}, expected one of ${c.codes.join(', ')}`);
      assert.ok((d.headers[DLQ_HEADERS.reason] ?? '').length > 5, `${d.key} has a reason`);
      if (c.field) assert.equal(d.headers[DLQ_HEADERS.field], c.field, `${d.key} (${c.kind}) names its field`);
      assert.equal(d.headers[DLQ_HEADERS.topic], c.sampleKind === 'host' ? topics.hostSamples : topics.vmSamples);
      // A tick's one bad sample is dead-lettered alone (single-sample form), saying where it was in the tick.
      assert.deepEqual(d.value ?? Buffer.alloc(0), c.deadValue ?? c.value, `${d.key}: the original bytes (or the tick's bad sample alone) are kept`);
      assert.equal(d.headers[DLQ_HEADERS.tickItem] !== undefined, c.deadValue !== undefined, `${d.key}: tick item header`);
    }
    assert.equal(seen.size, traffic.bad.size);

    const want = { vm: expectedKeys(traffic.valid.vm), host: expectedKeys(traffic.valid.host) };
    assert.equal(want.vm.count, steps * fleet.vms.length);
    const got = { vm: await storedKeys(questdb, config, 'vm'), host: await storedKeys(questdb, config, 'host') };
    assert.deepEqual(got.vm, want.vm, 'VM samples: count, distinct keys and key checksum equal the valid ones sent');
    assert.deepEqual(got.host, want.host, 'host samples: count, distinct keys and key checksum equal the valid ones sent');

    assert.ok(worker.alive, `the worker survived the fuzzing\n${worker.tail()}`);
    await worker.stop();
    assert.equal(worker.exitCode, 0, `the worker stops cleanly\n${worker.tail()}`);
    const sentValid = traffic.valid.vm.length + traffic.valid.host.length;
    console.log(`dlq-fuzz: ${BAD} bad + ${sentValid} valid messages (${sentValid - want.vm.count - want.host.count} repeats); DLQ ${dead.length} (${Object.entries(codes).map(([k, v]) => `${k} ${v}`).join(', ')}); stored vm ${got.vm.count}/${want.vm.count} (checksum ${got.vm.checksum}), host ${got.host.count}/${want.host.count}; ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });
});
