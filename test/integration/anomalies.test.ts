import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { questdbTable, topicSpecs, topicsFor, type BusProducer } from '../../core/index.ts';
import { seededRandom } from '../../ingest/index.ts';
import { encodeVmSample, type VmSample } from '../../schemas/index.ts';
import { ANOMALY_TABLE, createSampleWorker, dropSampleTables, ensureSampleTables, type AnomalyEvent, type SampleWorker } from '../../streams/index.ts';
import { busFor, eventually, isolatedConfig, questdbFor, readTopic, testLogger } from './harness.ts';

const STEP = 300_000;
const GIB = 1024 ** 3;
const STEPS = 3 * 288; // three days of 5-minute samples; the detector's probation is one day
const CPU_SPIKE = { vm: 'vm-2', from: 700, to: 706 };
const MEM_JUMP = { vm: 'vm-4', from: 800 };
const RETRY_AT = 500;
const CLOCK_STEP_AT = 600;

/** A clean fleet (daily CPU cycle, small noise, steady memory) with two injected anomalies. */
function fleetSamples(start: number): VmSample[] {
  const rand = seededRandom(3);
  const out: VmSample[] = [];
  for (let k = 0; k < STEPS; k++) {
    const ts = start + k * STEP;
    const hour = (k * 5) / 60;
    for (let v = 1; v <= 6; v++) {
      const vmId = `vm-${v}`;
      let cpu = 0.3 + 0.15 * Math.sin((2 * Math.PI * (hour - v)) / 24) + 0.01 * (rand() - 0.5);
      let mem = 0.5 + 0.002 * (rand() - 0.5);
      if (vmId === CPU_SPIKE.vm && k >= CPU_SPIKE.from && k < CPU_SPIKE.to) cpu = 1;
      if (vmId === MEM_JUMP.vm && k >= MEM_JUMP.from) mem = 0.97;
      out.push({
        ts, hostId: `h-${v % 2}`, vmId, cpuUsedCores: cpu * 4, vcpus: 4, memUsedBytes: Math.round(mem * 8 * GIB), memTotalBytes: 8 * GIB,
        diskReadBps: 0, diskWriteBps: 0, netRxBps: 0, netTxBps: 0, vcpuDelayPct: 0,
      });
    }
  }
  return out;
}

describe('online anomaly scoring in the streams worker (real Kafka and QuestDB)', () => {
  const config = isolatedConfig({ NOVACRON_ANOMALY_PROBATION: '288' });
  const topics = topicsFor(config);
  const bus = busFor(config);
  const questdb = questdbFor(config);
  const start = Math.floor(Date.now() / STEP) * STEP - (STEPS - 1) * STEP;
  let producer: BusProducer;
  let worker: SampleWorker;

  before(async () => {
    await bus.ensureTopics(topicSpecs(config, 2));
    await ensureSampleTables(config, questdb);
    producer = await bus.producer();
    worker = await createSampleWorker(config, bus, testLogger());
    await worker.start();
  });

  after(async () => {
    const steps = [
      () => worker?.stop(),
      () => producer?.close(),
      () => bus.deleteTopics(Object.values(topics)),
      () => dropSampleTables(config, questdb),
      () => questdb.close(),
    ];
    for (const step of steps) await Promise.resolve().then(step).catch(() => undefined);
  });

  it('raises events for the injected anomalies and none on the clean stretch, through retried sends and a clock step', async () => {
    const samples = fleetSamples(start);
    const send = (batch: VmSample[]) => producer.send(topics.vmSamples, batch.map((s) => ({ key: s.hostId, value: encodeVmSample(s) })));
    let extra = 0;
    // In time order, one send per step, as live producers would; real streams also repeat and
    // reorder: at RETRY_AT a producer retries the last 10 steps, at CLOCK_STEP_AT a host's clock
    // steps back an hour and it reports wild values there. Neither may stop the worker or raise an event.
    for (let k = 0; k < STEPS; k++) {
      await send(samples.slice(k * 6, (k + 1) * 6));
      if (k === RETRY_AT) {
        await send(samples.slice((k - 10) * 6, k * 6));
        extra += 60;
      }
      if (k === CLOCK_STEP_AT) {
        await send(samples.slice((k - 12) * 6, (k - 11) * 6).map((s) => ({ ...s, cpuUsedCores: s.vcpus, memUsedBytes: Math.round(0.99 * s.memTotalBytes) })));
        extra += 6;
      }
    }
    await eventually(async () => worker.stats.stored, (n) => n >= samples.length + extra, 60_000);

    const stepOf = (ts: number) => Math.round((ts - start) / STEP);
    const table = questdbTable(config, ANOMALY_TABLE);
    await questdb.waitForWalApplied(table);
    const rows = await questdb.query<{ vm_id: string; metric: string; t: string; score: number; explanation: string }>(
      `select vm_id, metric, cast(ts as long) t, score, explanation from ${table} order by ts`);
    const events = rows.map((r) => ({ vm: r.vm_id, metric: r.metric, step: stepOf(Number(r.t) / 1000), explanation: r.explanation }));

    const cpuHit = events.find((e) => e.vm === CPU_SPIKE.vm && e.metric === 'cpu' && e.step >= CPU_SPIKE.from && e.step <= CPU_SPIKE.to);
    const memHit = events.find((e) => e.vm === MEM_JUMP.vm && e.metric === 'mem' && e.step >= MEM_JUMP.from && e.step <= MEM_JUMP.from + 3);
    assert.ok(cpuHit, `CPU spike of ${CPU_SPIKE.vm} at step ${CPU_SPIKE.from} raised an event; got ${JSON.stringify(events)}`);
    assert.ok(memHit, `memory jump of ${MEM_JUMP.vm} at step ${MEM_JUMP.from} raised an event; got ${JSON.stringify(events)}`);
    assert.ok(cpuHit.explanation.length > 10, 'events explain themselves');
    const clean = events.filter((e) => e.step < CPU_SPIKE.from);
    assert.deepEqual(clean, [], 'no events on the clean stretch before the injections');

    // The same events reached the Kafka topic.
    const onTopic = (await readTopic(bus, topics.anomalies, events.length)).map((m) => JSON.parse(m.value!.toString()) as AnomalyEvent);
    assert.equal(onTopic.length, events.length);
    assert.ok(onTopic.some((e) => e.vmId === CPU_SPIKE.vm && e.metric === 'cpu'));
  });
});
