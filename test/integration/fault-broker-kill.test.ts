// A PRIVATE three-broker KRaft cluster (stack/kafka-cluster.ts, own ports and home folder):
// topics with replication 3 and min.insync.replicas 2, the producer sends with acks=all. One
// broker that leads sample partitions is killed with SIGKILL mid-stream; the producer and the
// `novacron worker` process carry on, and afterwards every produced sample is in QuestDB
// exactly once (row count and key checksum); the killed broker then restarts and rejoins.
// The cluster is stopped at the end.
//
// The producer and worker use node-rdkafka (NOVACRON_KAFKA_CLIENT=rdkafka), which must pass.
// kafkajs (the default client) resolves send() for records a killed leader never replicated
// (kafkajs issue #1303): acknowledged samples go missing. Its run is opt-in and marked todo
// (NOVACRON_FAULT_KAFKAJS=1); it prints how many were lost and passes once that is fixed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { loadConfig, topicsFor, topicSpecs, type BusProducer, type Config, type MessageBus } from '../../core/index.ts';
import { runFleet, SamplePublisher, SyntheticFleet } from '../../ingest/index.ts';
import { decodeSamples } from '../../schemas/index.ts';
import { bringUp, clusterDown, clusterNode, clusterUp, ensureJars, javaBinary, kafkaClusterServices, requireJava, type StackService } from '../../stack/index.ts';
import { ensureSampleTables } from '../../streams/index.ts';
import { dropTables, expectedKeys, freePortBase, isolatedEnv, missingPrerequisite, recording, removeHome, rowCount, stopAll, storedKeys, tempHome, WorkerProcess } from './fault-support.ts';
import { busFor, eventually, questdbFor, readTopic, testLogger } from './harness.ts';

// kafkajs is CommonJS: named imports of its classes fail under ESM.
const { Kafka, logLevel, ConfigResourceTypes } = kafkajs;
const home = tempHome('kafka-cluster');
const base = await freePortBase(19_092, [0, 1, 2, 3, 4, 5]);
// Three nodes on base..base+5; NOVACRON_KAFKA_NODES=3 also makes new topics 3 copies, 2 in sync.
// The private home is Kafka's only: QuestDB is the shared stack's, so is its password file.
const clusterEnv = {
  NOVACRON_HOME: home, NOVACRON_KAFKA_PORT: String(base), NOVACRON_KAFKA_NODES: '3',
  QUESTDB_PG_PASSWORD_FILE: loadConfig().questdb.pgPasswordFile,
};
const clusterConfig: Config = loadConfig(process.env, clusterEnv);

let skip: string | false = false;
let services: StackService[] = [];
try {
  await requireJava(javaBinary(clusterConfig.java.kafkaHome), 17);
  const jars = await ensureJars(clusterConfig, testLogger());
  services = kafkaClusterServices(clusterConfig, jars.kafka, testLogger());
} catch (err) {
  skip = missingPrerequisite(`a private Kafka cluster cannot be started: ${(err as Error).message}`);
}
let rdkafkaMissing: string | false = false;
try {
  createRequire(import.meta.url)('node-rdkafka');
} catch (err) {
  rdkafkaMissing = skip ? false : missingPrerequisite(`node-rdkafka is not installed or did not build: ${(err as Error).message.split('\n')[0]}`);
}

