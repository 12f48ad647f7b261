// One contract for every MessageBus adapter (kafkajs and node-rdkafka), against the stack's real
// Kafka: keyed messages round-trip with their headers, a group consumes each once and commits, a
// later member of the group gets nothing again, the lag drains to 0, a failed batch comes back,
// ensureTopics is idempotent and deleteTopics removes. Then what only the rdkafka adapter
// promises: a member joining a running group loses and doubles nothing, librdkafka's background
// heartbeat keeps a slow handler in its group, oversized messages are refused with a code.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { createBus, hasCode, type BusConsumer, type Config, type IncomingMessage, type MessageBus } from '../../core/index.ts';
import { logSink, rejection } from '../support/capture.ts';
import { eventually, isolatedConfig, testLogger } from './harness.ts';

type Client = 'kafkajs' | 'rdkafka';

// node-rdkafka is optional (it compiles librdkafka): without it the rdkafka half is skipped, and
// under CI=true it fails, since CI's install is meant to build it.
function rdkafkaMissing(): string | false {
  try {
    createBus(isolatedConfig({ NOVACRON_KAFKA_CLIENT: 'rdkafka' }), testLogger());
    return false;
  } catch (err) {
    if (hasCode(err, 'KAFKA_CLIENT_MISSING')) return err.message;
    throw err;
  }
}
const missing = rdkafkaMissing();
if (missing && process.env.CI === 'true') throw new Error(`CI=true and the rdkafka adapter cannot load: ${missing}`);

// An independent view of the broker (topics, partition counts) to check the adapters against.
const oracle = new Kafka({ brokers: [...isolatedConfig().kafka.brokers], clientId: 'bus-contract-oracle', logLevel: logLevel.NOTHING }).admin();
let oracleConnected = false;
async function topicPartitions(): Promise<Map<string, number>> {
  if (!oracleConnected) {
    await oracle.connect();
    oracleConnected = true;
  }
  const { topics } = await oracle.fetchTopicMetadata();
  return new Map(topics.map((t) => [t.name, t.partitions.length]));
}

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  if (oracleConnected) await oracle.disconnect();
});

/** A bus of `client` with its own topic prefix and consumer group (groups are broker-wide: never share one between tests). */
function setup(client: Client, extra: Record<string, string> = {}, log = testLogger()): { config: Config; bus: MessageBus; g: string; topic: (name: string) => string } {
  const config = isolatedConfig({ NOVACRON_KAFKA_CLIENT: client, ...extra });
  const bus = createBus(config, log);
  const created: string[] = [];
  cleanups.push(() => bus.deleteTopics(created));
  return { config, bus, g: `${config.kafka.topicPrefix}-group`, topic: (name) => (created.push(`${config.kafka.topicPrefix}.${name}`), `${config.kafka.topicPrefix}.${name}`) };
}

interface Received extends IncomingMessage {
  partition: number;
  member: string;
}

/** Starts a consumer that records every message it is handed (with its partition) into `into`. */
async function member(bus: MessageBus, groupId: string, topic: string, into: Received[], name = 'a', opts: { delayMs?: number; sessionTimeoutMs?: number } = {}): Promise<BusConsumer> {
  const consumer = await bus.consumer({ groupId, topics: [topic], fromBeginning: true, ...(opts.sessionTimeoutMs ? { sessionTimeoutMs: opts.sessionTimeoutMs } : {}) });
  await consumer.start(async (batch) => {
    if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
    for (const m of batch.messages) into.push({ ...m, partition: batch.partition, member: name });
  });
  return consumer;
}

