import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { questdbTable, topicsFor, topicSpecs, type BusProducer, type OutgoingMessage } from '../../core/index.ts';
import { malformedVariant, SyntheticFleet } from '../../ingest/index.ts';
import { encodeHostSample, encodeVmSample } from '../../schemas/index.ts';
import { DLQ_HEADERS, dropSampleTables, ensureSampleTables, QuestDbSampleStore, SampleWorker } from '../../streams/index.ts';
import { busFor, eventually, isolatedConfig, questdbFor, readTopic, testLogger } from './harness.ts';

describe('samples through real Kafka into real QuestDB', () => {
  const config = isolatedConfig();
  const topics = topicsFor(config);
  const bus = busFor(config);
  const questdb = questdbFor(config);
  const vmTable = questdbTable(config, 'vm_samples');
  const hostTable = questdbTable(config, 'host_samples');
  let producer: BusProducer;
  let worker: SampleWorker;

  // 6 hosts × 5 VMs × 12 five-minute steps of the synthetic fleet, the last hour.
  const fleet = new SyntheticFleet({ hosts: 6, vmsPerHost: 5, seed: 7, stepMs: 300_000 });
  const start = Math.floor(Date.now() / 300_000) * 300_000 - 12 * 300_000;
  const ticks = Array.from({ length: 12 }, (_, k) => fleet.tick(k, start + k * 300_000));
  const vmMessages: OutgoingMessage[] = ticks.flatMap((t) => t.vms.map((v) => ({ key: v.hostId, value: encodeVmSample(v) })));
  const hostMessages: OutgoingMessage[] = ticks.flatMap((t) => t.hosts.map((h) => ({ key: h.hostId, value: encodeHostSample(h) })));
  const malformed = Array.from({ length: 10 }, (_, i) => malformedVariant(i, ticks[0]!.vms[i]!));

  before(async () => {
    await bus.ensureTopics(topicSpecs(config, 3));
    await ensureSampleTables(config, questdb);
    producer = await bus.producer();
    const store = new QuestDbSampleStore(config);
    worker = new SampleWorker({ bus, store, topics, groupId: `${config.kafka.topicPrefix}-streams`, log: testLogger() });
    await worker.start();
  });

  after(async () => {
    await worker?.stop();
    await producer?.close();
    await bus.deleteTopics(Object.values(topics));
    await dropSampleTables(config, questdb);
    await questdb.close();
  });

  const countRows = async (table: string) => {
    await questdb.waitForWalApplied(table);
    const rows = await questdb.query<{ n: string }>(`select count() n from ${table}`);
    return Number(rows[0]?.n ?? 0);
  };

  it('stores exactly the valid samples and dead-letters the malformed ones with reasons', async () => {
    await producer.send(topics.vmSamples, [...vmMessages, ...malformed.map((m, i) => ({ key: `bad-${i}`, value: m.value }))]);
    await producer.send(topics.hostSamples, hostMessages);

    const vms = await eventually(() => countRows(vmTable), (n) => n >= vmMessages.length);
    const hosts = await eventually(() => countRows(hostTable), (n) => n >= hostMessages.length);
    assert.equal(vms, vmMessages.length);
    assert.equal(hosts, hostMessages.length);

    const dead = await readTopic(bus, topics.deadLetter, malformed.length);
    assert.equal(dead.length, malformed.length);
    const byKey = new Map(dead.map((m) => [m.key, m]));
    malformed.forEach((m, i) => {
      const d = byKey.get(`bad-${i}`);
      assert.ok(d, `malformed message ${i} is on the DLQ`);
      assert.equal(d.headers[DLQ_HEADERS.code], m.expectedCode);
      assert.ok((d.headers[DLQ_HEADERS.reason] ?? '').length > 5, 'reason is given');
      assert.deepEqual(d.value, m.value, 'original bytes are kept');
      assert.equal(d.headers[DLQ_HEADERS.topic], topics.vmSamples);
    });

    // Values survive the trip: one VM's CPU series equals what was produced.
    const probe = ticks[3]!.vms[2]!;
    const rows = await questdb.query<{ cpu_used_cores: number; mem_total_bytes: string }>(
      `select cpu_used_cores, mem_total_bytes from ${vmTable} where vm_id = $1 and ts = $2`, [probe.vmId, new Date(probe.ts).toISOString()]);
    assert.equal(rows.length, 1);
    assert.ok(Math.abs(rows[0]!.cpu_used_cores - probe.cpuUsedCores) < 1e-9);
    assert.equal(Number(rows[0]!.mem_total_bytes), probe.memTotalBytes);
  });

  it('re-delivering the same batch adds no duplicate rows', async () => {
    await producer.send(topics.vmSamples, vmMessages);
    await producer.send(topics.hostSamples, hostMessages);
    const groupId = `${config.kafka.topicPrefix}-streams`;
    await eventually(async () => (await bus.consumerLag(groupId, topics.vmSamples)) + (await bus.consumerLag(groupId, topics.hostSamples)), (lag) => lag === 0);
    assert.equal(worker.stats.stored, 2 * (vmMessages.length + hostMessages.length));
    assert.equal(await countRows(vmTable), vmMessages.length);
    assert.equal(await countRows(hostTable), hostMessages.length);
  });
});
