// Two `novacron worker` processes share one consumer group on the shared stack; one is killed
// with SIGKILL while the producer is still streaming, a third is started. Afterwards every
// produced sample is in QuestDB exactly once: row count and a checksum of the (id, ts) keys
// equal what was produced, and no key is stored twice.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { topicsFor, topicSpecs, type BusProducer } from '../../core/index.ts';
import { runFleet, SamplePublisher, SyntheticFleet } from '../../ingest/index.ts';
import { ensureSampleTables } from '../../streams/index.ts';
import { dropTables, expectedKeys, isolatedEnv, recording, rowCount, stopAll, storedKeys, WorkerProcess } from './fault-support.ts';
import { busFor, eventually, questdbFor } from './harness.ts';

describe('a streams worker killed with -9 mid-stream', () => {
  const { config, env } = isolatedEnv();
  const topics = topicsFor(config);
  const bus = busFor(config);
  const questdb = questdbFor(config);
  const workers: WorkerProcess[] = [];
  let producer: BusProducer | undefined;

  after(async () => {
    await stopAll(workers);
    await producer?.close().catch(() => undefined);
    await bus.deleteTopics(Object.values(topics)).catch(() => undefined);
    await dropTables(questdb, config);
    await questdb.close();
  });

  it('loses nothing and duplicates nothing: every produced sample is stored exactly once', async () => {
    const t0 = Date.now();
    await bus.ensureTopics(topicSpecs(config, 4));
    await ensureSampleTables(config, questdb);
    const a = new WorkerProcess('worker-a', env);
    const b = new WorkerProcess('worker-b', env);
    workers.push(a, b);
    await Promise.all([a.ready(), b.ready()]);

    // 16 hosts × 8 VMs, 240 five-minute steps (20 h) paced over ~20 s of real time.
    const steps = 240;
    const { source, produced } = recording(new SyntheticFleet({ hosts: 16, vmsPerHost: 8, seed: 11, stepMs: 300_000 }));
    const startTs = Math.floor(Date.now() / source.stepMs) * source.stepMs - (steps - 1) * source.stepMs;
    producer = await bus.producer();
    const publisher = new SamplePublisher(producer, topics);
    let producing = true;
    const run = runFleet(source, publisher, { startTs, steps, paceMs: 80, malformedEvery: 0 }).finally(() => (producing = false));
    const expectedVm = steps * source.vms.length;

    // Kill once the workers are storing but the stream is far from over.
    const atKill = await eventually(() => rowCount(questdb, config, 'vm'), (n) => n >= expectedVm * 0.15, 60_000);
    assert.ok(producing, 'the producer is still streaming when the worker is killed');
    assert.ok(atKill < expectedVm, `rows at kill (${atKill}) are fewer than will be produced (${expectedVm})`);
    await a.kill9();
    assert.equal(a.signal, 'SIGKILL');
    const c = new WorkerProcess('worker-c', env);
    workers.push(c);
    await c.ready();

    const sent = await run;
    assert.ok(!producing);
    assert.equal(sent.vmSamples, expectedVm);
    const want = { vm: expectedKeys(produced.vm), host: expectedKeys(produced.host) };
    assert.equal(want.vm.count, expectedVm, 'every produced VM key is distinct');

    // The dead member's partitions move once its session times out (30 s); then everything drains.
    const groupId = `${config.kafka.topicPrefix}-streams`;
    const lag = await eventually(async () => (await bus.consumerLag(groupId, topics.vmSamples)) + (await bus.consumerLag(groupId, topics.hostSamples)), (l) => l === 0, 120_000);
    assert.equal(lag, 0, `the group caught up\n${b.tail()}\n${c.tail()}`);
    const got = { vm: await storedKeys(questdb, config, 'vm'), host: await storedKeys(questdb, config, 'host') };

    assert.deepEqual(got.vm, want.vm, 'VM samples: count, distinct keys and key checksum equal what was produced');
    assert.deepEqual(got.host, want.host, 'host samples: count, distinct keys and key checksum equal what was produced');
    assert.ok(b.alive && c.alive, `the surviving workers still run\n${b.tail()}\n${c.tail()}`);
    console.log(`fault-worker-kill: killed worker-a at ${atKill} of ${expectedVm} VM rows; stored vm ${got.vm.count}/${want.vm.count} (checksum ${got.vm.checksum}), host ${got.host.count}/${want.host.count} (checksum ${got.host.checksum}); ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });
});