const seqOf = (m: IncomingMessage) => Number(m.headers.seq);
const keyFor = (i: number) => (i % 50 === 0 ? null : `host-${i % 17}`);
function messages(from: number, count: number) {
  return Array.from({ length: count }, (_, k) => {
    const i = from + k;
    return { key: keyFor(i), value: Buffer.from(JSON.stringify({ i, pad: 'x'.repeat(i % 40) })), headers: { seq: String(i), kind: 'contract' } };
  });
}
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const range = (from: number, count: number) => Array.from({ length: count }, (_, k) => from + k);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const client of ['kafkajs', 'rdkafka'] as const) {
  describe(`MessageBus contract: ${client}`, { skip: client === 'rdkafka' && missing ? missing : false }, () => {
    it('two members of a group subscribed to three topics each get partitions of every one (one busy topic is shared), and the first is told which partitions it lost', async () => {
      const { bus, g, topic } = setup(client);
      const busy = topic('busy');
      const quiet = [topic('quiet1'), topic('quiet2')];
      await bus.ensureTopics([busy, ...quiet].map((t) => ({ topic: t, partitions: 16 })));
      const producer = await bus.producer();
      cleanups.push(() => producer.close());
      // The streams worker's shape: one topic carries the load (host ticks), the others little.
      const busyBy = new Map<string, Set<number>>([['a', new Set()], ['b', new Set()]]);
      const revokedFromA: string[] = [];
      const members: BusConsumer[] = [];
      for (const name of ['a', 'b']) {
        const onRevoked = name === 'a' ? (lost: readonly { topic: string; partition: number }[]) => void revokedFromA.push(...lost.map((p) => `${p.topic}[${p.partition}]`)) : undefined;
        const c = await bus.consumer({ groupId: g, topics: [...quiet, busy], fromBeginning: true, ...(onRevoked ? { onRevoked } : {}) });
        await c.start(async (batch) => {
          if (batch.topic === busy) busyBy.get(name)!.add(batch.partition);
        });
        members.push(c);
        cleanups.push(() => c.close());
        if (name === 'a') await sleep(3_000); // a alone first (it takes every partition), as a worker started before another
      }
      // What is consumed once the group has settled: until both members have had some of the
      // busy topic for 3 s (or 45 s have passed).
      const settle = Date.now() + 10_000;
      let bothSince = Infinity;
      for (let round = 0, until = Date.now() + 45_000; Date.now() < until; round++) {
        if (settle > Date.now()) for (const ps of busyBy.values()) ps.clear();
        await producer.send(busy, messages(round * 40, 40));
        if (settle <= Date.now() && [...busyBy.values()].every((ps) => ps.size > 0)) bothSince = Math.min(bothSince, Date.now());
        if (Date.now() - bothSince > 3_000) break;
        await sleep(50);
      }
      await Promise.all(members.map((c) => c.close()));
      const spread = [...busyBy].map(([name, ps]) => `${name}: ${[...ps].sort().join(',') || 'none'}`).join('; ');
      assert.ok([...busyBy.values()].every((ps) => ps.size > 0), `both members consumed the busy topic (${spread})`);
      // a held every partition before b joined: onRevoked named exactly what b reads now.
      const lost = new Set(revokedFromA);
      assert.equal(lost.size, revokedFromA.length, 'each partition reported once');
      for (const p of busyBy.get('b')!) assert.ok(lost.has(`${busy}[${p}]`), `b reads ${busy}[${p}]: reported as revoked from a (${revokedFromA.length} reported)`);
      for (const p of busyBy.get('a')!) assert.ok(!lost.has(`${busy}[${p}]`), `a still reads ${busy}[${p}]: not reported as revoked`);
      assert.ok(revokedFromA.length >= 20 && revokedFromA.length <= 28, `about half of the 48 partitions left a: ${revokedFromA.length}`);
    });

    it('keyed messages with headers round-trip; a group consumes each once and commits; a later member gets nothing again; the lag drains to 0', async () => {
      const { bus, g, topic } = setup(client);
      const t = topic('contract');
      await bus.ensureTopics([{ topic: t, partitions: 3 }]);
      const producer = await bus.producer();
      cleanups.push(() => producer.close());
      const N = 300;
      for (let i = 0; i < N; i += 100) await producer.send(t, messages(i, 100));
      assert.equal(await bus.consumerLag(g, t), N, 'before any commit the whole topic is lag');

      const got: Received[] = [];
      const first = await member(bus, g, t, got);
      await eventually(async () => got.length, (n) => n >= N);
      assert.deepEqual(sorted(got.map(seqOf)), range(0, N), 'every message once, none twice');
      for (const m of got) {
        const i = seqOf(m);
        assert.equal(m.key, keyFor(i));
        assert.equal(JSON.parse(m.value!.toString('utf8')).i, i);
        assert.deepEqual(m.headers, { seq: String(i), kind: 'contract' });
        assert.ok(m.timestamp > Date.now() - 300_000 && m.timestamp <= Date.now() + 1_000, `broker timestamp ${m.timestamp}`);
      }
      // Per partition, offsets only go up; a key always lands on one partition (so its order holds).
      const byPartition = new Map<number, bigint[]>();
      const partitionOfKey = new Map<string, number>();
      for (const m of got) {
        byPartition.set(m.partition, [...(byPartition.get(m.partition) ?? []), BigInt(m.offset)]);
        if (m.key === null) continue;
        assert.equal(partitionOfKey.get(m.key) ?? m.partition, m.partition, `key ${m.key} on two partitions`);
        partitionOfKey.set(m.key, m.partition);
      }
      for (const offsets of byPartition.values()) assert.ok(offsets.every((o, k) => k === 0 || o > offsets[k - 1]!));
      assert.ok(byPartition.size > 1, 'keys spread over the partitions');

      assert.equal(await eventually(() => bus.consumerLag(g, t), (lag) => lag === 0), 0);
      await first.close();

      // The next member of the group starts at the commits: only what is new reaches it.
      const later: Received[] = [];
      const second = await member(bus, g, t, later, 'b');
      await producer.send(t, messages(N, 10));
      await eventually(async () => later.length, (n) => n >= 10);
      await sleep(1_000);
      assert.deepEqual(sorted(later.map(seqOf)), range(N, 10));
      assert.equal(await eventually(() => bus.consumerLag(g, t), (lag) => lag === 0), 0);
      await second.close();
    });

    it('a batch whose handler throws is not committed and comes again', async () => {
      const { bus, g, topic } = setup(client);
      const t = topic('retry');
      await bus.ensureTopics([{ topic: t, partitions: 1 }]);
      const producer = await bus.producer();
      cleanups.push(() => producer.close());
      await producer.send(t, messages(0, 20));
      const handed: number[][] = [];
      let failures = 0;
      const consumer = await bus.consumer({ groupId: g, topics: [t], fromBeginning: true });
      await consumer.start(async (batch) => {
        handed.push(batch.messages.map(seqOf));
        if (failures++ === 0) throw new Error('sink down');
      });
      await eventually(async () => new Set(handed.slice(1).flat()).size, (n) => n >= 20);
      await consumer.close();
      assert.equal(handed[1]![0], handed[0]![0], 'the failed batch is handed out again from its first message');
      assert.deepEqual(sorted([...new Set(handed.flat())]), range(0, 20));
      assert.equal(await bus.consumerLag(g, t), 0);
    });

    it('ensureTopics is idempotent and leaves existing topics alone; deleteTopics removes, and again is a no-op', async () => {
      const { bus, topic } = setup(client);
      const a = topic('a');
      const b = topic('b');
      await bus.ensureTopics([{ topic: a, partitions: 2 }]);
      await bus.ensureTopics([{ topic: a, partitions: 7 }, { topic: b, partitions: 5 }]);
      await bus.ensureTopics([{ topic: a, partitions: 2 }, { topic: b, partitions: 5 }]);
      let seen = await topicPartitions();
      assert.equal(seen.get(a), 2);
      assert.equal(seen.get(b), 5);
      await bus.deleteTopics([a, b]);
      seen = await eventually(topicPartitions, (m) => !m.has(a) && !m.has(b));
      assert.ok(!seen.has(a) && !seen.has(b), 'both topics gone');
      await bus.deleteTopics([a, b]);
    });

    it('pause stops handing out batches, resume goes on from where it stopped', async () => {
      const { bus, g, topic } = setup(client);
      const t = topic('pause');
      await bus.ensureTopics([{ topic: t, partitions: 2 }]);
      const producer = await bus.producer();
      cleanups.push(() => producer.close());
      await producer.send(t, messages(0, 50));
      const got: Received[] = [];
      const consumer = await member(bus, g, t, got);
      assert.ok(consumer.pause && consumer.resume, 'the adapter implements pause/resume');
      await eventually(async () => got.length, (n) => n >= 50);
      consumer.pause();
      await sleep(500);
      const atPause = got.length;
      await producer.send(t, messages(50, 50));
      await sleep(2_500);
      assert.equal(got.length, atPause, 'nothing handed out while paused');
      consumer.resume();
      await eventually(async () => got.length, (n) => n >= 100);
      await sleep(500);
      assert.deepEqual(sorted(got.map(seqOf)), range(0, 100));
      await consumer.close();
    });
  });
}