/** Right after creation a broker may not know a topic yet (UNKNOWN_TOPIC_OR_PARTITION): ask again, it is idempotent. */
async function ensureTopicsOnCluster(bus: MessageBus, config: Config): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await bus.ensureTopics(topicSpecs(config, 6));
    } catch (err) {
      if (attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

describe('a broker of a three-node cluster killed with -9 mid-stream', { skip }, () => {
  before(async () => {
    const started = await clusterUp(services, home);
    assert.deepEqual(started.map((s) => [s.name, s.started]), [['kafka-1', true], ['kafka-2', true], ['kafka-3', true]]);
  });

  after(async () => {
    try {
      await clusterDown(services, home);
    } finally {
      removeHome(home);
    }
  });

  const scenario = (client: 'rdkafka' | 'kafkajs') => async () => {
    const t0 = Date.now();
    const { config, env } = isolatedEnv({ ...clusterEnv, NOVACRON_KAFKA_CLIENT: client });
    const topics = topicsFor(config);
    const bus = busFor(config);
    const questdb = questdbFor(config);
    const admin = new Kafka({ brokers: [...config.kafka.brokers], clientId: 'fault-broker-kill', logLevel: logLevel.NOTHING }).admin();
    let worker: WorkerProcess | undefined;
    let producer: BusProducer | undefined;
    try {
      assert.equal(config.kafka.brokers.length, 3, 'clients bootstrap from all three brokers');
      await ensureTopicsOnCluster(bus, config);
      await ensureSampleTables(config, questdb);

      await admin.connect();
      const meta = await admin.fetchTopicMetadata({ topics: [topics.vmSamples, topics.hostSamples] });
      for (const t of meta.topics) for (const p of t.partitions) assert.equal(p.replicas.length, 3, `${t.name}/${p.partitionId} has 3 replicas`);
      const described = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topics.vmSamples, configNames: ['min.insync.replicas'] }] });
      assert.equal(described.resources[0]?.configEntries.find((e) => e.configName === 'min.insync.replicas')?.configValue, '2', 'the VM topic needs 2 in-sync replicas');

      worker = new WorkerProcess(`worker-${client}`, env);
      await worker.ready();

      // 16 hosts × 8 VMs, 240 five-minute steps paced over ~20 s.
      const steps = 240;
      const { source, produced } = recording(new SyntheticFleet({ hosts: 16, vmsPerHost: 8, seed: client === 'rdkafka' ? 41 : 42, stepMs: 300_000 }));
      const startTs = Math.floor(Date.now() / source.stepMs) * source.stepMs - (steps - 1) * source.stepMs;
      producer = await bus.producer();
      let producing = true;
      const run = runFleet(source, new SamplePublisher(producer, topics), { startTs, steps, paceMs: 80, malformedEvery: 0 }).finally(() => (producing = false));
      const expectedVm = steps * source.vms.length;

      const atKill = await eventually(() => rowCount(questdb, config, 'vm'), (n) => n >= expectedVm * 0.15, 60_000);
      assert.ok(producing && atKill < expectedVm, `the broker dies mid-stream (${atKill} of ${expectedVm} rows stored, producer running)`);
      // A broker that leads partitions of the VM topic: its death forces leader elections under load.
      const leaders = (await admin.fetchTopicMetadata({ topics: [topics.vmSamples] })).topics[0]!.partitions.map((p) => p.leader);
      await admin.disconnect();
      const victim = [3, 2, 1].find((id) => leaders.includes(id))!;
      const pid = Number(readFileSync(`${home}/stack/kafka-${victim}/kafka-${victim}.pid`, 'utf8').trim());
      process.kill(pid, 'SIGKILL');
      const tKill = Date.now();

      const sent = await run;
      const producedS = (Date.now() - tKill) / 1000;
      assert.equal(sent.vmSamples, expectedVm, 'the producer sent every sample');
      const groupId = `${config.kafka.topicPrefix}-streams`;
      const lag = await eventually(async () => (await bus.consumerLag(groupId, topics.vmSamples)) + (await bus.consumerLag(groupId, topics.hostSamples)), (l) => l === 0, 120_000);
      assert.equal(lag, 0, `the worker caught up on the two remaining brokers\n${worker.tail()}`);
      const drainedS = (Date.now() - tKill) / 1000;

      const want = { vm: expectedKeys(produced.vm), host: expectedKeys(produced.host) };
      const got = { vm: await storedKeys(questdb, config, 'vm'), host: await storedKeys(questdb, config, 'host') };
      const summary = `killed kafka-${victim} (leader of ${leaders.filter((l) => l === victim).length}/${leaders.length} VM partitions) at ${atKill} of ${expectedVm} VM rows; producer done ${producedS.toFixed(1)} s, group drained ${drainedS.toFixed(1)} s after the kill; stored vm ${got.vm.count}/${want.vm.count} (checksum ${got.vm.checksum} vs ${want.vm.checksum}), host ${got.host.count}/${want.host.count}`;
      console.log(`fault-broker-kill ${client}: ${summary}`);
      if (got.vm.count !== want.vm.count) {
        // Tell a producer-side loss (Kafka never got what send() acknowledged) from a consumer-side one.
        const inTopic = await readTopic(bus, topics.vmSamples, expectedVm, 20_000);
        const keys = new Set(inTopic.flatMap((m) => decodeSamples(m.value).flatMap((s) => (s.kind === 'vm' ? [`${s.sample.vmId}|${s.sample.ts}`] : []))));
        console.log(`fault-broker-kill ${client}: the VM topic holds ${keys.size} of ${want.vm.count} acknowledged samples (${inTopic.length} messages); QuestDB ${got.vm.count}`);
      }
      assert.deepEqual(got.vm, want.vm, `VM samples: count, distinct keys and key checksum equal what was produced (${summary})`);
      assert.deepEqual(got.host, want.host, 'host samples: count, distinct keys and key checksum equal what was produced');
      assert.ok(worker.alive, `the worker kept running\n${worker.tail()}`);

      // The killed broker comes back into the same cluster (the next scenario kills one again).
      const back = await bringUp(clusterNode(services, victim), home);
      assert.equal(back.started, true, `kafka-${victim} restarted`);
      console.log(`fault-broker-kill ${client}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    } finally {
      await stopAll([worker]);
      await producer?.close().catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
      await bus.deleteTopics(Object.values(topics)).catch(() => undefined);
      await dropTables(questdb, config);
      await questdb.close();
      // A scenario that failed before restarting its victim must not leave the next one a node short.
      await Promise.all(services.map((svc) => bringUp(svc, home).catch(() => undefined)));
    }
  };

  it('node-rdkafka: the producer (acks=all) and the worker carry on; every sample is stored exactly once', { skip: rdkafkaMissing }, scenario('rdkafka'));
  // About a minute more; run it with NOVACRON_FAULT_KAFKAJS=1 (docs/faults.md has the figures).
  const kafkajsOff = process.env.NOVACRON_FAULT_KAFKAJS === '1' ? false : 'set NOVACRON_FAULT_KAFKAJS=1 to measure the kafkajs producer under a broker kill';
  it('kafkajs: the same (known to lose acknowledged messages: kafkajs#1303)', { skip: kafkajsOff, todo: 'kafkajs resolves send() for records a killed leader never replicated' }, scenario('kafkajs'));
});

if (skip) removeHome(home);
