// A PRIVATE QuestDB (own ports, own home folder, started from the same jar as the stack's) is
// stopped and started again while a `novacron worker` process streams samples into it: once
// with SIGTERM (a clean shutdown), once with SIGKILL. Afterwards every produced sample is in
// QuestDB exactly once (row count and key checksum equal what was produced) and the worker,
// which never restarted, is still running. The shared stack's QuestDB is never touched.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig, questdbPgUrl, QuestDbClient, topicsFor, topicSpecs, type BusProducer, type Config } from '../../core/index.ts';
import { runFleet, SamplePublisher, SyntheticFleet } from '../../ingest/index.ts';
import { bringDown, bringUp, ensureJars, javaBinary, questdbService, requireJava, type StackService } from '../../stack/index.ts';
import { ensureSampleTables } from '../../streams/index.ts';
import { expectedKeys, freePortBase, isolatedEnv, missingPrerequisite, recording, removeHome, rowCount, stopAll, storedKeys, tempHome, WorkerProcess } from './fault-support.ts';
import { busFor, eventually, testLogger } from './harness.ts';

const home = tempHome('questdb-fault');
const base = await freePortBase(29_000, [0, 1, 2, 3]);
// http = base (its health endpoint takes base + 3), pg wire = base + 1, ILP/TCP = base + 2.
const privateEnv = { NOVACRON_HOME: home, QUESTDB_HTTP_PORT: String(base), QUESTDB_PG_PORT: String(base + 1), QUESTDB_ILP_PORT: String(base + 2) };
const serverConfig: Config = loadConfig(process.env, privateEnv);

// QuestDB needs Java (17+ for 9.3, the stack's JDK choice: NOVACRON_QUESTDB_JAVA_HOME or PATH) and the cached jar.
let skip: string | false = false;
let service: StackService | undefined;
try {
  await requireJava(javaBinary(serverConfig.java.questdbHome), 17);
  const jars = await ensureJars(serverConfig, testLogger());
  service = questdbService(serverConfig, jars.questdb);
} catch (err) {
  skip = missingPrerequisite(`a private QuestDB cannot be started: ${(err as Error).message}`);
}

/** The private server's pid, from the pid file bringUp wrote. */
function serverPid(): number {
  return Number(readFileSync(join(home, 'stack', 'questdb', 'questdb.pid'), 'utf8').trim());
}

describe('QuestDB restarted under a streaming worker', { skip }, () => {
  before(async () => {
    const s = await bringUp(service!, home);
    assert.equal(s.started, true, 'the private QuestDB was started by this test');
  });

  after(async () => {
    try {
      if (service) await bringDown(service, home);
    } finally {
      removeHome(home);
    }
  });

  for (const fault of ['SIGTERM', 'SIGKILL'] as const) {
    it(`${fault}: stores every sample exactly once and the worker keeps running`, async () => {
      const t0 = Date.now();
      const { config, env } = isolatedEnv(privateEnv);
      const topics = topicsFor(config);
      const bus = busFor(config);
      let questdb = new QuestDbClient(questdbPgUrl(config));
      let worker: WorkerProcess | undefined;
      let producer: BusProducer | undefined;
      try {
        await bus.ensureTopics(topicSpecs(config, 4));
        await ensureSampleTables(config, questdb);
        worker = new WorkerProcess(`worker-${fault}`, env);
        await worker.ready();

        // 16 hosts × 8 VMs, 240 five-minute steps paced over ~20 s.
        const steps = 240;
        const { source, produced } = recording(new SyntheticFleet({ hosts: 16, vmsPerHost: 8, seed: fault === 'SIGTERM' ? 31 : 32, stepMs: 300_000 }));
        const startTs = Math.floor(Date.now() / source.stepMs) * source.stepMs - (steps - 1) * source.stepMs;
        producer = await bus.producer();
        let producing = true;
        const run = runFleet(source, new SamplePublisher(producer, topics), { startTs, steps, paceMs: 80, malformedEvery: 0 }).finally(() => (producing = false));
        const expectedVm = steps * source.vms.length;

        const atFault = await eventually(() => rowCount(questdb, config, 'vm'), (n) => n >= expectedVm * 0.15, 60_000);
        assert.ok(producing && atFault < expectedVm, `the fault hits mid-stream (${atFault} of ${expectedVm} rows stored, producer running)`);
        const tDown = Date.now();
        const pid = serverPid();
        process.kill(pid, fault);
        // A clean shutdown takes QuestDB a while under a writing client (about 20 s here): wait for it, never SIGKILL it.
        const gone = await eventually(async () => { try { process.kill(pid, 0); return false; } catch { return true; } }, (g) => g, 90_000);
        assert.ok(gone, `QuestDB exited on ${fault}`);
        const stopS = (Date.now() - tDown) / 1000;
        // Stay down a while: the worker's writes must fail and be retried, not just be slow.
        await sleep(3000);
        const restarted = await bringUp(service!, home);
        assert.equal(restarted.started, true);
        const outageS = (Date.now() - tDown) / 1000;
        await questdb.close().catch(() => undefined);
        questdb = new QuestDbClient(questdbPgUrl(config));

        const sent = await run;
        assert.equal(sent.vmSamples, expectedVm);
        const groupId = `${config.kafka.topicPrefix}-streams`;
        const lag = await eventually(async () => (await bus.consumerLag(groupId, topics.vmSamples)) + (await bus.consumerLag(groupId, topics.hostSamples)), (l) => l === 0, 120_000);
        assert.equal(lag, 0, `the worker caught up after the restart\n${worker.tail()}`);

        const want = { vm: expectedKeys(produced.vm), host: expectedKeys(produced.host) };
        const got = { vm: await storedKeys(questdb, config, 'vm'), host: await storedKeys(questdb, config, 'host') };
        assert.deepEqual(got.vm, want.vm, 'VM samples: count, distinct keys and key checksum equal what was produced');
        assert.deepEqual(got.host, want.host, 'host samples: count, distinct keys and key checksum equal what was produced');
        assert.ok(worker.alive, `the worker survived the outage\n${worker.tail()}`);
        console.log(`fault-questdb-restart ${fault}: at ${atFault} of ${expectedVm} VM rows, QuestDB exited ${stopS.toFixed(1)} s after the signal and was down ${outageS.toFixed(1)} s; stored vm ${got.vm.count}/${want.vm.count} (checksum ${got.vm.checksum}), host ${got.host.count}/${want.host.count} (checksum ${got.host.checksum}); ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      } finally {
        await stopAll([worker]);
        await producer?.close().catch(() => undefined);
        await bus.deleteTopics(Object.values(topics)).catch(() => undefined);
        await questdb.close().catch(() => undefined);
      }
    });
  }
});

// A failed start-up must not leave the temp home behind either.
if (skip) removeHome(home);