describe('the rdkafka adapter beyond the contract', { skip: missing || false }, () => {
  it('both adapters put a key on the same partition (murmur2, as Java clients do)', async () => {
    const js = setup('kafkajs');
    const rd = createBus(isolatedConfig({ NOVACRON_KAFKA_CLIENT: 'rdkafka' }), testLogger());
    const t = js.topic('partitioner');
    await js.bus.ensureTopics([{ topic: t, partitions: 8 }]);
    const keys = Array.from({ length: 60 }, (_, k) => `host-${k}`);
    for (const [bus, name] of [[js.bus, 'kafkajs'], [rd, 'rdkafka']] as const) {
      const producer = await bus.producer();
      await producer.send(t, keys.map((key) => ({ key, value: Buffer.from(name), headers: { seq: '0' } })));
      await producer.close();
    }
    const got: Received[] = [];
    const consumer = await member(rd, js.g, t, got);
    await eventually(async () => got.length, (n) => n >= 120);
    await consumer.close();
    const where = (name: string) => new Map(got.filter((m) => m.value!.toString() === name).map((m) => [m.key, m.partition]));
    const [a, b] = [where('kafkajs'), where('rdkafka')];
    assert.equal(a.size, 60);
    assert.deepEqual(keys.map((k) => b.get(k)), keys.map((k) => a.get(k)));
    assert.ok(new Set(a.values()).size > 4, 'keys spread over the partitions');
  });

  it('a member joining a running group: a rebalance, logged at info, and across both members nothing is lost or doubled', async () => {
    const sink = logSink();
    const { bus, g, topic } = setup('rdkafka', {}, sink.logger);
    const t = topic('rebalance');
    await bus.ensureTopics([{ topic: t, partitions: 4 }]);
    const producer = await bus.producer();
    cleanups.push(() => producer.close());
    const PER = 50;
    const got: Received[] = [];
    // Slow handlers keep batches in flight while the group rebalances.
    const a = await member(bus, g, t, got, 'a', { delayMs: 15 });
    let b: BusConsumer | undefined;
    let joinedAt = -1;
    // Messages keep coming before, during and after the rebalance: until B has worked for a
    // while (it gets partitions after A's next heartbeat and the group's rebalance).
    let rounds = 0;
    let bWorkedSince = Infinity;
    while (rounds < 400 && (rounds < 60 || rounds < bWorkedSince + 20)) {
      await producer.send(t, messages(rounds * PER, PER));
      rounds++;
      await sleep(25);
      if (rounds === 15) {
        joinedAt = got.length;
        b = await member(bus, g, t, got, 'b', { delayMs: 15 });
      }
      if (bWorkedSince === Infinity && got.some((m) => m.member === 'b')) bWorkedSince = rounds;
    }
    const total = rounds * PER;
    await eventually(async () => got.length, (n) => n >= total, 60_000);
    await sleep(1_500);
    await Promise.all([a.close(), b!.close()]);
    const seqs = got.map(seqOf);
    assert.equal(seqs.length, total, `${seqs.length - new Set(seqs).size} messages handed out twice`);
    assert.deepEqual(sorted(seqs), range(0, total));
    const byB = got.filter((m) => m.member === 'b').length;
    const byAAfter = got.slice(joinedAt).filter((m) => m.member === 'a').length;
    assert.ok(byB > 0 && byAAfter > 0, `after the join both members work (a: ${byAAfter}, b: ${byB})`);
    assert.equal(await bus.consumerLag(g, t), 0);
    const lines = sink.lines.map((l) => JSON.parse(l) as { level: number; msg: string });
    assert.ok(lines.some((l) => l.level === 30 && /partitions revoked/.test(l.msg)), 'the rebalance is logged at info');
    assert.deepEqual(lines.filter((l) => l.level >= 50).map((l) => l.msg), [], 'a routine rebalance logs no error');
  });

  it('a handler slower than the session timeout keeps its partitions: librdkafka heartbeats in the background', async () => {
    const sink = logSink();
    const { bus, g, topic } = setup('rdkafka', {}, sink.logger);
    const t = topic('slow');
    await bus.ensureTopics([{ topic: t, partitions: 1 }]);
    const producer = await bus.producer();
    cleanups.push(() => producer.close());
    await producer.send(t, messages(0, 10));
    const got: number[] = [];
    let calls = 0;
    const consumer = await bus.consumer({ groupId: g, topics: [t], fromBeginning: true, sessionTimeoutMs: 6_000 });
    await consumer.start(async (batch) => {
      // The first batch takes 9 s, longer than the 6 s session; no heartbeat() call.
      if (calls++ === 0) await sleep(9_000);
      got.push(...batch.messages.map(seqOf));
    });
    await eventually(async () => got.length, (n) => n >= 10, 30_000);
    await producer.send(t, messages(10, 5));
    await eventually(async () => got.length, (n) => n >= 15);
    await sleep(500);
    await consumer.close();
    assert.deepEqual(got, range(0, 15), 'each message once, in order');
    const revoked = sink.lines.filter((l) => /partitions revoked/.test(l));
    assert.equal(revoked.length, 1, 'partitions given up only at close');
  });

  it('refuses messages over the client limit before sending, and those the topic refuses, with KAFKA_MESSAGE_TOO_LARGE', async () => {
    const { bus, g, topic } = setup('rdkafka');
    const t = topic('big');
    await bus.ensureTopics([{ topic: t, partitions: 1, configEntries: [{ name: 'max.message.bytes', value: '4096' }] }]);
    const producer = await bus.producer();
    cleanups.push(() => producer.close());
    const huge = await rejection(producer.send(t, [{ key: 'k', value: Buffer.alloc(0) }, { key: 'k', value: Buffer.alloc(1_200_000) }]));
    assert.equal(huge.code, 'KAFKA_MESSAGE_TOO_LARGE');
    assert.match(huge.message, /1200001-byte/);
    // Under the client's limit, over the topic's: the broker says no, the delivery report carries it.
    const overTopic = await rejection(producer.send(t, [{ key: 'k', value: randomBytes(20_000) }]));
    assert.equal(overTopic.code, 'KAFKA_MESSAGE_TOO_LARGE');
    // The producer goes on working, and nothing of the refused sends reached the topic.
    await producer.send(t, messages(0, 3));
    assert.equal(await bus.consumerLag(g, t), 3);
  });
});
