// bench:ingest starts producing only once its workers' consumer group has formed
// (bench/ingest/consumer-group.ts). Against the stack's real Kafka with the rdkafka adapter the
// workers use: the wait returns only when every member holds partitions, and says what it saw
// when the group does not get there.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createBus, type BusConsumer } from '../../core/index.ts';
import { deleteGroup, waitForStableGroup } from '../../bench/ingest/consumer-group.ts';
import { isolatedConfig, testLogger } from './harness.ts';

describe('bench:ingest waits for a formed consumer group (real Kafka)', () => {
  const config = isolatedConfig({ NOVACRON_KAFKA_CLIENT: 'rdkafka' });
  const bus = createBus(config, testLogger());
  const topic = `${config.kafka.topicPrefix}.group-wait`;
  const groupId = `${config.kafka.topicPrefix}-group`;
  const consumers: BusConsumer[] = [];
  after(async () => {
    await Promise.all(consumers.map((c) => c.close()));
    await deleteGroup(config, groupId);
    await bus.deleteTopics([topic]);
  });

  it('returns once two members each hold partitions; waiting for three times out naming the state', async () => {
    await bus.ensureTopics([{ topic, partitions: 4 }]);
    const held = new Map<string, Set<number>>();
    for (const name of ['a', 'b']) {
      const consumer = await bus.consumer({ groupId, topics: [topic] });
      consumers.push(consumer);
      held.set(name, new Set());
      await consumer.start(async (batch) => void held.get(name)!.add(batch.partition));
    }
    const started = Date.now();
    await waitForStableGroup(config, groupId, 2, 60_000);
    // The broker delays a new group's first rebalance by 3 s: the wait must have covered it.
    assert.ok(Date.now() - started >= 1_000, `returned after ${Date.now() - started} ms, before the group could have formed`);

    // Each member now holds its share: messages to every partition reach both members.
    const producer = await bus.producer();
    await producer.send(topic, Array.from({ length: 200 }, (_, i) => ({ key: `host-${i}`, value: Buffer.from(String(i)) })));
    await producer.close();
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && [...held.values()].some((p) => p.size === 0)) await new Promise((r) => setTimeout(r, 100));
    assert.ok([...held.values()].every((p) => p.size > 0), `both members handled messages (${[...held].map(([n, p]) => `${n}: ${[...p]}`).join('; ')})`);

    await assert.rejects(waitForStableGroup(config, groupId, 3, 2_000), /did not settle with 3 member\(s\).*state Stable, 2 member\(s\), 2 holding partitions/);
  });
});
